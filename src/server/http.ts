/**
 * The HTTP adapter: Bun.serve's fetch handler for /announce, /scrape and the other paths.
 * Thin: it finds the path, hands the raw URL to the pure query parsers, calls the swarm store
 * and bencodes the answer into one preallocated buffer. The only allocations per announce are
 * the ones Bun makes for the Request/Response and the copy of the answer's bytes.
 *
 * Tracker-protocol errors (bad query, full tracker) are answered `200 OK` with a bencoded
 * `failure reason`: BitTorrent clients show that text to their user only on a 200 (libtorrent
 * and Transmission report a bare "HTTP error" otherwise). They are counted in httpFailures.
 */
import type { Server } from "bun";
import { encodeAscii, writeAscii, writeBytes, writeFailure, writeFailureRetryIn, writeInt, writeRaw, writeUint } from "../protocol/bencode.ts";
import { K_FILES, K_PEERS6, writeAnnounceHead, writeScrapeCounts } from "../protocol/http-answer.ts";
import { formatAddress, parseAddress, writePort } from "../protocol/compact.ts";
import { AnnounceQuery, parseAnnounceQuery, parseScrapeQuery, ScrapeQuery } from "../protocol/http-query.ts";
import { C } from "../rules/counters.ts";
import { ANNOUNCE_OK, ANNOUNCE_TOO_MANY_TORRENTS } from "../store/memory/memory-store.ts";
import { nowSeconds, type TrackerRules } from "../rules/tracker-rules.ts";

// Pre-encoded keys of the compact=0 peer dicts (ip < peer id < port).
const K_IP = encodeAscii("d2:ip");
const K_PEER_ID = encodeAscii("7:peer id");
const K_PORT = encodeAscii("4:port");
const CH_L = 0x6c;
const CH_E = 0x65;

const TEXT = { "Content-Type": "text/plain" };
/** One response init shared by every 200 answer (no object per request). */
const OK = { status: 200, headers: TEXT };
const BANNER = "sc6-tracker: a BitTorrent tracker. Announce at /announce, scrape at /scrape, statistics at /stats.\n";

/** A non-announce path the tracker also serves (/stats, /metrics, full scrape): set by tracker.ts. */
export type ExtraRoute = (req: Request, path: string, query: string, clientIp: string) => Response | null;

export interface HttpHandlerOptions {
  /** Routes tried before the 404 (stats pages). */
  extra?: ExtraRoute;
  /** Full scrape renderer, when enabled. Returns the answer to `/scrape` without info_hash. */
  fullScrape?: (req: Request) => Response;
  /** One-off operator notices (default console.log). */
  log?: (line: string) => void;
}

