/**
 * One connection to Redis/Valkey, kept up: Bun's RedisClient with the supervision a tracker
 * needs around it.
 *
 * - Requests are pipelined on the one connection (Bun writes every request issued in the same
 *   turn in one batch and matches replies in order; bench/redis/ measures it).
 * - Fail fast while down: no offline queue, so a request made while Redis is unreachable
 *   rejects at once and the announce gets a failure reason with `retry in` instead of waiting.
 * - Reconnect on our own, every RECONNECT_MS, whatever happened (refused at start, the server
 *   restarted, the watchdog below cut it): Bun's own retries give up after a count.
 * - Watchdog: requests in flight and no reply for STALL_MS (a stopped or wedged server, a
 *   network that drops packets) closes the connection, which rejects what waits, and the
 *   reconnect loop takes over. At most MAX_IN_FLIGHT requests wait at once; past that new ones
 *   are refused, so a slow Redis costs bounded memory.
 * - Scripts go by EVALSHA; a NOSCRIPT (a restarted or flushed server) loads the script and
 *   retries once.
 */
import { RedisClient } from "bun";

const RECONNECT_MS = 1000;
const STALL_MS = 3000;
const CONNECT_TIMEOUT_MS = 2000;
export const MAX_IN_FLIGHT = 50_000;
/** Round trips kept for the median shown in /stats. */
const RTT_SAMPLES = 128;
/** Log an error reply at most this often. */
const ERROR_LOG_MS = 10_000;

