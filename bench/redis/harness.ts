/**
 * What the Redis benchmarks (compare.ts, large-swarm.ts) share: a private redis-server, tracker
 * nodes, the load generator in its own process, CPU time from /proc, and cleanup.
 *
 * Everything runs on 127.0.0.1. Every process started here is remembered and stopped by
 * stopEverything() (SIGTERM, then SIGKILL after 3 s), which the scripts call in `finally` and
 * on SIGINT/SIGTERM (installCleanup). Every wait is bounded in time.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RedisClient } from "bun";
import { readCpuSeconds } from "../compare/servers.ts";
import { median as medianOfAll, table } from "../compare/stats.ts";
import type { LoadResult } from "../load/result.ts";
import { stopProcess } from "../process-stop.ts";

/** The repository root (this file is bench/redis/harness.ts). */
export const REPO_ROOT = resolve(import.meta.dir, "..", "..");

export { freePort } from "../../test/support/ports.ts";

/** The median of the finite values (NaN, ±Infinity left out); NaN if there are none. */
export function median(values: readonly number[]): number {
  return medianOfAll(values.filter((x) => Number.isFinite(x)));
}

/** For each key, median() of that field over the rows (the keys in the order given). */
export function medians<K extends string, T extends Record<K, number>>(rows: readonly T[], keys: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = median(rows.map((r) => r[k]));
  return out;
}

export { table };

export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc; null once it is gone. */
export { readCpuSeconds };

/** A temp directory for logs, removed by remove(). */
export function makeWorkDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: Bun.Subprocess;
  readonly log: string;
  /** SIGTERM, then SIGKILL after 3 s; idempotent. */
  stop(): Promise<void>;
}

const children = new Set<Child>();
const loadProcs = new Set<Bun.Subprocess>();

function track(name: string, proc: Bun.Subprocess, log: string): Child {
  let stopping: Promise<void> | null = null;
  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    log,
    stop() {
      stopping ??= (async () => {
        await stopProcess(proc, 3000, 3000);
        children.delete(child);
      })();
      return stopping;
    },
  };
  children.add(child);
  return child;
}

/** Stops every load generator and every child still running. */
export async function stopEverything(): Promise<void> {
  for (const p of loadProcs) p.kill("SIGKILL");
  // Trackers first, Redis last (a tracker losing Redis only logs, but keep the logs clean).
  const all = [...children];
  await Promise.all(all.filter((c) => !c.name.startsWith("redis")).map((c) => c.stop()));
  await Promise.all(all.filter((c) => c.name.startsWith("redis")).map((c) => c.stop()));
}

/** Runs a script's main(): exit 0 when it is done; on an error, print it, stop everything, exit 1. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    async (e) => {
      console.error(e instanceof Error ? e.message : e);
      await stopEverything();
      process.exit(1);
    },
  );
}

/**
 * On SIGINT/SIGTERM: stop everything, run `atExit` (remove the work dir), exit 130. Also on an
 * uncaught error (then exit 1).
 */
export function installCleanup(atExit: () => void): void {
  let leaving = false;
  const leave = (why: string, code: number): void => {
    if (leaving) return;
    leaving = true;
    console.error(`\n${why}: stopping everything`);
    void stopEverything().finally(() => {
      atExit();
      process.exit(code);
    });
  };
  process.on("SIGINT", () => leave("SIGINT", 130));
  process.on("SIGTERM", () => leave("SIGTERM", 130));
  process.on("uncaughtException", (e) => {
    console.error(e);
    leave("uncaught error", 1);
  });
  process.on("unhandledRejection", (e) => {
    console.error(e);
    leave("unhandled rejection", 1);
  });
}

async function waitUntil(what: string, timeoutMs: number, proc: Bun.Subprocess, log: string, ok: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const text = await Bun.file(log).text().catch(() => "");
      throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${text.slice(-2000)}`);
    }
    if (await ok().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms`);
}

// ---------------------------------------------------------------------------------------------
// Redis

export interface RedisServer extends Child {
  readonly port: number;
  readonly url: string;
  /** One command on a short-lived connection (bounded to 10 s). */
  command(cmd: string, args?: string[]): Promise<unknown>;
}

/** The version line of redis-server, or null when it is not installed. */
export function redisServerPath(): string | null {
  return Bun.which("redis-server") ?? Bun.which("valkey-server");
}

/**
 * Starts redis-server on 127.0.0.1:port with no persistence (`--save '' --appendonly no`), its
 * files in workDir; resolves once it answers PING.
 */
