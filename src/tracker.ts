/**
 * startTracker(config): wires the rooms together. The rules (with their store and the WebRTC
 * swarms) serve the HTTP, UDP and WebSocket adapters on one port; the operator routes ride on
 * the HTTP adapter; the access keepers (list, private mode) load what the rules consult before
 * anything listens; timers run the store's sweep (a slice every second), the WebRTC sweep, and
 * the load-driven interval step with its terminal line.
 */
import { startAccessListKeeper, type AccessListKeeper } from "./access/access-list-keeper.ts";
import type { PrivateKeeper } from "./access/private-keeper.ts";
import { reloadConfig, type Reload } from "./config/reload.ts";
import type { Config } from "./config/types.ts";
import { announceUrls } from "./operator/announce-urls.ts";
import { startIntervalStep } from "./operator/interval-step.ts";
import { openFilesLimit } from "./operator/open-files.ts";
import { startStateKeeper, type StateKeeper } from "./operator/state-keeper.ts";
import { createOperatorRoutes } from "./operator/stats/routes.ts";
import { C } from "./rules/counters.ts";
import { nowSeconds, TrackerRules } from "./rules/tracker-rules.ts";
import { createHttpHandler } from "./server/http.ts";
import { bindError } from "./server/bind-error.ts";
import { listenHttp, type HttpListener } from "./server/http-listener.ts";
import { startUdpServer, type UdpServer } from "./server/udp.ts";
import { openStore } from "./store/open-store.ts";
import type { SwarmStore } from "./store/store.ts";
import { createWebSocketTracker } from "./server/ws.ts";
import { versionLine } from "./version.ts";

export interface Tracker {
  readonly rules: TrackerRules;
  /** The state file's keeper, when --state-file is set. */
  readonly state: StateKeeper | null;
  /** The access list's keeper (its status is null while access-mode is off). */
  readonly access: AccessListKeeper;
  /** Private mode's keeper (passkeys and accounting), when --private is set. */
  readonly private: PrivateKeeper | null;
  /** Write the state file now (nothing when it is off). */
  saveState(reason: string): Promise<void>;
  /**
   * Take the live settings of a freshly read configuration (SIGHUP; see config/reload.ts), and
   * read the access list again.
   */
  reload(next: Config): Reload;
  /** The port HTTP listens on (0 when HTTP is off). */
  readonly httpPort: number;
  /** The port UDP listens on (0 when UDP is off); equals httpPort when both run. */
  readonly udpPort: number;
  /**
   * Stop accepting and clear the timers at once, close UDP; resolves once in-flight HTTP
   * requests are answered. The state file is not written: call saveState for that.
   */
  stop(): Promise<void>;
}

/** The store's sweep step runs this often. */
const SWEEP_TICK_MS = 1000;
/** The WebRTC swarms' sweep runs this often. */
const WEBRTC_SWEEP_MS = 10_000;

export interface TrackerHooks {
  /** Where the terminal line and one-off notices go (default console.log). */
  log?: (line: string) => void;
  /** Where problems go (a state file that cannot be read or written; default console.error). */
  warn?: (line: string) => void;
}