/** The URL as it may be shown: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(a Redis URL)";
  }
}

export class RedisLink {
  /** The URL without its password. */
  readonly where: string;
  up = false;
  disconnects = 0;
  /**
   * Scripts loaded (SCRIPT LOAD) on every connection before requests flow: otherwise every
   * request in flight at the first use meets NOSCRIPT and loads it again.
   */
  readonly scripts: string[] = [];

  private client: RedisClient | null = null;
  /** The subscriber connection (pub/sub needs one of its own), while there are subscriptions. */
  private sub: RedisClient | null = null;
  private readonly subscriptions = new Map<string, (message: string) => void>();
  private connecting = false;
  private closed = false;
  private downSince = 0;
  private inFlight = 0;
  private lastReplyAt = 0;
  private readonly rtt = new Float64Array(RTT_SAMPLES);
  private rttCount = 0;
  private lastErrorLog = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  private firstAttempt = true;

  constructor(
    private readonly url: string,
    private readonly log: (line: string) => void,
    private readonly warn: (line: string) => void,
  ) {
    this.where = redactUrl(url);
    this.timer = setInterval(() => this.tick(), RECONNECT_MS);
    this.timer.unref();
  }

  /** The first connection attempt: resolves true when connected, false when not (it keeps trying). */
  start(): Promise<boolean> {
    return this.connect();
  }

  private tick(): void {
    if (this.closed) return;
    if (!this.up) {
      if (!this.connecting) void this.connect();
      return;
    }
    if (this.inFlight > 0 && performance.now() - this.lastReplyAt > STALL_MS) {
      this.warn(`store: ${this.where} has not answered for ${STALL_MS / 1000} s with ${this.inFlight} requests waiting; reconnecting`);
      this.client?.close(); // rejects what waits; onclose marks the link down
    }
  }

  private async connect(): Promise<boolean> {
    this.connecting = true;
    const client = new RedisClient(this.url, {
      enableOfflineQueue: false,
      autoReconnect: false,
      connectionTimeout: CONNECT_TIMEOUT_MS,
    });
    let sub: RedisClient | null = null;
    try {
      await client.connect();
      for (const script of this.scripts) await client.send("SCRIPT", ["LOAD", script]);
      if (this.subscriptions.size > 0) {
        sub = new RedisClient(this.url, { enableOfflineQueue: false, autoReconnect: false, connectionTimeout: CONNECT_TIMEOUT_MS });
        await sub.connect();
        for (const [channel, listener] of this.subscriptions) await sub.subscribe(channel, listener);
      }
      if (this.closed) {
        client.close();
        sub?.close();
        return false;
      }
      client.onclose = (error) => this.lost(client, error);
      if (sub !== null) {
        const s = sub;
        s.onclose = (error) => this.lost(s, error);
      }
      this.client = client;
      this.sub = sub;
      this.inFlight = 0;
      this.up = true;
      if (this.firstAttempt) this.log(`store: ${this.where} (Redis) connected`);
      else this.log(`store: ${this.where} answers again (down ${Math.round((Date.now() - this.downSince) / 1000)} s)`);
      this.firstAttempt = false;
      return true;
    } catch (e) {
      client.close();
      sub?.close();
      if (this.firstAttempt) {
        this.warn(
          `store: cannot reach ${this.where} (${errorText(e)}): announces and scrapes get a failure reason ` +
            `until it answers; trying again every ${RECONNECT_MS / 1000} s`,
        );
        this.firstAttempt = false;
        this.downSince = Date.now();
      }
      return false;
    } finally {
      this.connecting = false;
    }
  }

  /**
   * Receive what is published on `channel` (on a connection of its own, opened again after every
   * reconnection). Takes effect at the next connection when already up.
   */
  subscribe(channel: string, listener: (message: string) => void): void {
    this.subscriptions.set(channel, listener);
    // Already connected without a subscriber: reconnect so the next connection opens one.
    if (this.up && this.sub === null) this.client?.close();
  }

  private lost(client: RedisClient, error: Error): void {
    if (client !== this.client && client !== this.sub) return;
    // Either connection lost: both go, and the reconnect loop opens both again.
    const other = client === this.client ? this.sub : this.client;
    this.client = null;
    this.sub = null;
    this.up = false;
    other?.close();
    if (this.closed) return;
    this.disconnects++;
    this.downSince = Date.now();
    this.warn(`store: lost ${this.where} (${errorText(error)}); reconnecting every ${RECONNECT_MS / 1000} s`);
  }

  /** Whether a request may be sent now (up, and not too many waiting). */
  ready(): boolean {
    return this.up && this.inFlight < MAX_IN_FLIGHT;
  }

  /**
   * Run a script by its SHA (`args` = [sha, numkeys, ...keys, ...argv]); on NOSCRIPT, load it
   * and run it again. Rejects when down or on an error reply (logged, at most every 10 s).
   */
  evalsha(script: string, args: string[]): Promise<any> {
    const client = this.client;
    if (client === null || !this.up) return Promise.reject(DOWN);
    const t0 = performance.now();
    if (this.inFlight++ === 0) this.lastReplyAt = t0;
    return client.send("EVALSHA", args).then(
      (reply) => this.replied(client, t0, reply),
      (e) => {
        if (client === this.client) this.inFlight--;
        if (String((e as Error)?.message).includes("NOSCRIPT")) return this.loadAndRun(client, script, args);
        throw this.failed(e);
      },
    );
  }

  /** A reply arrived: bookkeeping (requests of a connection since replaced are not counted). */
  private replied<T>(client: RedisClient, t0: number, reply: T): T {
    if (client !== this.client) return reply;
    this.inFlight--;
    const now = performance.now();
    this.lastReplyAt = now;
    this.rtt[this.rttCount++ % RTT_SAMPLES] = now - t0;
    return reply;
  }

  private async loadAndRun(client: RedisClient, script: string, args: string[]): Promise<any> {
    try {
      await client.send("SCRIPT", ["LOAD", script]);
      const t0 = performance.now();
      if (client === this.client) this.inFlight++;
      return this.replied(client, t0, await client.send("EVALSHA", args));
    } catch (e) {
      throw this.failed(e);
    }
  }

  private failed(e: unknown): unknown {
    const now = Date.now();
    if (this.up && now - this.lastErrorLog > ERROR_LOG_MS) {
      this.lastErrorLog = now;
      this.warn(`store: ${this.where} answered an error: ${errorText(e)}`);
    }
    return e;
  }

  /** Any command (start-up and operator use, not per request). */
  send(command: string, args: string[]): Promise<any> {
    if (this.client === null || !this.up) return Promise.reject(DOWN);
    return this.client.send(command, args);
  }

  /** Median round trip of the recent requests, milliseconds (0 before any). */
  medianRttMs(): number {
    const n = Math.min(this.rttCount, RTT_SAMPLES);
    if (n === 0) return 0;
    const sorted = Array.from(this.rtt.subarray(0, n)).sort((a, b) => a - b);
    return sorted[n >> 1]!;
  }

  close(): void {
    this.closed = true;
    this.up = false;
    clearInterval(this.timer);
    const c = this.client;
    const sub = this.sub;
    this.client = null;
    this.sub = null;
    c?.close();
    sub?.close();
  }
}

const DOWN = new Error("redis: not connected");

function errorText(e: unknown): string {
  const m = (e as Error)?.message ?? String(e);
  return m.length > 200 ? `${m.slice(0, 200)}...` : m;
}