export async function startRedis(port: number, workDir: string): Promise<RedisServer> {
  const bin = redisServerPath();
  if (bin === null) throw new Error("redis-server (or valkey-server) is not installed");
  const log = join(workDir, `redis-${port}.log`);
  const proc = Bun.spawn(
    [
      bin, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--daemonize", "no", "--dir", workDir, "--protected-mode", "yes",
    ],
    { cwd: workDir, stdin: "ignore", stdout: Bun.file(log), stderr: Bun.file(log) },
  );
  const child = track(`redis:${port}`, proc, log);
  const url = `redis://127.0.0.1:${port}`;
  const command = async (cmd: string, args: string[] = []): Promise<unknown> => {
    const client = new RedisClient(url, { connectionTimeout: 2000, autoReconnect: false, enableOfflineQueue: false });
    try {
      await withTimeout(client.connect(), 5000, `connecting to ${url}`);
      return await withTimeout(client.send(cmd, args), 10_000, `${cmd} on ${url}`);
    } finally {
      client.close();
    }
  };
  const server: RedisServer = Object.assign(child, { port, url, command });
  try {
    await waitUntil("redis-server", 10_000, proc, log, async () => (await command("PING")) === "PONG");
  } catch (e) {
    await child.stop();
    throw e;
  }
  return server;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `INFO commandstats` parsed: command name -> { calls, usec, usecPerCall }. */
export function parseCommandStats(info: string): Map<string, { calls: number; usec: number; usecPerCall: number }> {
  const out = new Map<string, { calls: number; usec: number; usecPerCall: number }>();
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):(.*)$/.exec(line);
    if (!m) continue;
    const fields = new Map(m[2]!.split(",").map((kv) => kv.split("=") as [string, string]));
    out.set(m[1]!, {
      calls: Number(fields.get("calls") ?? NaN),
      usec: Number(fields.get("usec") ?? NaN),
      usecPerCall: Number(fields.get("usec_per_call") ?? NaN),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tracker nodes

export interface TrackerNode extends Child {
  readonly port: number;
}

/**
 * Starts `bun run src/main.ts PORT --host 127.0.0.1 --quiet --announces-per-minute 0 ...extra`
 * (process.execPath directly, so the pid is the tracker's own, not a wrapper's) and waits until
 * `GET /` answers.
 */
export async function startTracker(
  port: number, workDir: string, extra: string[], readyTimeoutMs = 30_000, cpuCap = 0,
): Promise<TrackerNode> {
  const log = join(workDir, `tracker-${port}.log`);
  const proc = Bun.spawn(
    [process.execPath, "run", "src/main.ts", String(port), "--host", "127.0.0.1", "--quiet", "--announces-per-minute", "0", ...extra],
    {
      cwd: REPO_ROOT,
      stdin: "ignore",
      stdout: Bun.file(log),
      stderr: Bun.file(log),
      env: { ...process.env, NODE_ENV: "production" },
    },
  );
  const child = track(`tracker:${port}`, proc, log);
  if (cpuCap > 0) {
    // Before it serves: the node's whole life runs under the quota.
    const release = capCpu(proc.pid, cpuCap);
    void proc.exited.then(release);
  }
  const node: TrackerNode = Object.assign(child, { port });
  try {
    await waitUntil(`tracker on ${port}`, readyTimeoutMs, proc, log, async () => {
      const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      return r.ok;
    });
  } catch (e) {
    await child.stop();
    throw e;
  }
  return node;
}

/** The cgroup v1 cpu controller's mount, where --node-cpu makes a group per node. */
const CPU_CGROUP = "/sys/fs/cgroup/cpu";

/** Whether a node's CPU can be capped here (cgroup v1 cpu controller, writable: root). */
export function cpuCapAvailable(): string | null {
  const probe = `${CPU_CGROUP}/sc6-bench-probe-${process.pid}`;
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return null;
  } catch (e) {
    return `cannot make a cgroup under ${CPU_CGROUP} (${(e as Error).message}): --node-cpu needs the cgroup v1 cpu controller and root`;
  }
}

/**
 * Put process `pid` (all its threads) under a CFS quota of `cores` CPUs: a node with a fixed
 * CPU budget, as a node on a machine of its own has, whatever else this machine runs. Returns
 * the clean-up (the group is removed once the process is gone).
 */
export function capCpu(pid: number, cores: number): () => void {
  const dir = `${CPU_CGROUP}/sc6-bench-${pid}`;
  mkdirSync(dir);
  writeFileSync(`${dir}/cpu.cfs_period_us`, "100000");
  writeFileSync(`${dir}/cpu.cfs_quota_us`, String(Math.round(cores * 100_000)));
  writeFileSync(`${dir}/cgroup.procs`, String(pid));
  return () => {
    try {
      rmdirSync(dir);
    } catch {
      // still has tasks (should not happen after exit): left for the operator to see
    }
  };
}

/** What /stats says about failures, for the report (null when it does not answer). */
export interface TrackerHealth {
  httpFailures: number;
  http5xx: number;
  udpErrorsSent: number;
  storeUnavailable: number;
  storeDisconnects: number;
  refusedStoreUnavailable: number;
}

export async function trackerHealth(port: number): Promise<TrackerHealth | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/stats?format=json`, { signal: AbortSignal.timeout(3000) });
    const s = (await r.json()) as any;
    return {
      httpFailures: s.http?.failures ?? NaN,
      http5xx: (s.http?.responses?.["500"] ?? 0) + (s.http?.responses?.["503"] ?? 0),
      udpErrorsSent: s.udp?.errorsSent ?? NaN,
      storeUnavailable: s.store?.unavailable ?? 0,
      storeDisconnects: s.store?.disconnects ?? 0,
      refusedStoreUnavailable: s.counters?.refusedStoreUnavailable ?? 0,
    };
  } catch {
    return null;
  }
}

/** The tracker's log (empty with --quiet unless something went wrong). */
export async function logText(child: Child): Promise<string> {
  return (await Bun.file(child.log).text().catch(() => "")).trim();
}

// ---------------------------------------------------------------------------------------------
// The load generator

export interface LoadRun {
  result: LoadResult;
  /** performance.now() when its JSON arrived: the end of its measured window (to ~ms). */
  endedAt: number;
  /** performance.now() of the start of its measured window: endedAt - result.seconds. */
  startedAt: number;
  /** CPU seconds the load generator used in all (warm-up included). */
  cpuSeconds: number;
}

/**
 * Runs `bun run bench/load/main.ts --target 127.0.0.1:PORT ...args --json` in its own process;
 * killed if it runs longer than its own time plus 60 s.
 */
export async function runLoad(port: number, args: string[], maxSeconds: number, onSpawn?: (pid: number) => void): Promise<LoadRun> {
  const proc = Bun.spawn(
    [process.execPath, "run", join(REPO_ROOT, "bench/load/main.ts"), "--target", `127.0.0.1:${port}`, ...args, "--json"],
    { cwd: REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  loadProcs.add(proc);
  onSpawn?.(proc.pid);
  const killer = setTimeout(() => proc.kill("SIGKILL"), (maxSeconds + 60) * 1000);
  try {
    let endedAt = NaN;
    let out = "";
    const readOut = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
        if (!Number.isFinite(endedAt)) endedAt = performance.now();
        out += decoder.decode(chunk, { stream: true });
      }
    })();
    const [, err, code] = await Promise.all([readOut, new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new Error(`load generator exited ${code}: ${err.slice(-1000)}`);
    const line = out.trim().split("\n").pop() ?? "";
    const result = JSON.parse(line) as LoadResult;
    const usage = proc.resourceUsage();
    const cpuSeconds = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : NaN;
    return { result, endedAt, startedAt: endedAt - result.seconds * 1000, cpuSeconds };
  } finally {
    clearTimeout(killer);
    loadProcs.delete(proc);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU over a window known only afterwards

/** Busy CPU seconds of the whole machine so far (all CPUs, /proc/stat: all but idle and iowait). */
export function readMachineBusySeconds(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0);
    return busy / 100;
  } catch {
    return null;
  }
}

/**
 * Samples the CPU time of some processes (and of the whole machine) every `everyMs` until
 * stopped; cpuBetween() then interpolates each one's CPU seconds between two performance.now()
 * instants (the load generator's measured window, known only when its result arrives).
 * A process that has exited keeps its last reading.
 */
export class CpuSampler {
  /** Index of the whole machine's busy time in cpuBetween(). */
  static readonly MACHINE = -1;
  private readonly pids: number[];
  private readonly samples: { t: number; cpu: (number | null)[]; machine: number | null }[] = [];
  private readonly last: (number | null)[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(pids: readonly number[], everyMs = 50) {
    this.pids = [...pids];
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  /** Starts sampling one more process; returns its index for cpuBetween(). */
  add(pid: number): number {
    this.pids.push(pid);
    this.sample();
    return this.pids.length - 1;
  }

  private sample(): void {
    const cpu = this.pids.map((pid, i) => {
      const v = readCpuSeconds(pid) ?? this.last[i] ?? null;
      this.last[i] = v;
      return v;
    });
    this.samples.push({ t: performance.now(), cpu, machine: readMachineBusySeconds() });
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  /**
   * CPU seconds process i (CpuSampler.MACHINE: the whole machine) used in [from, to],
   * interpolated between samples; NaN if unknown.
   */
  cpuBetween(i: number, from: number, to: number): number {
    const value = (x: { cpu: (number | null)[]; machine: number | null }): number | null =>
      i === CpuSampler.MACHINE ? x.machine : (x.cpu[i] ?? null);
    const at = (t: number): number => {
      const s = this.samples;
      if (s.length === 0 || t < s[0]!.t || t > s[s.length - 1]!.t) return NaN;
      let k = 1;
      while (k < s.length - 1 && s[k]!.t < t) k++;
      const a = s[k - 1]!;
      const b = s[k]!;
      const ca = value(a);
      const cb = value(b);
      if (ca === null || cb === null) return NaN;
      if (b.t === a.t) return ca;
      return ca + ((cb - ca) * (t - a.t)) / (b.t - a.t);
    };
    return at(to) - at(from);
  }
}
