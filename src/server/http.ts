/**
 * The HTTP adapter: Bun.serve's fetch handler for /announce, /scrape and the other paths, and
 * the door to the WebSocket tracker (an `Upgrade: websocket` on `/` or an announce path).
 * Thin: it finds the path, hands the raw URL to the pure query parsers, fills a protocol-neutral
 * request for the rules (src/rules/) and bencodes their result into one preallocated buffer.
 * The only allocations per announce are the ones Bun makes for the Request/Response, the path
 * string, and the copy of the answer's bytes.
 *
 * Tracker-protocol errors (bad query, full tracker) are answered `200 OK` with a bencoded
 * `failure reason`: BitTorrent clients show that text to their user only on a 200 (libtorrent
 * and Transmission report a bare "HTTP error" otherwise). They are counted in httpFailures
 * (and refusals by the rules, by reason, in the refused* counters).
 */
import type { Server } from "bun";
import { encodeAscii, writeAscii, writeBytes, writeFailure, writeInt, writeRaw, writeUint } from "../protocol/bencode.ts";
import { formatAddress, parseAddress, writePort } from "../protocol/compact.ts";
import { K_FILES, K_PEERS6, writeAnnounceHead, writeScrapeCounts } from "../protocol/http-answer.ts";
import { AnnounceQuery, parseAnnounceQuery, parseScrapeQuery, ScrapeQuery } from "../protocol/http-query.ts";
import { readRequestTarget, RequestTarget } from "../protocol/http-target.ts";
import { passkeyOf } from "../protocol/passkey-path.ts";
import { C } from "../rules/counters.ts";
import { AnnounceRequest, ScrapeRequest } from "../rules/requests.ts";
import { AnnounceResult, ScrapeResult } from "../rules/results.ts";
import type { PeerWindow } from "../store/peer-window.ts";
import { announceOutcome, hex20, requestNote, scrapeOutcome } from "./request-log.ts";
import { versionLine } from "../version.ts";
import { REFUSED_FULL_SCRAPE, type TrackerRules } from "../rules/tracker-rules.ts";

// Pre-encoded keys of the compact=0 peer dicts (ip < peer id < port).
const K_IP = encodeAscii("d2:ip");
const K_PEER_ID = encodeAscii("7:peer id");
const K_PORT = encodeAscii("4:port");
const CH_L = 0x6c;
const CH_E = 0x65;

const TEXT = { "Content-Type": "text/plain" };
/** One response init shared by every 200 answer (no object per request). */
const OK = { status: 200, headers: TEXT };
const BANNER = `${versionLine()}: a BitTorrent tracker. Announce at /announce, scrape at /scrape, statistics at /stats, live dashboard at /dashboard.\n`;

/** A non-announce path the tracker also serves (/stats, /metrics): set by tracker.ts. */
export type ExtraRoute = (req: Request, path: string, query: string, clientIp: string) => Response | null;

export interface HttpHandlerOptions {
  /** Routes tried before the 404 (stats pages). */
  extra?: ExtraRoute;
  /** Full scrape renderer, when enabled. Returns the answer to `/scrape` without info_hash. */
  fullScrape?: (req: Request) => Response | Promise<Response>;
  /**
   * The WebSocket tracker (server/ws.ts), when enabled: upgrades a request (undefined) or
   * refuses it (a Response).
   */
  webSocket?: (req: Request, server: Server<any>, clientIp: string, passkey: string | null) => Response | undefined;
}

