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
 * buffer, one sort array), but sorting 10M 20-byte keys with a JS comparator takes seconds, so
 * the sort is a native BigUint64Array sort on (first 4 hash bytes, position) with a comparator
 * only for the rare runs that share the 4-byte prefix.
 */
import { writeBytes, writeRaw } from "../protocol/bencode.ts";
import { K_FILES, writeScrapeCounts } from "../protocol/http-answer.ts";
import { C } from "../rules/counters.ts";
import { INFO_HASH_LENGTH, type SwarmStore } from "../store/memory/memory-store.ts";
import type { TrackerRules } from "../rules/tracker-rules.ts";

const CH_E = 0x65;

/**
 * Upper bound of one entry's bytes: "20:" + 20 hash bytes + "d8:complete" + "10:downloaded" +
 * "10:incomplete" + 3 integers of at most "i-" + 16 digits + "e" (safe integers) + "e".
 */
const ENTRY_MAX = 3 + INFO_HASH_LENGTH + 11 + 13 + 13 + 3 * 19 + 1;

/**
 * Live torrent ids ordered by their info_hash bytes, ascending.
 *
 * Sort key, one BigUint64 per torrent: high 32 bits = hash bytes 0..3 big-endian, low 32 bits =
 * the torrent's position in `ids`. Writing both halves through a Uint32Array view makes no
 * BigInt objects; the typed-array sort is native (~12x faster than a comparator here). Runs that
 * share the 4-byte prefix (about n^2 / 2^33 pairs: ~12k at 10M torrents) are then ordered by
 * their full 20 bytes.
 */
export function sortByInfoHash(store: SwarmStore, ids: Uint32Array): Uint32Array {
  const n = ids.length;
  const hash = store.hash;
  const keys = new BigUint64Array(n);
  const halves = new Uint32Array(keys.buffer);
  // Which half of a 64-bit lane is the high one depends on the host's byte order.
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  const hi = little ? 1 : 0;
  const lo = 1 - hi;
  for (let i = 0; i < n; i++) {
    const b = ids[i]! * INFO_HASH_LENGTH;
    halves[2 * i + hi] = ((hash[b]! << 24) | (hash[b + 1]! << 16) | (hash[b + 2]! << 8) | hash[b + 3]!) >>> 0;
    halves[2 * i + lo] = i;
  }
  keys.sort();
  const sorted = new Uint32Array(n);
  for (let i = 0; i < n; i++) sorted[i] = ids[halves[2 * i + lo]!]!;

  const compare = (a: number, b: number): number => {
    const x = a * INFO_HASH_LENGTH;
    const y = b * INFO_HASH_LENGTH;
    for (let k = 4; k < INFO_HASH_LENGTH; k++) {
      const d = hash[x + k]! - hash[y + k]!;
      if (d !== 0) return d;
    }
    return 0;
  };
  let runStart = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && halves[2 * i + hi] === halves[2 * runStart + hi]) continue;
    if (i - runStart > 1) sorted.subarray(runStart, i).sort(compare);
    runStart = i;
  }
  return sorted;
}

/** The whole bencoded full-scrape answer for the store as it is now. */
export function renderFullScrape(store: SwarmStore): Uint8Array<ArrayBuffer> {
  const ids = sortByInfoHash(store, store.liveTorrents());
  const out = new Uint8Array(K_FILES.length + 2 + ids.length * ENTRY_MAX);
  const hash = store.hash;
  let o = writeRaw(out, 0, K_FILES);
  for (let i = 0; i < ids.length; i++) {
    const t = ids[i]!;
    o = writeBytes(out, o, hash, t * INFO_HASH_LENGTH, t * INFO_HASH_LENGTH + INFO_HASH_LENGTH);
    o = writeScrapeCounts(out, o, store.seeders[t]!, store.downloaded[t]!, store.leechersOf(t));
  }
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
export function createFullScrape(core: TrackerRules, opts: FullScrapeOptions = {}): (req: Request) => Response {
  const counters = core.counters;
  const now = opts.now ?? (() => performance.now());
  const ttlMs = core.config.fullScrapeCache * 1000;
  let plain: Uint8Array<ArrayBuffer> | null = null;
  let gzipped: Uint8Array<ArrayBuffer> | null = null;
  let renderedAt = 0;

  return function fullScrape(req: Request): Response {
    const t = now();
    if (plain === null || t - renderedAt >= ttlMs) {
      plain = renderFullScrape(core.store);
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
