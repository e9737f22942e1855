/**
 * /dashboard: the page, its JS/CSS, and its event stream, all behind the --stats-allow rule,
 * plus the one timer that feeds them.
 *
 * Paths (all under one guarded handler, registered in Bun.serve's `routes`, which Bun tries
 * before the fetch handler):
 *   /dashboard, /dashboard/     the page (HTML)
 *   /dashboard/events           server-sent events (event-stream.ts; messages in wire.ts)
 *   /dashboard/<file>           the page's bundled JS and CSS (assets.ts)
 * A disallowed address gets 403 on every one of them, assets included. They are counted like
 * the fetch handler's answers (requests, bytes, status).
 *
 * The timer: once a second it reads the counters (sampler.ts); every SAMPLE_SECONDS it adds a
 * sample to the history ring (history.ts) and sends it to the open streams; while a stream is
 * open it also sends the live figures. Nothing runs per announce, and with nobody watching a
 * tick is a copy of the counters and, every 5 s, a ring row.
 */
import type { HTMLBundle, Server } from "bun";
import page from "./page/dashboard.html";
import { C } from "../../rules/counters.ts";
import { readRequestTarget, RequestTarget } from "../../protocol/http-target.ts";
import { ASSET_BASE, loadPageFiles, type PageFile, type PageFiles } from "./assets.ts";
import { EventStreams, sseMessage, sseRetry } from "./event-stream.ts";
import { HistoryRing, roundForChart } from "./history.ts";
import { type DashboardRules, DashboardSampler, type SamplerSources } from "./sampler.ts";
import {
  EVENT_HISTORY, EVENT_LIVE, EVENT_SAMPLE, HISTORY_SAMPLES, type HistoryMessage, type LiveMessage, SAMPLE_SECONDS,
  type SampleMessage, SERIES,
} from "./wire.ts";

export type RouteHandler = (req: Request, server: Server<any>) => Response | Promise<Response>;

/** Bun.serve `routes` entries for the dashboard. */
export type DashboardRoutes = Record<string, RouteHandler>;

export interface DashboardOptions extends Omit<SamplerSources, "loadAverage" | "rss"> {
  /** Whether a client address may see the dashboard (the --stats-allow rule: stats/access.ts). */
  allowed(clientIp: string): boolean;
  /** The HTML import to serve (tests may pass another). */
  bundle?: HTMLBundle;
  /** Where a page that cannot be built is reported (default console.error). */
  warn?: (line: string) => void;
  /** Unix milliseconds (tests). */
  clock?: () => number;
}

export interface Dashboard {
  /** For Bun.serve's `routes`. */
  readonly routes: DashboardRoutes;
  /** The guarded handler behind the routes, given the client's socket address. */
  handle(req: Request, clientIp: string): Response | Promise<Response>;
  /** Run one timer tick now (tests; the timer calls it every second). */
  tick(): void;
  /** The history ring (tests, and its figures on the page). */
  readonly ring: HistoryRing;
  /** Stop the timer and end every open stream. */
  close(): void;
}

const TEXT = "text/plain; charset=utf-8";
/**
 * The page loads only its own files and talks only to this tracker: no CDN, nothing inline.
 * uPlot styles its elements through the CSSOM (element.style), which style-src does not govern.
 */
const PAGE_HEADERS = {
  "Cache-Control": "no-store",
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};
/** A page that could not be built is not tried again sooner than this. */
const RETRY_BUILD_MS = 60_000;
/** Asset names carry the bundler's content hash: a browser may keep them (privately). */
const ASSET_CACHE = "private, max-age=31536000, immutable";

