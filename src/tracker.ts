/**
 * startTracker(config): wires the rooms together. The store (in memory, or Redis shared with
 * other nodes: store/open-store.ts) goes into the rules; the rules (with the WebRTC swarms)
 * serve the HTTP, UDP and WebSocket adapters on one port, and on --tls-port the same HTTP and
 * WebSocket handlers over TLS; the operator routes (/stats, /metrics, /dashboard) ride on the
 * HTTP adapter; the access keepers (list, private mode) and the TLS certificate pair load before
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
import type { CertPair } from "./server/tls-certs.ts";
import type { TlsKeeper } from "./server/tls-keeper.ts";
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
  /** The port HTTPS listens on (0 without --tls-port), and its certificate's keeper. */
  readonly tlsPort: number;
  readonly tls: TlsKeeper | null;
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
  // HTTPS (and wss://) on --tls-port: its certificate pair must load now, before anything listens
  // (else TlsStartError: main exits 2 naming the file); then kept current (tls-keeper.ts).
  let tls: TlsKeeper | null = null;
  let tlsWarnings: () => string[] = () => [];
  if (config.tlsPort !== 0) {
    try {
      // Loaded only here: it brings node:crypto (~4 MB) with it.
      const { TlsKeeper, tlsExpiryWarnings } = await import("./server/tls-keeper.ts");
      const keeper = new TlsKeeper(config.tlsCert, config.tlsKey, info, warn);
      tls = keeper;
      tlsWarnings = () => tlsExpiryWarnings(keeper.status());
    } catch (e) {
      state?.stop();
      access.stop();
      privateMode?.stop();
      store.close();
      throw e;
    }
  }
  const operator = createOperatorRoutes(rules, {
    server: () => server ?? tlsServer,
    state: () => state?.status ?? null,
    access: () => access.status,
    private: () => privateMode?.status ?? null,
    tls: () => tls?.status() ?? null,
  });
  // WebTorrent over WebSocket rides on the HTTP port (server/ws.ts).
  const ws = createWebSocketTracker(rules);
  const fetch = createHttpHandler(rules, { ...operator, webSocket: config.ws ? ws.upgrade : undefined });

  let server: HttpListener | null = null;
  let tlsServer: HttpListener | null = null;
  let udp: UdpServer | null = null;
  /**
   * Bun.serve's options, the same for HTTP and HTTPS: the same handlers, limits and timeouts;
   * HTTPS adds the certificate pair in force, TLS 1.2 at least.
   */
  const serveOptions = (port: number, reusePort: boolean, pair: CertPair | null) => ({
    hostname: config.host,
    port,
    reusePort,
    development: false,
    idleTimeout: config.httpIdleTimeout,
    ...(pair === null ? {} : { tls: { cert: pair.cert, key: pair.key, secureOptions: TLS_1_2_AT_LEAST } }),
    // /dashboard and its files and event stream, tried before `fetch` (guarded inside).
    routes: operator.routes,
    fetch,
    websocket: ws.handler,
    error(e: Error) {
      rules.counters[C.http500]!++;
      console.error("http: unexpected error", e);
      return new Response("internal error\n", { status: 500 });
    },
  });
  const listenerEvents = { onPause: () => rules.counters[C.httpAcceptPauses]!++, log };
  const giveUp = (e: unknown, port: number, protocol: "tcp" | "udp"): unknown => {
    tls?.stop();
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
        server = listenHttp((port, reusePort) => Bun.serve(serveOptions(port, reusePort, null)), config.port, listenerEvents);
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
  if (tls !== null) {
    const keeper = tls;
    // Both listening sockets of a certificate change share the port for a moment (relisten):
    // SO_REUSEPORT from the start.
    try {
      tlsServer = listenHttp(
        (port, reusePort) => Bun.serve(serveOptions(port, reusePort, keeper.pair)), config.tlsPort, listenerEvents,
        { reusePortFromStart: true },
      );
    } catch (e) {
      udp?.close();
      void server?.stop();
      throw giveUp(e, config.tlsPort, "tcp");
    }
    // A new pair serves every new connection at once; open ones finish on the old one.
    keeper.onChange = () => void tlsServer?.relisten();
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
  const intervalStep = startIntervalStep(rules, log, tlsWarnings);

  const httpPort = server?.port ?? 0;
  const udpPort = udp?.port ?? 0;
  const tlsPort = tlsServer?.port ?? 0;
  const where = config.host.includes(":") ? `[${config.host}]` : config.host;
  if (!config.quiet) {
    const fds = openFilesLimit();
    const served = [config.http ? "HTTP" : "", config.udp ? "UDP" : "", config.http && config.ws ? "WebSocket" : ""];
    const https = tls === null ? "" : `, HTTPS + WebSocket on ${where}:${tlsPort}/tcp (${tls.pair.subject}, ` +
      `valid until ${tls.pair.notAfter.toISOString().slice(0, 10)})`;
    log(
      `${versionLine()} listening on ${where}:${httpPort || udpPort} (${served.filter(Boolean).join(" + ")})${https}, ` +
        `interval ${rules.interval} s${fds === null ? "" : `, up to ${fds} file descriptors`}`,
    );
    log(`announce URLs: ${announceUrls(config, httpPort || udpPort, tlsPort).join("  ")}`);
    intervalStep.printLine();
  }

  return {
    rules,
    state,
    access,
    private: privateMode,
    httpPort,
    udpPort,
    tlsPort,
    tls,
    saveState: (reason) => state?.save(reason) ?? Promise.resolve(),
    reload(next) {
      const r = reloadConfig(rules.config, next);
      rules.config = r.config;
      // The interval moves within the new bounds from the next step; it must sit in them now.
      rules.interval = Math.min(r.config.intervalMax, Math.max(r.config.intervalMin, rules.interval));
      access.reload("SIGHUP");
      privateMode?.reload();
      tls?.reload("SIGHUP");
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
      tls?.stop();
      await Promise.all([server?.stop(), tlsServer?.stop()]);
      store.close();
    },
  };
}

/** TLS 1.2 at least (SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1; Bun's default refuses them too, said here on purpose). */
const TLS_1_2_AT_LEAST = 0x04000000 | 0x10000000;

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
