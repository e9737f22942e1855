/**
 * Reading what observed-tracker.ts reported: the requests real clients sent and the answers
 * they got, decoded into plain objects the e2e tests can assert on (and print).
 *
 * Test-only code: allocates freely, throws on anything malformed (the tracker tap only ever
 * writes well-formed lines; a malformed client packet is a finding the test should show).
 */
import bencode from "bencode";

/** scrape-client.ts uses this transaction id (connect) and the next (scrape): easy to skip. */
export const SCRAPE_CLIENT_TRANSACTION_ID = 0x5c4a9e00;

export type TrafficEvent =
  | { t: "listening"; httpPort: number; udpPort: number; host: string }
  | { t: "http"; from: string | null; target: string; userAgent: string | null; status: number; body: string }
  | { t: "udp-in"; from: string; port: number; hex: string }
  | { t: "udp-out"; to: string; port: number; hex: string }
  | { t: "counters"; counters: Record<string, number> };

export function parseTraffic(lines: readonly string[]): TrafficEvent[] {
  const out: TrafficEvent[] = [];
  for (const l of lines) if (l.startsWith("{")) out.push(JSON.parse(l) as TrafficEvent);
  return out;
}

/** Percent-decode to raw bytes (never through UTF-8). */
export function percentDecode(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes);
}

export type Event = "none" | "completed" | "started" | "stopped";
const UDP_EVENTS: Event[] = ["none", "completed", "started", "stopped"];

/** One HTTP announce as a client sent it, with the tracker's decoded answer. */
export interface HttpAnnounce {
  from: string | null;
  userAgent: string | null;
  /** Parameter names in the order the client sent them. */
  names: string[];
  /** Raw (still percent-encoded) values by name. */
  raw: Record<string, string>;
  infoHash: string; // hex
  peerId: Buffer;
  port: number;
  uploaded: bigint;
  downloaded: bigint;
  left: bigint;
  event: Event;
  /** The tracker's answer, bencode-decoded (Buffers for byte strings). */
  answer: Record<string, any>;
  /** "ip:port" of the peers in the answer (peers and peers6). */
  peers: string[];
}

/** The query of an announce's request target (`/announce?q` or private mode's `/<passkey>/announce?q`), else null. */
function announceQuery(target: string): string | null {
  const m = /^\/(?:[^/?]+\/)?announce\?/.exec(target);
  return m === null ? null : target.slice(m[0].length);
}

export function httpAnnounces(events: readonly TrafficEvent[]): HttpAnnounce[] {
  const out: HttpAnnounce[] = [];
  for (const e of events) {
    const query = e.t === "http" ? announceQuery(e.target) : null;
    if (e.t !== "http" || query === null) continue;
    const raw: Record<string, string> = {};
    const names: string[] = [];
    for (const pair of query.split("&")) {
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      names.push(name);
      raw[name] = eq < 0 ? "" : pair.slice(eq + 1);
    }
    const answer = bencode.decode(Buffer.from(e.body, "base64")) as Record<string, any>;
    const peers = [
      ...(Buffer.isBuffer(answer.peers) || answer.peers instanceof Uint8Array ? compactPeers(Buffer.from(answer.peers), 4) : []),
      ...(answer.peers6 ? compactPeers(Buffer.from(answer.peers6), 6) : []),
    ];
    out.push({
      from: e.from,
      userAgent: e.userAgent,
      names,
      raw,
      infoHash: percentDecode(raw.info_hash ?? "").toString("hex"),
      peerId: percentDecode(raw.peer_id ?? ""),
      port: Number(raw.port),
      uploaded: BigInt(raw.uploaded ?? "0"),
      downloaded: BigInt(raw.downloaded ?? "0"),
      left: BigInt(raw.left ?? "0"),
      event: ((raw.event ?? "") === "" ? "none" : raw.event) as Event,
      answer,
      peers,
    });
  }
  return out;
}

/** "a.b.c.d:port" / "[v6]:port" for each 6- or 18-byte record. */
export function compactPeers(buf: Buffer, family: 4 | 6): string[] {
  const size = family === 4 ? 6 : 18;
  const out: string[] = [];
  for (let o = 0; o + size <= buf.length; o += size) {
    const port = buf.readUInt16BE(o + size - 2);
    if (family === 4) out.push(`${buf[o]}.${buf[o + 1]}.${buf[o + 2]}.${buf[o + 3]}:${port}`);
    else {
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(buf.readUInt16BE(o + 2 * g).toString(16));
      out.push(`[${compressV6(groups)}]:${port}`);
    }
  }
  return out;
}

/** RFC 5952 text for 8 hex groups (longest run of >= 2 zero groups becomes "::"). */
function compressV6(groups: string[]): string {
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return groups.slice(0, best).join(":") + "::" + groups.slice(best + bestLen).join(":");
}

/** A BEP 41 option found after byte 98 of a UDP announce. */
export interface UdpOption {
  type: number;
  /** For type 2 (URL data): the bytes as latin1 text. */
  data?: string;
}

