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
 * full scrapes costs one render; the gzipped form is made (off the event loop) on the first
 * request that accepts gzip and cached alongside; answers stream the shared bodies (below). Not
 * a hot path: rendering allocates freely (one bound-sized buffer; the store allocates its sort)
 * and runs in slices; the store hands the torrents over in info_hash order
 * in steps (MemoryStore.sortTorrents explains how it sorts 10M hashes without holding the loop).
 */
import { writeBytes, writeRaw } from "../protocol/bencode.ts";
import { K_FILES, writeScrapeCounts } from "../protocol/http-answer.ts";
import { C } from "../rules/counters.ts";
import type { TrackerRules } from "../rules/tracker-rules.ts";
import type { SwarmStore } from "../store/store.ts";
import { gzip } from "node:zlib";
import { promisify } from "node:util";

const CH_E = 0x65;
const INFO_HASH_LENGTH = 20;

/**
 * Upper bound of one entry's bytes: "20:" + 20 hash bytes + "d8:complete" + "10:downloaded" +
 * "10:incomplete" + 3 integers of at most "i-" + 16 digits + "e" (safe integers) + "e".
 */
const ENTRY_MAX = 3 + INFO_HASH_LENGTH + 11 + 13 + 13 + 3 * 19 + 1;

/** Torrents written per slice of a render: a few ms of work, then requests get their turn. */
const RENDER_SLICE = 16_384;

/**
 * The whole bencoded full-scrape answer for the store as it is at the start (torrents created
 * meanwhile are left for the next render; ones gone meanwhile are left out). Written a slice at
 * a time with a turn of the event loop in between, so announces are served while it renders;
 * the store's ordering of the torrents is taken in steps the same way.
 */
export async function renderFullScrape(store: SwarmStore, slice = RENDER_SLICE): Promise<Uint8Array<ArrayBuffer>> {
  // Ordering the torrents is sliced too: a turn of the loop between its steps.
  const steps = store.orderTorrents();
  let step = steps.next();
  while (!step.done) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    step = steps.next();
  }
  const order = step.value;
  // A large typed array is mapped zero pages: only the ones written become resident.
  const out = new Uint8Array(K_FILES.length + 2 + order.count * ENTRY_MAX);
  let o = writeRaw(out, 0, K_FILES);
  const write = (hash: Uint8Array, off: number, complete: number, downloaded: number, incomplete: number) => {
    o = writeBytes(out, o, hash, off, off + INFO_HASH_LENGTH);
    o = writeScrapeCounts(out, o, complete, downloaded, incomplete);
  };
  for (let from = 0; from < order.count; from += slice) {
    if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    order.visit(from, from + slice, write);
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
  /** Bytes handed to the socket per pull of an answer's stream. Default 64 KiB. */
  chunkBytes?: number;
}

const gzipAsync = promisify(gzip);

/**
 * The full-scrape handler for HttpHandlerOptions.fullScrape. The HTTP server has already counted
 * the request in httpScrapes and httpFullScrapes; this counts the 200 (or the 503), the bytes
 * sent and each render (httpFullScrapeRenders: a render per cache window, not per request).
 *
 * Memory: every answer in a cache window streams the same rendered body (and the same gzipped
 * one) a chunk at a time, pulled as the client's socket drains, so a client that reads slowly
 * or not at all holds a view of the shared body and the socket's buffer, never a copy (before,
 * 20 concurrent answers of a 35 MB body took 790 MiB). At most fullScrapeMaxConcurrent answers
 * are under way at once; more get 503 with Retry-After. The gzip runs on zlib's thread pool, off
 * the event loop, once per window; requests that want it wait for that one.
 */
export function createFullScrape(rules: TrackerRules, opts: FullScrapeOptions = {}): (req: Request) => Response | Promise<Response> {
  const counters = rules.counters;
  const now = opts.now ?? (() => performance.now());
  const chunk = opts.chunkBytes ?? 64 * 1024;
  const config = rules.config;
  const ttlMs = config.fullScrapeCache * 1000;
  const retryAfter = String(Math.max(1, Math.min(config.fullScrapeCache, 60)));
  // The window's bodies, as promises: a request that arrives while the render (in slices) or
  // the gzip runs waits for that one instead of starting another.
  let plain: Promise<Uint8Array> | null = null;
  let gzipped: Promise<Uint8Array> | null = null;
  let renderedAt = 0;
  let inFlight = 0;

  /** The answer's body: `body` in chunks, pulled as the socket drains; `release` once, at its end. */
  function stream(body: Uint8Array, release: () => void): ReadableStream<Uint8Array> {
    let off = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (off >= body.length) {
            controller.close();
            release();
            return;
          }
          const end = Math.min(off + chunk, body.length);
          controller.enqueue(body.subarray(off, end)); // a view of the shared body, no copy
          off = end;
          // One chunk per answer per event-loop turn: without this Bun pulls again at once
          // while the socket takes more, and fast readers on loopback held the loop for
          // hundreds of ms (bench/full-scrape.ts).
          return new Promise<void>((resolve) => setImmediate(resolve));
        },
        cancel: release, // the client went away
      },
      { highWaterMark: 0 },
    );
  }

  function answer(body: Uint8Array, gzip: boolean, release: () => void): Response {
    counters[C.http200]!++;
    counters[C.httpBytesOut]! += body.length;
    const headers: Record<string, string> = { "Content-Type": "text/plain", Vary: "Accept-Encoding" };
    if (gzip) headers["Content-Encoding"] = "gzip";
    return new Response(stream(body, release), { headers });
  }

  return function fullScrape(req: Request): Response | Promise<Response> {
    if (inFlight >= config.fullScrapeMaxConcurrent) {
      counters[C.http503]!++;
      return new Response(`too many full scrapes at once: try again in ${retryAfter} s\n`, {
        status: 503,
        headers: { "Content-Type": "text/plain", "Retry-After": retryAfter },
      });
    }
    inFlight++;
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        inFlight--;
      }
    };
    const t = now();
    if (plain === null || t - renderedAt >= ttlMs) {
      const rendering = renderFullScrape(rules.store);
      plain = rendering;
      gzipped = null;
      renderedAt = t;
      counters[C.httpFullScrapeRenders]!++;
      rendering.catch(() => {
        if (plain === rendering) plain = null; // a failed render is not kept for the window
      });
    }
    const gzip = acceptsGzip(req.headers.get("accept-encoding"));
    const rendered = plain;
    if (gzip) gzipped ??= rendered.then((body) => gzipAsync(body));
    return (gzip ? gzipped! : rendered).then(
      (body) => answer(body, gzip, release),
      (e) => {
        release();
        throw e; // Bun's error handler answers 500 and counts it
      },
    );
  };
}
