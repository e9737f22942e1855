/**
 * The operator routes for createHttpHandler: /stats (text.ts), /stats?format=json (json.ts) and
 * /metrics (prometheus.ts), all from one collectStats() snapshot and behind the statsAllow rule
 * (access.ts), plus the wiring of full scrape, and /dashboard (../dashboard/), behind the same
 * rule, as Bun.serve `routes`. Keeps the live parts the snapshot needs: the 1 s
 * requests-per-second sampler, the cached swarm figures and the kernel's UDP socket figures.
 */
import type { AccessListStatus } from "../../access/access-list-keeper.ts";
import type { PrivateStatus } from "../../access/private-keeper.ts";
import type { HttpHandlerOptions } from "../../server/http.ts";
import { C } from "../../rules/counters.ts";
import type { TrackerRules } from "../../rules/tracker-rules.ts";
import { createDashboard, type DashboardRoutes } from "../dashboard/routes.ts";
import { createFullScrape } from "../full-scrape.ts";
import { LoopStallMonitor } from "../loop-stall.ts";
import type { StateStatus } from "../state-keeper.ts";
import type { TlsStatus } from "../../server/tls-keeper.ts";
import { udpReceiveStatsReader, type UdpReceiveStats } from "../udp-receive-stats.ts";
import { statsAccess } from "./access.ts";
import { cachedSwarmFigures, collectStats, type StatsSources } from "./collect.ts";
import { renderStatsJson, STATS_JSON_CONTENT_TYPE } from "./json.ts";
import { METRICS_CONTENT_TYPE, metricFamilies, renderMetrics } from "./prometheus.ts";
import { RateWindow } from "./rate-window.ts";
import { renderStatsText, STATS_TEXT_CONTENT_TYPE as TEXT } from "./text.ts";

/** What the pages read from Bun's server (only pendingRequests). */
export interface ServerGauges {
  readonly pendingRequests: number;
  /** The port HTTP (and UDP, the same number) listens on. */
  readonly port?: number | undefined;
  /** True while the listener is paused for lack of file descriptors (server/http-listener.ts). */
  readonly acceptPaused?: boolean;
}

/** HttpHandlerOptions plus the dashboard's routes, and close(), which stops the timers. */
export interface OperatorRoutes extends HttpHandlerOptions {
  /** For Bun.serve's `routes`: /dashboard and what is under it (guarded like /stats). */
  routes: DashboardRoutes;
  close(): void;
}

/** Where the pages read the tracker's parts that are not the rules; each may be absent. */
export interface OperatorSources {
  /**
   * Bun's server, read at request time for pendingRequests (it is created after the handler,
   * hence a function); null leaves the figure out.
   */
  server?: () => ServerGauges | null;
  /** The state file's status, or null when it is off. */
  state?: () => StateStatus | null;
  /** The access list's status, or null when access-mode is off. */
  access?: () => AccessListStatus | null;
  /** Private mode's status, or null when it is off. */
  private?: () => PrivateStatus | null;
  /** The HTTPS certificate in force, or null without --tls-port. */
  tls?: () => TlsStatus | null;
}

/**
 * The operator routes for createHttpHandler: `extra` answers /stats and /metrics (null for any
 * other path), and `fullScrape` is set when config.fullScrape is on.
 */
export function createOperatorRoutes(rules: TrackerRules, from: OperatorSources = {}): OperatorRoutes {
  const server = from.server ?? (() => null);
  const stalls = new LoopStallMonitor();
  const counters = rules.counters;
  const allowed = statsAccess(rules.config.statsAllow);
  const rate = new RateWindow(() => counters[C.httpRequests]! + counters[C.udpPacketsIn]! + counters[C.wsMessagesIn]!);
  const timer = setInterval(() => rate.sample(), 1000);
  timer.unref();
  let udpReader: (() => UdpReceiveStats | null) | null = null;
  const sources: StatsSources = {
    openHttpRequests: () => server()?.pendingRequests ?? null,
    acceptPaused: () => server()?.acceptPaused ?? null,
    requestsPerSecond: () => rate.rate(),
    swarm: cachedSwarmFigures(rules),
    state: from.state,
    access: from.access,
    private: from.private,
    tls: from.tls,
    loopStall: () => ({ longestLastMinuteMs: round1(stalls.longestLastMinuteMs), longestSinceStartMs: round1(stalls.longestEverMs) }),
    udpReceive: () => {
      const port = server()?.port;
      if (port === undefined) return null;
      udpReader ??= udpReceiveStatsReader(port);
      return udpReader();
    },
  };
  const dashboard = createDashboard(rules, {
    allowed,
    state: () => from.state?.() ?? null,
    loopStall: () => ({ lastMinuteMs: round1(stalls.longestLastMinuteMs), sinceStartMs: round1(stalls.longestEverMs) }),
    stallTap: () => stalls.tap(),
  });
  const encoder = new TextEncoder();

  function send(status: number, counter: number, body: string, type: string): Response {
    const bytes = encoder.encode(body);
    counters[counter]!++;
    counters[C.httpBytesOut]! += bytes.length;
    return new Response(bytes, { status, headers: { "Content-Type": type, "Cache-Control": "no-store" } });
  }

  function extra(_req: Request, path: string, query: string, clientIp: string): Response | null {
    if (path !== "/stats" && path !== "/metrics") return null;
    if (!allowed(clientIp)) return send(403, C.http403, "forbidden: your address is not in statsAllow\n", TEXT);
    if (path === "/metrics") {
      return send(200, C.http200, renderMetrics(metricFamilies(collectStats(rules, sources))), METRICS_CONTENT_TYPE);
    }
    const format = new URLSearchParams(query).get("format") ?? "text";
    if (format === "json") return send(200, C.http200, renderStatsJson(collectStats(rules, sources)), STATS_JSON_CONTENT_TYPE);
    if (format === "text") return send(200, C.http200, renderStatsText(collectStats(rules, sources)), TEXT);
    return send(400, C.http400, "unknown format: use format=json or format=text\n", TEXT);
  }

  const routes: OperatorRoutes = {
    extra,
    routes: dashboard.routes,
    close: () => {
      clearInterval(timer);
      stalls.stop();
      dashboard.close();
    },
  };
  if (rules.config.fullScrape) routes.fullScrape = createFullScrape(rules);
  return routes;
}

/** Milliseconds to a tenth. */
function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