export function createHttpHandler(core: TrackerRules, opts: HttpHandlerOptions = {}) {
  const cfg = core.config;
  const store = core.store;
  const counters = core.counters;
  const query = new AnnounceQuery();
  const scrape = new ScrapeQuery(cfg.scrapeMaxHashes);
  // Worst case answer: every key + numwantMax non-compact peers (ip text <= 39, peer id 20, keys).
  const out = new Uint8Array(512 + cfg.numwantMax * 128 + cfg.scrapeMaxHashes * 96);
  const rec = new Uint8Array(18);
  const proxyHeader = cfg.trustProxyHeader.toLowerCase();

  /** A 200 answer with the first n bytes of `out` (copied: `out` is reused by the next request). */
  function answer(n: number): Response {
    counters[C.httpBytesOut]! += n;
    counters[C.http200]!++;
    return new Response(out.slice(0, n), OK);
  }

  function failure(reason: string): Response {
    counters[C.httpFailures]!++;
    return answer(writeFailure(out, 0, reason));
  }

  function plain(status: number, body: string, counter: number): Response {
    counters[counter]!++;
    counters[C.httpBytesOut]! += body.length;
    return new Response(body, { status, headers: TEXT });
  }

  function clientAddress(req: Request, server: Server<undefined>): string | null {
    if (proxyHeader !== "") {
      // The proxy we trust appends the address it saw: take the LAST entry. Entries before it
      // were written by the client and can say anything.
      const h = req.headers.get(proxyHeader);
      if (h !== null) return h.slice(h.lastIndexOf(",") + 1).trim();
    }
    return server.requestIP(req)?.address ?? null;
  }

  function announce(url: string, qs: number, ip: string): Response {
    counters[C.httpAnnounces]!++;
    const err = parseAnnounceQuery(url, qs, query);
    if (err !== null) return failure(err);
    const family = parseAddress(ip, rec, 0);
    if (family === 0) return failure("cannot read your address");
    writePort(rec, family === 4 ? 4 : 16, query.port);
    // Peer ids are kept only once some client asks for an answer that shows them (compact=0
    // without no_peer_id=1): modern clients never do, and they cost 20 bytes per peer.
    if (!query.compact && !query.noPeerId && store.peerIdState() === "unused") {
      store.usePeerIds();
      (opts.log ?? console.log)("peer ids: a client asked for a compact=0 answer; keeping peer_ids from now on (20 bytes per peer)");
    }
    const status = store.announce(
      query.infoHash, 0, family, rec, 0, query.peerId, 0,
      query.leftIsZero, query.event, core.numwant(query.numwant), true, nowSeconds(),
    );
    if (status !== ANNOUNCE_OK) {
      counters[C.httpFailures]!++;
      const what = status === ANNOUNCE_TOO_MANY_TORRENTS ? "torrents" : "peers";
      return answer(writeFailureRetryIn(out, 0, `tracker is full (too many ${what}), try later`, core.interval));
    }
    let o = writeAnnounceHead(out, store.complete, store.downloadedCount, store.incomplete, core.interval, core.interval);
    const sel = store.sel;
    if (query.compact) {
      o = writeCompactString(4, sel.count4 * 6, o);
      if (sel.count6 > 0) {
        o = writeRaw(out, o, K_PEERS6);
        o = writeCompactString(6, sel.count6 * 18, o);
      }
    } else {
      // BEP 3 dictionary model: one list holding both families; keys ip < peer id < port.
      out[o++] = CH_L;
      o = writePeerDicts(4, sel.count4, o);
      o = writePeerDicts(6, sel.count6, o);
      out[o++] = CH_E;
    }
    out[o++] = CH_E;
    return answer(o);
  }

  /** `<len>:` then the selected records of `family`, copied straight from the arena. */
  function writeCompactString(family: 4 | 6, len: number, o: number): number {
    o = writeUint(out, o, len);
    out[o++] = 0x3a; // ':'
    return store.writeCompact(family, out, o);
  }

  function writePeerDicts(family: 4 | 6, count: number, o: number): number {
    const arena = family === 4 ? store.v4 : store.v6;
    const stride = arena.stride;
    for (let k = 0; k < count; k++) {
      const p = store.selectedSlot(family, k);
      o = writeRaw(out, o, K_IP);
      o = writeAscii(out, o, formatAddress(arena.rec, p * stride, family));
      // A peer that has not announced since peer ids began to be kept has none to show yet.
      if (!query.noPeerId && arena.hasPeerId(p)) {
        o = writeRaw(out, o, K_PEER_ID);
        o = writeBytes(out, o, arena.peerId, p * 20, p * 20 + 20);
      }
      o = writeRaw(out, o, K_PORT);
      const portAt = p * stride + stride - 2;
      o = writeInt(out, o, (arena.rec[portAt]! << 8) | arena.rec[portAt + 1]!);
      out[o++] = CH_E;
    }
    return o;
  }

  function scrapeAnswer(req: Request, url: string, qs: number): Response {
    counters[C.httpScrapes]!++;
    const err = parseScrapeQuery(url, qs, scrape);
    if (err !== null) return failure(err);
    if (scrape.count === 0) {
      if (opts.fullScrape) {
        counters[C.httpFullScrapes]!++;
        return opts.fullScrape(req);
      }
      return failure("full scrape is disabled on this tracker: give one or more info_hash parameters");
    }
    let o = writeRaw(out, 0, K_FILES);
    const hashes = scrape.hashes;
    for (let i = 0; i < scrape.count; i++) {
      o = writeBytes(out, o, hashes, i * 20, i * 20 + 20);
      const t = store.findTorrent(hashes, i * 20);
      o = t < 0 ? writeScrapeCounts(out, o, 0, 0, 0) : writeScrapeCounts(out, o, store.seeders[t]!, store.downloaded[t]!, store.leechersOf(t));
    }
    out[o++] = CH_E;
    out[o++] = CH_E;
    return answer(o);
  }

  return function fetch(req: Request, server: Server<undefined>): Response {
    counters[C.httpRequests]!++;
    const url = req.url;
    counters[C.httpBytesIn]! += url.length;
    // req.url is absolute ("http://host:port/path?query"): the path starts at the first '/'
    // after "//".
    let ps = url.indexOf("/", url.indexOf("//") + 2);
    if (ps < 0) ps = url.length;
    let qm = url.indexOf("?", ps);
    if (qm < 0) qm = url.length;
    const qs = qm < url.length ? qm + 1 : url.length;
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") {
      return plain(405, "method not allowed: use GET\n", C.http405);
    }
    const path = url.slice(ps, qm);
    switch (path) {
      case "/announce": {
        const ip = clientAddress(req, server);
        if (ip === null) return failure("cannot read your address");
        return announce(url, qs, ip);
      }
      case "/scrape":
        return scrapeAnswer(req, url, qs);
      case "/":
      case "":
        counters[C.http200]!++;
        return new Response(BANNER, { headers: TEXT });
    }
    if (opts.extra) {
      const ip = server.requestIP(req)?.address ?? "";
      const r = opts.extra(req, path, url.slice(qs), ip);
      if (r !== null) return r;
    }
    return plain(404, "not found\n", C.http404);
  };
}