export type UdpRequest =
  | { action: "connect"; size: number; transactionId: number }
  | {
      action: "announce";
      size: number;
      transactionId: number;
      infoHash: string;
      peerId: Buffer;
      downloaded: bigint;
      left: bigint;
      uploaded: bigint;
      event: Event;
      ip: number;
      key: number;
      numWant: number;
      port: number;
      options: UdpOption[];
    }
  | { action: "scrape"; size: number; transactionId: number; hashes: string[] }
  | { action: "other"; size: number };

export function decodeUdpRequest(buf: Buffer): UdpRequest {
  const size = buf.length;
  if (size < 16) return { action: "other", size };
  const action = buf.readUInt32BE(8);
  const transactionId = buf.readUInt32BE(12);
  if (action === 0) return { action: "connect", size, transactionId };
  if (action === 1 && size >= 98) {
    const options: UdpOption[] = [];
    // BEP 41: type byte; 0 = end, 1 = nop (no length), others: length byte + data.
    for (let o = 98; o < size; ) {
      const type = buf[o]!;
      if (type === 0) { options.push({ type }); break; }
      if (type === 1) { options.push({ type }); o++; continue; }
      const len = buf[o + 1] ?? 0;
      options.push({ type, data: buf.subarray(o + 2, o + 2 + len).toString("latin1") });
      o += 2 + len;
    }
    return {
      action: "announce",
      size,
      transactionId,
      infoHash: buf.subarray(16, 36).toString("hex"),
      peerId: Buffer.from(buf.subarray(36, 56)),
      downloaded: buf.readBigUInt64BE(56),
      left: buf.readBigUInt64BE(64),
      uploaded: buf.readBigUInt64BE(72),
      event: UDP_EVENTS[buf.readUInt32BE(80)] ?? "none",
      ip: buf.readUInt32BE(84),
      key: buf.readUInt32BE(88),
      numWant: buf.readInt32BE(92),
      port: buf.readUInt16BE(96),
      options,
    };
  }
  if (action === 2) {
    const hashes: string[] = [];
    for (let o = 16; o + 20 <= size; o += 20) hashes.push(buf.subarray(o, o + 20).toString("hex"));
    return { action: "scrape", size, transactionId, hashes };
  }
  return { action: "other", size };
}

export type UdpReply =
  | { action: "connect"; size: number; transactionId: number }
  | { action: "announce"; size: number; transactionId: number; interval: number; leechers: number; seeders: number; peers: string[] }
  | { action: "scrape"; size: number; transactionId: number }
  | { action: "error"; size: number; transactionId: number; message: string }
  | { action: "other"; size: number };

export function decodeUdpReply(buf: Buffer, family: 4 | 6): UdpReply {
  const size = buf.length;
  if (size < 8) return { action: "other", size };
  const action = buf.readUInt32BE(0);
  const transactionId = buf.readUInt32BE(4);
  if (action === 0) return { action: "connect", size, transactionId };
  if (action === 1 && size >= 20) {
    return {
      action: "announce",
      size,
      transactionId,
      interval: buf.readUInt32BE(8),
      leechers: buf.readUInt32BE(12),
      seeders: buf.readUInt32BE(16),
      peers: compactPeers(buf.subarray(20), family),
    };
  }
  if (action === 2) return { action: "scrape", size, transactionId };
  if (action === 3) return { action: "error", size, transactionId, message: buf.subarray(8).toString("latin1") };
  return { action: "other", size };
}

/** One UDP exchange seen by the tracker: the request and the answer with the same source. */
export interface UdpExchange {
  from: string;
  /** The client's UDP source port (not the port it announces). */
  sourcePort: number;
  request: UdpRequest;
  reply: UdpReply | null;
}

/**
 * Pair each UDP request with the next answer sent back to the same address and port with the
 * same transaction id.
 */
export function udpExchanges(events: readonly TrafficEvent[]): UdpExchange[] {
  const out: UdpExchange[] = [];
  const open: UdpExchange[] = [];
  for (const e of events) {
    if (e.t === "udp-in") {
      const x: UdpExchange = { from: e.from, sourcePort: e.port, request: decodeUdpRequest(Buffer.from(e.hex, "hex")), reply: null };
      out.push(x);
      open.push(x);
    } else if (e.t === "udp-out") {
      const buf = Buffer.from(e.hex, "hex");
      const family = e.to.includes(":") && !e.to.startsWith("::ffff:") ? 6 : 4;
      const reply = decodeUdpReply(buf, family);
      const tid = "transactionId" in reply ? reply.transactionId : -1;
      const i = open.findIndex(
        (x) => x.from === e.to && x.sourcePort === e.port && "transactionId" in x.request && x.request.transactionId === tid,
      );
      if (i >= 0) {
        open[i]!.reply = reply;
        open.splice(i, 1);
      }
    }
  }
  return out;
}