export function createDashboard(rules: DashboardRules, opts: DashboardOptions): Dashboard {
  const counters = rules.counters;
  const clock = opts.clock ?? Date.now;
  const warn = opts.warn ?? ((line: string) => console.error(line));
  const bundle = opts.bundle ?? page;
  const sampler = new DashboardSampler(rules, opts, clock());
  const ring = new HistoryRing(HISTORY_SAMPLES, SERIES.length);
  const streams = new EventStreams();
  const target = new RequestTarget();
  let files: Promise<PageFiles> | null = null;
  let failedAt = -Infinity;
  let ticks = 0;
  let bytesCounted = 0;

  function ringInfo(): LiveMessage["ring"] {
    return { samples: ring.length, capacity: ring.capacity, bytes: ring.bytes };
  }

  /** Bytes the streams sent since last counted, into the HTTP bytes out. */
  function countStreamBytes(): void {
    counters[C.httpBytesOut]! += streams.bytesSent - bytesCounted;
    bytesCounted = streams.bytesSent;
  }

  function tick(): void {
    const now = clock();
    sampler.tick(now);
    if (++ticks % SAMPLE_SECONDS === 0) {
      const row = sampler.sampleRow(now);
      ring.push(now / 1000, row);
      if (streams.size > 0) {
        const m: SampleMessage = { t: now / 1000, values: row.map((v) => (Number.isNaN(v) ? null : roundForChart(v))) };
        streams.send(sseMessage(EVENT_SAMPLE, JSON.stringify(m)));
      }
    }
    if (streams.size > 0) streams.send(sseMessage(EVENT_LIVE, JSON.stringify(sampler.live(now, ringInfo()))));
    countStreamBytes();
  }

  // Guarded: an exception escaping a timer callback would end the process.
  const timer = setInterval(() => {
    try {
      tick();
    } catch (e) {
      console.error("dashboard: unexpected error", e);
    }
  }, 1000);
  timer.unref();

  function plain(status: number, counter: number, body: string, extra: Record<string, string> = {}): Response {
    counters[counter]!++;
    counters[C.httpBytesOut]! += body.length;
    return new Response(body, { status, headers: { "Content-Type": TEXT, "Cache-Control": "no-store", ...extra } });
  }

  function file(f: PageFile, headers: Record<string, string>, head: boolean): Response {
    counters[C.http200]!++;
    if (!head) counters[C.httpBytesOut]! += f.body.length;
    return new Response(head ? null : f.body, { headers: { "Content-Type": f.contentType, ...headers } });
  }

  function busy(): Response {
    return plain(503, C.http503, `too many dashboards open (${streams.maxStreams}): try again later\n`, { "Retry-After": "10" });
  }

  async function pageFiles(): Promise<PageFiles | null> {
    // A build that failed is tried again at most once a minute (each try is a Bun.build).
    if (files === null && Date.now() - failedAt < RETRY_BUILD_MS) return null;
    files ??= loadPageFiles(bundle);
    try {
      return await files;
    } catch (e) {
      if (files !== null) {
        files = null;
        failedAt = Date.now();
        warn(`dashboard: the page cannot be built: ${(e as Error)?.message ?? e}`);
      }
      return null;
    }
  }

  function events(head: boolean): Response {
    const headers = { "Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no" };
    if (head) {
      counters[C.http200]!++;
      return new Response(null, { headers });
    }
    // Full: refused before the history is encoded for nobody.
    if (streams.size >= streams.maxStreams) return busy();
    const h = ring.columns();
    const history: HistoryMessage = { sampleSeconds: SAMPLE_SECONDS, capacity: ring.capacity, t: h.t, values: h.values };
    const stream = streams.open([
      sseRetry(2000),
      sseMessage(EVENT_HISTORY, JSON.stringify(history)),
      sseMessage(EVENT_LIVE, JSON.stringify(sampler.live(clock(), ringInfo()))),
    ]);
    countStreamBytes();
    if (stream === null) return busy();
    counters[C.http200]!++;
    return new Response(stream, { headers });
  }

  async function handle(req: Request, clientIp: string): Promise<Response> {
    counters[C.httpRequests]!++;
    const url = req.url;
    counters[C.httpBytesIn]! += url.length;
    const method = req.method;
    if (method !== "GET" && method !== "HEAD") return plain(405, C.http405, "method not allowed: use GET\n");
    // Before anything else, for every path under /dashboard: the page, the stream and the assets.
    if (!opts.allowed(clientIp)) return plain(403, C.http403, "forbidden: your address is not in statsAllow\n");
    const head = method === "HEAD";
    readRequestTarget(url, target);
    const path = url.slice(target.pathStart, target.pathEnd);
    if (path === "/dashboard/events") return events(head);
    const f = await pageFiles();
    if (f === null) return plain(500, C.http500, "the dashboard page cannot be built: see the tracker's log\n");
    if (path === "/dashboard" || path === ASSET_BASE) return file(f.page, PAGE_HEADERS, head);
    const asset = path.startsWith(ASSET_BASE) ? f.assets.get(path.slice(ASSET_BASE.length)) : undefined;
    if (asset === undefined) return plain(404, C.http404, "not found\n");
    return file(asset, { "Cache-Control": ASSET_CACHE, "X-Content-Type-Options": "nosniff" }, head);
  }

  const route: RouteHandler = (req, server) => handle(req, server.requestIP(req)?.address ?? "");

  return {
    routes: { "/dashboard": route, "/dashboard/*": route },
    handle,
    tick,
    ring,
    close() {
      clearInterval(timer);
      streams.close();
    },
  };
}