export function createHttpHandler(rules: TrackerRules, opts: HttpHandlerOptions = {}) {
  const cfg = rules.config;
  const counters = rules.counters;
  const query = new AnnounceQuery();
  // The parse keeps at most scrapeMaxHashes hashes and counts one more, enough for the rules
  // to refuse the scrape: an HTTP scrape's cost stays bounded by the limit, not by the URL.
  const scrapeQuery = new ScrapeQuery(cfg.scrapeMaxHashes);
  const announceReq = new AnnounceRequest();
  announceReq.bothFamilies = true;
  const announceRes = new AnnounceResult();
  const scrapeReq = new ScrapeRequest();
  scrapeReq.hashes = scrapeQuery.hashes;
  const scrapeRes = new ScrapeResult(cfg.scrapeMaxHashes);
  const target = new RequestTarget();
  // Worst case answer: every key + numwantMax non-compact peers (ip text <= 39, peer id 20, keys).
  const out = new Uint8Array(512 + cfg.numwantMax * 128 + cfg.scrapeMaxHashes * 96);
  const proxyHeader = cfg.trustProxyHeader.toLowerCase();
  const privateMode = cfg.private;
  const asyncStore = rules.store.async;

  /** A 200 answer with the first n bytes of `out` (copied: `out` is reused by the next request). */
  function answer(n: number): Response {
    counters[C.httpBytesOut]! += n;
    counters[C.http200]!++;
    return new Response(out.slice(0, n), OK);
  }

  function failure(reason: string, retryIn = -1): Response {
    counters[C.httpFailures]!++;
    return answer(writeFailure(out, 0, reason, retryIn));
  }

  function plain(status: number, body: string, counter: number): Response {
    counters[counter]!++;
    counters[C.httpBytesOut]! += body.length;
    return new Response(body, { status, headers: TEXT });
  }

  function clientAddress(req: Request, server: Server<any>): string | null {
    if (proxyHeader !== "") {
      // The proxy we trust appends the address it saw: take the LAST entry. Entries before it
      // were written by the client and can say anything.
      const h = req.headers.get(proxyHeader);
      if (h !== null) return h.slice(h.lastIndexOf(",") + 1).trim();
    }
    return server.requestIP(req)?.address ?? null;
  }

  function announce(url: string, qs: number, ip: string, passkey: string | null): Response | Promise<Response> {
    counters[C.httpAnnounces]!++;
    const err = parseAnnounceQuery(url, qs, query);
    // --log-requests (live: read per request; nothing is formatted when it is off)
    const note = rules.config.logRequests ? requestNote(rules.log, "http", ip, "announce", err === null ? hex20(query.infoHash, 0) : "") : null;
    if (err !== null) {
      note?.(`failure: ${err}`);
      return failure(err);
    }
    const r = announceReq;
    const family = parseAddress(ip, r.record, 0);
    if (family === 0) return failure("cannot read your address");
    writePort(r.record, family === 4 ? 4 : 16, query.port);
    r.family = family;
    r.infoHash = query.infoHash;
    r.peerId = query.peerId;
    r.leftIsZero = query.leftIsZero;
    r.event = query.event;
    r.numwant = query.numwant;
    r.wantsPeerIds = !query.compact && !query.noPeerId;
    r.uploaded = query.uploaded;
    r.downloaded = query.downloaded;
    r.passkey = passkey;
    // A remote store answers later, and other requests come in meanwhile: a result of its own.
    const res = asyncStore ? new AnnounceResult() : announceRes;
    const pending = rules.announce(r, res);
    if (pending === undefined) {
      note?.(announceOutcome(res));
      return announceAnswer(res, query.compact, query.noPeerId);
    }
    const compact = query.compact;
    const noPeerId = query.noPeerId;
    return pending.then(() => {
      note?.(announceOutcome(res));
      return announceAnswer(res, compact, noPeerId);
    });
  }

  function announceAnswer(res: AnnounceResult, compact: boolean, noPeerId: boolean): Response {
    if (res.refusal !== null) return failure(res.refusal, res.retryIn);
    let o = writeAnnounceHead(out, res.complete, res.downloaded, res.incomplete, res.interval, res.minInterval);
    // BEP 3's dictionary model lists each peer with its id; BEP 23 lets a tracker answer with
    // the compact string whatever was asked. So dictionaries only when they can be complete.
    if (!compact && (noPeerId || res.peerIdsKnown)) {
      out[o++] = CH_L; // one list holding both families; keys ip < peer id < port
      o = writePeerDicts(res.peers4, o, noPeerId);
      o = writePeerDicts(res.peers6, o, noPeerId);
      out[o++] = CH_E;
    } else {
      o = writeCompactString(res.peers4, o);
      if (res.peers6.count > 0) {
        o = writeRaw(out, o, K_PEERS6);
        o = writeCompactString(res.peers6, o);
      }
    }
    out[o++] = CH_E;
    return answer(o);
  }

  /** `<len>:` then the chosen records, copied straight from the store. */
  function writeCompactString(peers: PeerWindow, o: number): number {
    o = writeUint(out, o, peers.count * peers.stride);
    out[o++] = 0x3a; // ':'
    return peers.writeCompact(out, o);
  }

  function writePeerDicts(peers: PeerWindow, o: number, noPeerId: boolean): number {
    const stride = peers.stride;
    const rec = peers.rec;
    for (let k = 0; k < peers.count; k++) {
      const p = peers.slot(k);
      o = writeRaw(out, o, K_IP);
      o = writeAscii(out, o, formatAddress(rec, p * stride, peers.family));
      if (!noPeerId) {
        o = writeRaw(out, o, K_PEER_ID);
        o = writeBytes(out, o, peers.ids, p * peers.idLength, p * peers.idLength + peers.idLength);
      }
      o = writeRaw(out, o, K_PORT);
      const portAt = p * stride + stride - 2;
      o = writeInt(out, o, (rec[portAt]! << 8) | rec[portAt + 1]!);
      out[o++] = CH_E;
    }
    return o;
  }

  function scrape(req: Request, server: Server<any>, url: string, qs: number, passkey: string | null): Response | Promise<Response> {
    counters[C.httpScrapes]!++;
    const err = parseScrapeQuery(url, qs, scrapeQuery);
    const note = rules.config.logRequests
      ? requestNote(rules.log, "http", clientAddress(req, server) ?? "?", "scrape", err === null ? `${scrapeQuery.asked} hashes` : "")
      : null;
    if (err !== null) {
      note?.(`failure: ${err}`);
      return failure(err);
    }
    scrapeReq.count = scrapeQuery.asked;
    scrapeReq.passkey = passkey;
    if (!asyncStore) {
      rules.scrape(scrapeReq, scrapeRes);
      note?.(scrapeOutcome(scrapeRes));
      return scrapeAnswer(req, scrapeRes, scrapeQuery.hashes);
    }
    // A remote store: this scrape's own result, and its own copy of the hashes for the answer.
    const res = new ScrapeResult(Math.max(1, scrapeReq.count));
    const hashes = scrapeQuery.hashes.slice(0, scrapeReq.count * 20);
    const pending = rules.scrape(scrapeReq, res);
    if (pending === undefined) {
      note?.(scrapeOutcome(res));
      return scrapeAnswer(req, res, hashes);
    }
    return pending.then(() => {
      note?.(scrapeOutcome(res));
      return scrapeAnswer(req, res, hashes);
    });
  }

  function scrapeAnswer(req: Request, res: ScrapeResult, hashes: Uint8Array): Response | Promise<Response> {
    if (res.refusal !== null) return failure(res.refusal, res.retryIn);
    if (res.full) {
      if (opts.fullScrape === undefined) return failure(REFUSED_FULL_SCRAPE);
      counters[C.httpFullScrapes]!++;
      return opts.fullScrape(req);
    }
    // The parse sorted the hashes by raw bytes: the `files` keys come out in bencode order.
    // Torrents the access list refuses are left out.
    let o = writeRaw(out, 0, K_FILES);
    for (let i = 0; i < res.count; i++) {
      if (res.refused > 0 && res.refusedAt[i] === 1) continue;
      o = writeBytes(out, o, hashes, i * 20, i * 20 + 20);
      o = writeScrapeCounts(out, o, res.complete[i]!, res.downloaded[i]!, res.incomplete[i]!);
    }
    out[o++] = CH_E;
    out[o++] = CH_E;
    return answer(o);
  }

  function announceFrom(
    req: Request, server: Server<any>, url: string, qs: number, key: string | null,
  ): Response | Promise<Response> | undefined {
    if (qs >= url.length) {
      const upgraded = webSocketUpgrade(req, server, key);
      if (upgraded !== null) return upgraded;
    }
    const ip = clientAddress(req, server);
    if (ip === null) return failure("cannot read your address");
    return announce(url, qs, ip, key);
  }

  /**
   * A WebSocket upgrade on an announce path? Asked only of requests without a query string
   * (an HTTP announce always has one: its info_hash), so announces never pay for the header
   * lookup. A WebSocket URL with a query is answered as an HTTP announce.
   */
  function webSocketUpgrade(req: Request, server: Server<any>, key: string | null): Response | undefined | null {
    if (opts.webSocket === undefined || req.headers.get("upgrade")?.toLowerCase() !== "websocket") return null;
    const ip = clientAddress(req, server);
    if (ip === null) return failure("cannot read your address");
    return opts.webSocket(req, server, ip, key);
  }

  return function fetch(req: Request, server: Server<any>): Response | Promise<Response> | undefined {
    counters[C.httpRequests]!++;
    const url = req.url;
    counters[C.httpBytesIn]! += url.length;
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") {
      return plain(405, "method not allowed: use GET\n", C.http405);
    }
    readRequestTarget(url, target);
    const path = url.slice(target.pathStart, target.pathEnd);
    const qs = target.queryStart;
    // Routes are exact paths. In private mode `/announce` and `/scrape` are answered too (the
    // rules refuse them for want of a key, which tells the user what URL to use).
    switch (path) {
      case "/announce":
        return announceFrom(req, server, url, qs, null);
      case "/scrape":
        return scrape(req, server, url, qs, null);
      case "/": {
        const upgraded = webSocketUpgrade(req, server, null);
        if (upgraded !== null) return upgraded;
        counters[C.http200]!++;
        return new Response(BANNER, { headers: TEXT });
      }
    }
    if (privateMode) {
      // `/<passkey>/announce`, `/<passkey>/scrape`: the rules decide whether the key is in force.
      let key = passkeyOf(path, "announce");
      if (key !== null) return announceFrom(req, server, url, qs, key);
      key = passkeyOf(path, "scrape");
      if (key !== null) return scrape(req, server, url, qs, key);
    }
    if (opts.extra) {
      const ip = server.requestIP(req)?.address ?? "";
      const r = opts.extra(req, path, url.slice(qs), ip);
      if (r !== null) return r;
    }
    return plain(404, "not found\n", C.http404);
  };
}
