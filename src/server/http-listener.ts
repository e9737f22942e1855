/**
 * The HTTP listening socket, paused while the process is out of file descriptors.
 *
 * Every HTTP connection takes a descriptor. When none is left, accept() fails with EMFILE and
 * leaves the connection in the listen queue; uSockets (under Bun.serve) does not tell
 * JavaScript and tries again on the next loop turn, for ever: 100% of a core, measured here
 * (400 connections against a limit of 256), while nobody is served. Bun gives no hook into its
 * accept loop, so the listener watches the descriptors from outside:
 *
 * - Every PROBE_MS it opens PAUSE_MARGIN descriptors of /dev/null and closes them. When that
 *   fails (EMFILE/ENFILE), fewer than PAUSE_MARGIN are free: the listener is stopped with
 *   `stop(false)` (open connections keep being served; the queued ones are refused by the
 *   kernel, which is what an overloaded server should do) and the pause is counted.
 * - While paused, the same probe with RESUME_MARGIN (larger: hysteresis, so one freed
 *   descriptor does not flap the socket) tells when to listen again: a new Bun.serve on the same
 *   port with `reusePort: true` (the draining old server still holds connections on that port).
 *
 * Cost: 2 × PAUSE_MARGIN syscalls per probe, whatever the number of connections (counting
 * /proc/self/fd instead would cost a directory walk of every descriptor). The margin is also
 * what the rest of the process (state file, full scrape gzip, the log) keeps while paused. UDP
 * uses one socket opened at start and keeps answering throughout.
 */
import type { Server } from "bun";
import { closeSync, openSync } from "node:fs";

/** How often the descriptors are probed, ms: the longest the accept loop can spin unnoticed. */
export const PROBE_MS = 100;
/** Pause when fewer than this many descriptors are free. */
export const PAUSE_MARGIN = 32;
/** Listen again once this many are free. */
export const RESUME_MARGIN = 128;
/** A pause (and then its end) is logged at most this often (an attack can make them flap). */
const LOG_EVERY_MS = 10_000;

export interface HttpListenerEvents {
  /** Counted on each pause. */
  onPause(): void;
  /** One-off lines (rate-limited). */
  log(line: string): void;
}

/** What the stats pages read (see operator/stats/routes.ts ServerGauges). */
export interface HttpListener {
  /** The port it listens on (kept across pauses). */
  readonly port: number;
  /** HTTP requests in flight, on the listening server and on those still draining. */
  readonly pendingRequests: number;
  /** True while paused for lack of descriptors. */
  readonly acceptPaused: boolean;
  /**
   * Listen again now with a fresh server (the HTTPS listener's new certificate): a new
   * Bun.serve on the same port (reusePort), then the old one stops accepting and drains. No
   * moment without a listener; open connections finish on the old server. False (and the old
   * server kept) when the new one cannot listen.
   */
  relisten(): boolean;
  /** Stop listening and the probe; resolves when every in-flight request is answered. */
  stop(): Promise<void>;
}

/**
 * Start listening: `serve(port, reusePort)` makes the Bun server (called again, with the bound
 * port and reusePort true, for each resume). The probe runs only where /dev/null exists.
 */
export function listenHttp(
  serve: (port: number, reusePort: boolean) => Server<any>, port: number, events: HttpListenerEvents,
  opts: { reusePortFromStart?: boolean } = {},
): HttpListener {
  // relisten() binds a second socket while the first still listens: both need SO_REUSEPORT.
  let server: Server<any> | null = serve(port, opts.reusePortFromStart ?? false);
  const boundPort = server.port ?? port;
  /** Servers stopped by a pause whose connections are still open, with their stop promise. */
  const draining = new Map<Server<any>, Promise<void>>();
  let paused = false;
  let pausedAt = 0;
  let lastLog = -Infinity;
  let pausesSinceLog = 0;
  /** The current pause was logged: its end is logged too. */
  let pauseLogged = false;
  const held: number[] = [];

  /** True when n more descriptors could be opened now. */
  function free(n: number): boolean {
    let ok = true;
    try {
      for (let i = 0; i < n; i++) held.push(openSync("/dev/null", "r"));
    } catch {
      ok = false; // EMFILE/ENFILE, or /dev/null unusable: either way, not n free.
    }
    for (let i = 0; i < held.length; i++) closeSync(held[i]!);
    held.length = 0;
    return ok;
  }

  function pause(now: number): void {
    const s = server!;
    server = null;
    paused = true;
    pausedAt = now;
    events.onPause();
    pausesSinceLog++;
    draining.set(s, s.stop(false).then(() => void draining.delete(s)));
    if (now - lastLog >= LOG_EVERY_MS) {
      lastLog = now;
      pauseLogged = true;
      events.log(
        `http: out of file descriptors (fewer than ${PAUSE_MARGIN} free): not accepting connections until some close ` +
          `(${pausesSinceLog} pause${pausesSinceLog === 1 ? "" : "s"}; raise LimitNOFILE / --ulimit nofile)`,
      );
      pausesSinceLog = 0;
    }
  }

  function resume(now: number): void {
    try {
      server = serve(boundPort, true);
    } catch (e) {
      events.log(`http: cannot listen again on port ${boundPort}: ${(e as Error).message}`);
      return; // still paused: the next probe tries again
    }
    paused = false;
    if (pauseLogged) {
      pauseLogged = false;
      events.log(`http: accepting connections again after ${((now - pausedAt) / 1000).toFixed(1)} s`);
    }
  }

  // Where /dev/null cannot be opened (not Unix), there is nothing to probe with.
  const probe = !free(1) ? null : setInterval(() => {
    const now = performance.now();
    try {
      if (!paused) {
        if (!free(PAUSE_MARGIN)) pause(now);
      } else if (free(RESUME_MARGIN)) resume(now);
    } catch (e) {
      console.error("http listener: unexpected error", e);
    }
  }, PROBE_MS);
  probe?.unref();

  return {
    port: boundPort,
    get pendingRequests() {
      let n = server?.pendingRequests ?? 0;
      for (const s of draining.keys()) n += s.pendingRequests;
      return n;
    },
    get acceptPaused() {
      return paused;
    },
    relisten() {
      if (paused || server === null) return true; // the resume after the pause serves the new one
      let next: Server<any>;
      try {
        next = serve(boundPort, true);
      } catch (e) {
        events.log(`http: cannot listen again on port ${boundPort}: ${(e as Error).message}`);
        return false;
      }
      const old = server;
      server = next;
      draining.set(old, old.stop(false).then(() => void draining.delete(old)));
      return true;
    },
    async stop() {
      if (probe !== null) clearInterval(probe);
      const last = server;
      server = null;
      paused = false;
      await Promise.all([last?.stop(false), ...draining.values()]);
    },
  };
}
