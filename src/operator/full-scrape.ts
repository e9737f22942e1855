/**
 * Full scrape: `/scrape` with no info_hash answers every torrent (config.fullScrape, off by
 * default as in sc6: the answer is large and cheap to ask for, so it is an easy way to make a
 * tracker burn CPU and bandwidth).
 *
 * Answer (BEP 48), keys sorted by raw bytes as bencode requires:
 *
 *   d5:filesd
 *     20:<info_hash>d8:completei<seeders>e10:downloadedi<completed>e10:incompletei<leechers>ee
 *     ... one per torrent, info_hashes in ascending raw-byte order
 *   ee
 *
 * Cost control: the rendered body is cached for config.fullScrapeCache seconds, so a burst of
 * full scrapes costs one render; the gzipped form is made on the first request that accepts
 * gzip and cached alongside. Not a hot path: rendering allocates freely (one exact-bound
 * buffer; the store allocates its sort); the store hands the torrents over in info_hash order
 * (MemoryStore.torrentsInHashOrder explains how it sorts 10M hashes fast).
 */
import { writeBytes, writeRaw } from "../protocol/bencode.ts";
import { K_FILES, writeScrapeCounts } from "../protocol/http-answer.ts";
import { C } from "../rules/counters.ts";
import type { TrackerRules } from "../rules/tracker-rules.ts";
import type { SwarmStore } from "../store/store.ts";

const CH_E = 0x65;
const INFO_HASH_LENGTH = 20;

/**
 * Upper bound of one entry's bytes: "20:" + 20 hash bytes + "d8:complete" + "10:downloaded" +
 * "10:incomplete" + 3 integers of at most "i-" + 16 digits + "e" (safe integers) + "e".
 */
const ENTRY_MAX = 3 + INFO_HASH_LENGTH + 11 + 13 + 13 + 3 * 19 + 1;

/** The whole bencoded full-scrape answer for the store as it is now. */
export function renderFullScrape(store: SwarmStore): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(K_FILES.length + 2 + store.torrentCount * ENTRY_MAX);
  let o = writeRaw(out, 0, K_FILES);
  store.visitTorrentsInHashOrder((hash, off, complete, downloaded, incomplete) => {
    o = writeBytes(out, o, hash, off, off + INFO_HASH_LENGTH);
    o = writeScrapeCounts(out, o, complete, downloaded, incomplete);
  });
  out[o++] = CH_E;
  out[o++] = CH_E;
  // Copy to the exact size: the bound above is ~1.7x the usual entry and the body is cached.
  return out.slice(0, o);
}

/**
 * Whether an Accept-Encoding header value admits gzip (RFC 9110 12.5.3): a `gzip` or `x-gzip`
 * coding whose q-value is not 0. `*` is not taken as gzip: a client that names no coding gets
 * the plain body, which every client can read.
 */
export function acceptsGzip(header: string | null): boolean {
  if (header === null) return false;
  for (const part of header.split(",")) {
    const semi = part.indexOf(";");
    const coding = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (coding !== "gzip" && coding !== "x-gzip") continue;
    if (semi < 0) return true;
    const q = /(?:^|;)\s*q\s*=\s*([0-9.]+)/i.exec(part.slice(semi));
    return q === null || Number(q[1]) > 0;
  }
  return false;
}

export interface FullScrapeOptions {
  /** Milliseconds clock, for the cache (tests may pass their own). Default performance.now. */
  now?: () => number;
}

/**
 * The full-scrape handler for HttpHandlerOptions.fullScrape. The HTTP server has already counted
 * the request in httpScrapes and httpFullScrapes; this counts the 200, the bytes sent and each
 * render (httpFullScrapeRenders: a render per cache window, not per request, when the cache works).
 */
export function createFullScrape(rules: TrackerRules, opts: FullScrapeOptions = {}): (req: Request) => Response {
  const counters = rules.counters;
  const now = opts.now ?? (() => performance.now());
  const ttlMs = rules.config.fullScrapeCache * 1000;
  let plain: Uint8Array<ArrayBuffer> | null = null;
  let gzipped: Uint8Array<ArrayBuffer> | null = null;
  let renderedAt = 0;

  return function fullScrape(req: Request): Response {
    const t = now();
    if (plain === null || t - renderedAt >= ttlMs) {
      plain = renderFullScrape(rules.store);
      gzipped = null;
      renderedAt = t;
      counters[C.httpFullScrapeRenders]!++;
    }
    const gzip = acceptsGzip(req.headers.get("accept-encoding"));
    let body = plain;
    if (gzip) {
      if (gzipped === null) gzipped = Bun.gzipSync(plain);
      body = gzipped;
    }
    counters[C.http200]!++;
    counters[C.httpBytesOut]! += body.length;
    const headers: Record<string, string> = { "Content-Type": "text/plain", Vary: "Accept-Encoding" };
    if (gzip) headers["Content-Encoding"] = "gzip";
    // The cached bytes are shared by every answer in the window and never written again.
    return new Response(body, { headers });
  };
}
