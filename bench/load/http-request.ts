/**
 * HTTP announce and scrape requests written straight into a caller-owned buffer from
 * pre-encoded pieces: every info_hash and peer_id is percent-encoded once at start-up
 * (all 20 bytes as %XX, which every tracker must accept), numbers are written as ASCII
 * digits. No strings are built per request.
 */
import type { Population } from "./population.ts";
import { EVENT_COMPLETED, EVENT_STARTED, EVENT_STOPPED } from "./population.ts";

const encoder = new TextEncoder();
const HEX = encoder.encode("0123456789ABCDEF");

/** 20 bytes -> 60 bytes "%XX" x 20, for each of the `count` records in `src`. */
function percentEncodeAll(src: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count * 60);
  for (let i = 0; i < count * 20; i++) {
    const byte = src[i]!;
    out[i * 3] = 0x25;
    out[i * 3 + 1] = HEX[byte >> 4]!;
    out[i * 3 + 2] = HEX[byte & 15]!;
  }
  return out;
}

/** Writes a non-negative integer as ASCII; returns the new offset. */
export function writeDecimal(buf: Uint8Array, pos: number, value: number): number {
  if (value < 10) {
    buf[pos] = 48 + value;
    return pos + 1;
  }
  let digits = 0;
  for (let v = value; v >= 1; v = Math.floor(v / 10)) digits++;
  let v = value;
  for (let i = digits - 1; i >= 0; i--) {
    buf[pos + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
  return pos + digits;
}

function put(buf: Uint8Array, pos: number, piece: Uint8Array): number {
  buf.set(piece, pos);
  return pos + piece.length;
}

/** Copies 60 encoded bytes of record i; a loop, because subarray() would allocate a view. */
function put60(buf: Uint8Array, pos: number, table: Uint8Array, i: number): number {
  const from = i * 60;
  for (let k = 0; k < 60; k++) buf[pos + k] = table[from + k]!;
  return pos + 60;
}

/** The largest request writeScrape can produce for `scrapeMax` hashes (plus headers). */
export function maxRequestSize(scrapeMax: number): number {
  return 512 + scrapeMax * 72;
}

export class HttpRequestWriter {
  private readonly infoHashEnc: Uint8Array;
  private readonly peerIdEnc: Uint8Array;
  private readonly announceStart = encoder.encode("GET /announce?info_hash=");
  private readonly peerIdKey = encoder.encode("&peer_id=");
  private readonly portKey = encoder.encode("&port=");
  private readonly leftKey = encoder.encode("&uploaded=0&downloaded=0&left=");
  private readonly compactKey = encoder.encode("&compact=1");
  private readonly numwantKey = encoder.encode("&numwant=");
  private readonly keyKey = encoder.encode("&key=");
  private readonly eventStarted = encoder.encode("&event=started");
  private readonly eventCompleted = encoder.encode("&event=completed");
  private readonly eventStopped = encoder.encode("&event=stopped");
  private readonly scrapeStart = encoder.encode("GET /scrape?");
  private readonly scrapeKey = encoder.encode("info_hash=");
  private readonly amp = encoder.encode("&");
  private readonly tail: Uint8Array;

  constructor(
    private readonly pop: Population,
    host: string,
    port: number,
    keepAlive: boolean,
    private readonly numwant: number,
  ) {
    this.infoHashEnc = percentEncodeAll(pop.infoHashes, pop.torrents);
    this.peerIdEnc = percentEncodeAll(pop.peerIds, pop.clients);
    const hostHeader = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    this.tail = encoder.encode(
      ` HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: sc6-load/1\r\n` +
        (keepAlive ? "" : "Connection: close\r\n") +
        "\r\n",
    );
  }

  /** GET /announce for `client` with BEP 15 `event` number; returns the length. */
  writeAnnounce(buf: Uint8Array, client: number, event: number, left: number): number {
    const pop = this.pop;
    let p = put(buf, 0, this.announceStart);
    p = put60(buf, p, this.infoHashEnc, pop.torrentOf[client]!);
    p = put(buf, p, this.peerIdKey);
    p = put60(buf, p, this.peerIdEnc, client);
    p = put(buf, p, this.portKey);
    p = writeDecimal(buf, p, pop.portOf[client]!);
    p = put(buf, p, this.leftKey);
    p = writeDecimal(buf, p, left);
    p = put(buf, p, this.compactKey);
    if (this.numwant >= 0) {
      p = put(buf, p, this.numwantKey);
      p = writeDecimal(buf, p, this.numwant);
    }
    p = put(buf, p, this.keyKey);
    p = writeDecimal(buf, p, client);
    if (event === EVENT_STARTED) p = put(buf, p, this.eventStarted);
    else if (event === EVENT_COMPLETED) p = put(buf, p, this.eventCompleted);
    else if (event === EVENT_STOPPED) p = put(buf, p, this.eventStopped);
    return put(buf, p, this.tail);
  }

  /** GET /scrape for torrents[0, n); returns the length. */
  writeScrape(buf: Uint8Array, torrents: Int32Array, n: number): number {
    let p = put(buf, 0, this.scrapeStart);
    for (let i = 0; i < n; i++) {
      if (i > 0) p = put(buf, p, this.amp);
      p = put(buf, p, this.scrapeKey);
      p = put60(buf, p, this.infoHashEnc, torrents[i]!);
    }
    return put(buf, p, this.tail);
  }
}
