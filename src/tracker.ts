/**
 * startTracker(config): wires the swarm store to the HTTP and UDP servers on one port, and runs
 * the timers (sweep slices every second, the load-driven interval step with its terminal line).
 */
import { loadavg } from "node:os";
import type { Config } from "./config/types.ts";
import { nextInterval } from "./operator/load-interval.ts";
import { createHttpHandler, type HttpHandlerOptions } from "./server/http.ts";
import { startUdpServer, type UdpServer } from "./server/udp.ts";
import { C } from "./rules/counters.ts";
import { createOperatorRoutes } from "./operator/stats-page.ts";
import { formatTerminalLine } from "./operator/terminal-line.ts";
import { nowSeconds, TrackerRules } from "./rules/tracker-rules.ts";

export interface Tracker {
  readonly core: TrackerRules;
  /** The port HTTP listens on (0 when HTTP is off). */
  readonly httpPort: number;
  /** The port UDP listens on (0 when UDP is off); equals httpPort when both run. */
  readonly udpPort: number;
  /** Stop accepting, let in-flight HTTP requests finish, close UDP, clear timers. */
  stop(): Promise<void>;
}

/** Sweep slices run this often; each covers enough torrents to finish a cycle in ~SWEEP_CYCLE. */
const SWEEP_TICK_MS = 1000;
const SWEEP_CYCLE_SECONDS = 60;
const SWEEP_MIN_BUDGET = 4096;

export interface TrackerHooks {
  /** Extra HTTP routes (stats pages) and full scrape, built from the core. */
  http?: (core: TrackerRules) => HttpHandlerOptions;
  /** Where the terminal line goes (default console.log). */
  log?: (line: string) => void;
}

export async function startTracker(config: Config, hooks: TrackerHooks = {}): Promise<Tracker> {
  const core = new TrackerRules(config);
  const log = hooks.log ?? ((line: string) => console.log(line));
  // Default routes: /stats, /metrics and (if configured) full scrape; `server` is read per request.
  const operator = hooks.http ? null : createOperatorRoutes(core, () => server);
  const fetch = createHttpHandler(core, { log, ...(hooks.http?.(core) ?? operator ?? {}) });

  let server: ReturnType<typeof Bun.serve> | null = null;
  let udp: UdpServer | null = null;
  // With port 0 the OS picks the TCP port; UDP must then bind the same number, which may be
  // taken on UDP by someone else: try a few times with a new TCP port.
  for (let attempt = 0; ; attempt++) {
    if (config.http) {
      server = Bun.serve({
        hostname: config.host,
        port: config.port,
        development: false,
        idleTimeout: config.httpIdleTimeout,
        fetch,
        error(e) {
          core.counters[C.http500]!++;
          console.error("http: unexpected error", e);
          return new Response("internal error\n", { status: 500 });
        },
      });
    }
    if (!config.udp) break;
    try {
      udp = await startUdpServer(core, config.host, server?.port ?? config.port);
      break;
    } catch (e) {
      server?.stop(true);
      if (config.port !== 0 || attempt >= 5) {
        operator?.close();
        throw e;
      }
    }
  }

  // ---- sweep: a slice every second, so no tick holds the event loop for long ----
  // Timer callbacks are guarded: an exception escaping one would end the process.
  const sweepTimer = setInterval(() => {
    try {
      const store = core.store;
      const budget = Math.max(SWEEP_MIN_BUDGET, Math.ceil(store.ttop / SWEEP_CYCLE_SECONDS));
      store.sweepSlice(nowSeconds(), budget);
    } catch (e) {
      console.error("sweep: unexpected error", e);
    }
  }, SWEEP_TICK_MS);
  sweepTimer.unref();

  // ---- the load-driven interval and the terminal line ----
  let lastRequests = 0;
  let lastStepAt = performance.now();
  const requests = () => core.counters[C.httpRequests]! + core.counters[C.udpPacketsIn]!;
  function step(first: boolean): void {
    const load = loadavg() as [number, number, number];
    const old = core.interval;
    if (!first) {
      core.interval = nextInterval(old, load[2], config.maxLoad, config.intervalStep, config.intervalMin, config.intervalMax);
    }
    const t = performance.now();
    const total = requests();
    const seconds = (t - lastStepAt) / 1000;
    const rps = first || seconds <= 0 ? 0 : (total - lastRequests) / seconds;
    lastRequests = total;
    lastStepAt = t;
    if (config.quiet) return;
    const sweep = core.store.lastSweep;
    log(formatTerminalLine({
      now: new Date(),
      totalPeers: core.store.peerCount,
      totalTorrents: core.store.torrentCount,
      maxPeers: sweep.maxPeers,
      removedPeers: sweep.removedPeers,
      removedTorrents: sweep.removedTorrents,
      sweepMicros: sweep.micros,
      load,
      maxLoad: config.maxLoad,
      intervalOld: old,
      intervalNew: core.interval,
      rps,
    }));
  }
  const stepTimer = setInterval(() => {
    try {
      step(false);
    } catch (e) {
      console.error("interval step: unexpected error", e);
    }
  }, config.intervalStepPeriod * 1000);
  stepTimer.unref();

  const httpPort = server?.port ?? 0;
  const udpPort = udp?.port ?? 0;
  const where = config.host.includes(":") ? `[${config.host}]` : config.host;
  if (!config.quiet) {
    log(`sc6-tracker listening on ${where}:${httpPort || udpPort} (${[config.http ? "HTTP" : "", config.udp ? "UDP" : ""].filter(Boolean).join(" + ")}), interval ${core.interval} s`);
    step(true);
  }

  return {
    core,
    httpPort,
    udpPort,
    async stop() {
      clearInterval(sweepTimer);
      clearInterval(stepTimer);
      operator?.close();
      udp?.close();
      if (server) await server.stop(false);
    },
  };
}
