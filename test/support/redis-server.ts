/**
 * Test support: a real redis-server of the test's own, on a free loopback port, persistence
 * off, stopped after. No binary is a failure that says what to install, never a skip: the
 * Redis store is tested against the real server or not at all (.ci/run installs it).
 */
import type { Subprocess } from "bun";
import { RedisClient } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { freePort } from "./ports.ts";

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** A client of the test's own (for FLUSHALL, reading keys). */
  client(): Promise<RedisClient>;
  /** Whether it runs now (not killed). */
  running(): boolean;
  /** Stop it answering without closing anything (SIGSTOP), and let it go on (SIGCONT). */
  pause(): void;
  resume(): void;
  /** Kill it (SIGKILL: a crash, not a clean shutdown). */
  kill(): Promise<void>;
  /** Start it again on the same port (empty: persistence is off). */
  restart(): Promise<void>;
  /** Stop it for good and remove its directory. */
  stop(): Promise<void>;
}

export function redisServerPath(): string {
  const path = Bun.which("redis-server");
  if (path === null) {
    throw new Error(
      "redis-server not found on PATH: the Redis store's tests need a real server " +
        "(Debian: apt-get install -y redis-server; .ci/run installs it)",
    );
  }
  return path;
}

/** Start a redis-server on a free 127.0.0.1 port and wait (bounded) until it answers PING. */
export async function startRedis(): Promise<TestRedis> {
  const binary = redisServerPath();
  const port = await freePort();
  const dir = mkdtempSync(`${tmpdir()}/sc6-redis-`);
  let proc: Subprocess | null = null;
  const clients: RedisClient[] = [];

  async function launch(): Promise<void> {
    proc = Bun.spawn(
      [binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"],
      { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
    );
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited at start (code ${proc.exitCode})`);
      const c = new RedisClient(`redis://127.0.0.1:${port}`, { autoReconnect: false, connectionTimeout: 500 });
      try {
        await c.connect();
        await c.send("PING", []);
        c.close();
        return;
      } catch {
        c.close();
        await Bun.sleep(25);
      }
    }
    throw new Error(`redis-server on port ${port} did not answer within ~5 s`);
  }

  async function kill(): Promise<void> {
    const p = proc;
    proc = null;
    if (p === null || p.exitCode !== null) return;
    p.kill("SIGKILL");
    p.kill("SIGCONT"); // a paused one too
    await p.exited;
  }

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async client() {
      const c = new RedisClient(`redis://127.0.0.1:${port}`, { autoReconnect: false });
      await c.connect();
      clients.push(c);
      return c;
    },
    running: () => proc !== null && proc.exitCode === null,
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
    kill,
    restart: launch,
    async stop() {
      for (const c of clients.splice(0)) c.close();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