export async function startTracker(config: Config, hooks: TrackerHooks = {}): Promise<Tracker> {
  const log = hooks.log ?? ((line: string) => console.log(line));
  const warn = hooks.warn ?? ((line: string) => console.error(line));
  // The settings in force are the rules' (SIGHUP may change quiet); the start-up config until then.
  let settings: { config: Config } = { config };
  const info = (line: string) => {
    if (!settings.config.quiet) log(line);
  };
  // The swarms: in this process, or in Redis shared with other nodes (a Redis that does not
  // answer yet is not fatal: see store/redis/redis-link.ts).
  const store = await openStore(config, info, warn);
  const rules = new TrackerRules(config, store);
  settings = rules;
  rules.log = log;
  // The access list first: a list that does not load stops the start before anything runs.
  let access: AccessListKeeper;
  try {
    access = await startAccessListKeeper(() => rules.config, (mode, list) => rules.setAccess(mode, list), info, warn);
  } catch (e) {
    store.close();
    throw e;
  }
  let privateMode: PrivateKeeper | null = null;
  try {
    // Loaded only in private mode: it brings SQLite (bun:sqlite) with it.
    if (config.private) privateMode = (await import("./access/private-keeper.ts")).startPrivateKeeper(rules, info, warn);
  } catch (e) {
    access.stop();
    store.close();
    throw e;
  }
  // Swarms from the last run, before anyone can announce; then saved every state-interval.
  const state = startStateKeeper(rules, log, warn);
  // /stats, /metrics and (if configured) full scrape; `server` is read per request.
  const operator = createOperatorRoutes(rules, () => server, () => state?.status ?? null, () => access.status, () => privateMode?.status ?? null);
  // WebTorrent over WebSocket rides on the HTTP port (server/ws.ts).
  const ws = createWebSocketTracker(rules);
  const fetch = createHttpHandler(rules, { ...operator, webSocket: config.ws ? ws.upgrade : undefined });

  let server: HttpListener | null = null;
  let udp: UdpServer | null = null;
  const giveUp = (e: unknown, port: number, protocol: "tcp" | "udp"): unknown => {
    operator.close();
    state?.stop();
    access.stop();
    privateMode?.stop();
    store.close();
    return bindError(e, config.host, port, protocol);
  };
  // With port 0 the OS picks the TCP port; UDP must then bind the same number, which may be
  // taken on UDP by someone else: try a few times with a new TCP port.
  for (let attempt = 0; ; attempt++) {
    if (config.http) {
      // Paused while the process is out of file descriptors (see server/http-listener.ts).
      try {
      server = listenHttp(
        (port, reusePort) =>
          Bun.serve({
            hostname: config.host,
            port,
            reusePort,
            development: false,
            idleTimeout: config.httpIdleTimeout,
            // /dashboard and its files and event stream, tried before `fetch` (guarded inside).
            routes: operator.routes,
            fetch,
            websocket: ws.handler,
            error(e) {
              rules.counters[C.http500]!++;
              console.error("http: unexpected error", e);
              return new Response("internal error\n", { status: 500 });
            },
          }),
        config.port,
        { onPause: () => rules.counters[C.httpAcceptPauses]!++, log },
      );
      } catch (e) {
        throw giveUp(e, config.port, "tcp");
      }
    }
    if (!config.udp) break;
    const udpPort = server?.port ?? config.port;
    try {
      udp = await startUdpServer(rules, config.host, udpPort);
      break;
    } catch (e) {
      void server?.stop();
      if (config.port !== 0 || attempt >= 5) throw giveUp(e, udpPort, "udp");
    }
  }

  // ---- sweep: a slice every second; each slice is bounded work, so none holds the loop for
  // long. A slice cut short (many expired peers) is followed at once by another, after I/O.
  // Timer callbacks are guarded: an exception escaping one would end the process.
  let stopped = false;
  let sweepQueued = false;
  function sweep(): void {
    try {
      if (rules.store.sweepStep(nowSeconds()) && !sweepQueued) {
        sweepQueued = true;
        setImmediate(() => {
          sweepQueued = false;
          if (!stopped) sweep();
        });
      }
    } catch (e) {
      console.error("sweep: unexpected error", e);
    }
  }
  const sweepTimer = setInterval(sweep, SWEEP_TICK_MS);
  sweepTimer.unref();
  // The WebRTC swarms are small next to the store (one connection per peer): a whole pass
  // every WEBRTC_SWEEP_MS drops silent peers and unanswered offers.
  const webrtcTimer = setInterval(() => {
    try {
      rules.webrtc.sweep(nowSeconds());
    } catch (e) {
      console.error("webrtc sweep: unexpected error", e);
    }
  }, WEBRTC_SWEEP_MS);
  webrtcTimer.unref();

  // Nodes sharing a store make UDP connection ids with one secret (unless one is configured).
  const stopSharing = udp !== null && config.udpSecret === "" ? shareUdpSecret(store, udp, warn) : () => {};

  // ---- the load-driven interval and the terminal line ----
  const intervalStep = startIntervalStep(rules, log);

  const httpPort = server?.port ?? 0;
  const udpPort = udp?.port ?? 0;
  const where = config.host.includes(":") ? `[${config.host}]` : config.host;
  if (!config.quiet) {
    const fds = openFilesLimit();
    const served = [config.http ? "HTTP" : "", config.udp ? "UDP" : "", config.http && config.ws ? "WebSocket" : ""];
    log(
      `${versionLine()} listening on ${where}:${httpPort || udpPort} (${served.filter(Boolean).join(" + ")}), ` +
        `interval ${rules.interval} s${fds === null ? "" : `, up to ${fds} file descriptors`}`,
    );
    log(`announce URLs: ${announceUrls(config, httpPort || udpPort).join("  ")}`);
    intervalStep.printLine();
  }

  return {
    rules,
    state,
    access,
    private: privateMode,
    httpPort,
    udpPort,
    saveState: (reason) => state?.save(reason) ?? Promise.resolve(),
    reload(next) {
      const r = reloadConfig(rules.config, next);
      rules.config = r.config;
      // The interval moves within the new bounds from the next step; it must sit in them now.
      rules.interval = Math.min(r.config.intervalMax, Math.max(r.config.intervalMin, rules.interval));
      access.reload("SIGHUP");
      privateMode?.reload();
      return r;
    },
    async stop() {
      stopped = true;
      state?.stop();
      access.stop();
      privateMode?.stop(); // writes the accounting still pending
      clearInterval(sweepTimer);
      clearInterval(webrtcTimer);
      intervalStep.stop();
      operator.close();
      udp?.close();
      stopSharing();
      ws.closeAll();
      await server?.stop();
      store.close();
    },
  };
}

/** How often a node asks a shared store for the UDP secret until it gets it. */
const SECRET_RETRY_MS = 2000;

/**
 * With a shared store (store.sharedSecret): switch the UDP server to the secret every node
 * uses, as soon as the store gives it (until then ids are this node's own). Returns a stop.
 */
function shareUdpSecret(store: SwarmStore, udp: UdpServer, warn: (line: string) => void): () => void {
  if (store.sharedSecret === undefined) return () => {};
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let warned = false;
  const attempt = (): void => {
    store.sharedSecret!().then(
      (secret) => {
        if (!stopped) udp.useSecret(secret);
      },
      (e) => {
        if (stopped) return;
        if (!warned && !String(e).includes("not connected")) {
          warned = true;
          warn(`store: cannot read the shared UDP secret yet (${(e as Error)?.message ?? e}); trying again`);
        }
        timer = setTimeout(attempt, SECRET_RETRY_MS);
        timer.unref();
      },
    );
  };
  attempt();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
  };
}