/** The announces among the exchanges, with their answers. */
export function udpAnnounces(events: readonly TrafficEvent[]): (UdpExchange & { request: Extract<UdpRequest, { action: "announce" }> })[] {
  return udpExchanges(events).filter((x) => x.request.action === "announce") as any;
}

/** The printable ASCII of a peer_id (its client prefix), the rest as \xNN. */
export function showPeerId(id: Buffer): string {
  let s = "";
  for (const b of id) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  return s;
}

/** One announce from one client, whichever protocol carried it. */
export interface Announce {
  protocol: "http" | "udp";
  /** The source address the tracker saw. */
  from: string | null;
  /** The port the client announced (its peer port): how the suite tells clients apart. */
  port: number;
  event: Event;
  left: bigint;
  downloaded: bigint;
  uploaded: bigint;
  /** numwant as sent (null: HTTP without the parameter). */
  numwant: number | null;
  /** The key as sent: HTTP raw text, UDP the u32 in hex. */
  key: string | null;
  peerId: Buffer;
  /** The peers the tracker answered with, "ip:port". */
  peers: string[];
  /** HTTP only: parameter names in the order sent, raw values, User-Agent. */
  http?: { names: string[]; raw: Record<string, string>; userAgent: string | null };
  /** UDP only: datagram size, BEP 41 options, the UDP source port. */
  udp?: { size: number; options: UdpOption[]; sourcePort: number };
}

/** Every announce that announced `peerPort`, in the order the tracker received them. */
export function announcesOf(events: readonly TrafficEvent[], peerPort: number): Announce[] {
  const out: Announce[] = [];
  let httpIndex = 0;
  const http = httpAnnounces(events);
  const udp = udpAnnounces(events);
  let udpIndex = 0;
  // Walk the log once so HTTP and UDP announces keep their relative order.
  for (const e of events) {
    if (e.t === "http" && announceQuery(e.target) !== null) {
      const a = http[httpIndex++]!;
      if (a.port !== peerPort) continue;
      out.push({
        protocol: "http",
        from: a.from,
        port: a.port,
        event: a.event,
        left: a.left,
        downloaded: a.downloaded,
        uploaded: a.uploaded,
        numwant: a.raw.numwant === undefined ? null : Number(a.raw.numwant),
        key: a.raw.key ?? null,
        peerId: a.peerId,
        peers: a.peers,
        http: { names: a.names, raw: a.raw, userAgent: a.userAgent },
      });
    } else if (e.t === "udp-in") {
      const buf = Buffer.from(e.hex, "hex");
      if (decodeUdpRequest(buf).action !== "announce") continue;
      const x = udp[udpIndex++]!;
      const r = x.request;
      if (r.port !== peerPort) continue;
      out.push({
        protocol: "udp",
        from: x.from,
        port: r.port,
        event: r.event,
        left: r.left,
        downloaded: r.downloaded,
        uploaded: r.uploaded,
        numwant: r.numWant,
        key: r.key.toString(16).padStart(8, "0"),
        peerId: r.peerId,
        peers: x.reply?.action === "announce" ? x.reply.peers : [],
        udp: { size: r.size, options: r.options, sourcePort: x.sourcePort },
      });
    }
  }
  return out;
}

/**
 * A readable account of every client request the tracker saw (announces, scrapes, connects),
 * one line each: what E2E_SHOW_TRAFFIC=1 prints, and the source of the suite's comments.
 * `skipTransaction` hides the suite's own scrape-client (it uses a fixed transaction id).
 */
export function describeTraffic(events: readonly TrafficEvent[], skipTransaction = SCRAPE_CLIENT_TRANSACTION_ID): string[] {
  const lines: string[] = [];
  for (const e of events) {
    if (e.t === "http") {
      if (e.userAgent?.startsWith("Bun/")) continue; // the suite's scrape-client
      const path = e.target.split("?")[0];
      lines.push(`HTTP ${path} from ${e.from} UA=${e.userAgent}: ${e.target.slice(path!.length + 1)}`);
    }
  }
  for (const x of udpExchanges(events)) {
    const r = x.request;
    if ("transactionId" in r && (r.transactionId === skipTransaction || r.transactionId === skipTransaction + 1)) continue;
    const desc =
      r.action === "announce"
        ? `announce ${r.size} B event=${r.event} left=${r.left} downloaded=${r.downloaded} uploaded=${r.uploaded} numwant=${r.numWant} port=${r.port} ip=${r.ip} key=${r.key.toString(16)} peer_id=${showPeerId(r.peerId)} options=${JSON.stringify(r.options)}`
        : r.action === "scrape"
          ? `scrape ${r.size} B (${r.hashes.length} hash)`
          : `${r.action} ${r.size} B`;
    const reply = x.reply === null ? "no answer" : x.reply.action === "announce" ? `${x.reply.size} B, peers ${x.reply.peers.join(" ")}` : `${x.reply.action} ${x.reply.size} B`;
    lines.push(`UDP from ${x.from}:${x.sourcePort}: ${desc} -> ${reply}`);
  }
  return lines;
}
