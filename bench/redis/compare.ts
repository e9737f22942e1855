/**
 * The in-memory store against the Redis store, one node and two, under the same load.
 *
 *   npx bun run bench/redis/compare.ts [--rounds 3] [--seconds 5] [--mode http-keepalive|udp]
 *                                      [--connections 256] [--window 128] [--json]
 *
 * Starts its own redis-server (free port, 127.0.0.1, `--save '' --appendonly no`), then, in
 * every round, each variant in turn (the order rotates from round to round so drift on a shared
 * machine favours none):
 *
 *   memory    one tracker node, --store memory
 *   redis-1   one tracker node, --store redis://127.0.0.1:PORT
 *   redis-2   two tracker nodes on that Redis; two load generators in parallel, one per node,
 *             each with half the connections (udp: half the window); responses/s summed
 *
 * Redis is flushed (FLUSHALL) before each variant; trackers are started fresh for it and stopped
 * after it (SIGTERM, SIGKILL after 3 s). The load generator (bench/load/main.ts) runs in its own
 * process. CPU time (utime + stime from /proc/PID/stat) of every tracker and of redis-server is
 * sampled every 50 ms and interpolated over the load generator's measured window (which ends
 * when its result arrives and lasts result.seconds).
 *
 * Both load generators of redis-2 use the same seed, so they simulate the same clients (same
 * ports, same torrents): the swarms are as big as with one node, and each peer is announced
 * through both nodes. (The generator has no option to shift its ports.)
 *
 * Summary: per variant the median over rounds of responses/s and CPU, and the median of the
 * per-round ratios to memory (each ratio against the memory run of the same round).
 */
import { parseLoadArgs } from "../load/options.ts";
import { parseBenchArgs, usageError, type CommonOptions } from "./args.ts";
import {
  cpuCapAvailable, CpuSampler, fmt, freePort, installCleanup, logText, makeWorkDir, median, medians, runLoad, runMain, startRedis, startTracker,
  stopEverything, table, trackerHealth, type LoadRun, type RedisServer, type TrackerHealth, type TrackerNode,
} from "./harness.ts";

type Variant = "memory" | "redis-1" | "redis-2";
const VARIANTS: Variant[] = ["memory", "redis-1", "redis-2"];

const USAGE = `Usage: npx bun run bench/redis/compare.ts [options]

  --rounds N        rounds; each runs every variant once, order rotating   (default 3)
  --seconds S       measured seconds per run                                (default 5)
  --warmup S        unmeasured warm-up before it                           (default 1)
  --mode M          http-keepalive | http-close | udp                      (default http-keepalive)
  --connections C   http: connections in all (redis-2: C/2 per node)       (default 256)
  --window W        udp: requests in flight in all (redis-2: W/2 per node) (default 128)
  --torrents N      torrents of the load                                   (default 10000)
  --clients M       simulated clients of the load                          (default 2000)
  --variants LIST   comma-separated subset of ${VARIANTS.join(",")}        (default all)
  --max-minutes M   stop starting runs after this long                     (default 20)
  --node-cpu F      cap each tracker node at F CPUs (cgroup v1 cpu quota; root): a node with
                    a fixed budget, as on a machine of its own; Redis and the load are not
                    capped (default 0: no cap)
  --json            print one JSON object on stdout (the tables go to stderr)
`;

interface Options extends CommonOptions {
  nodeCpu: number;
  torrents: number;
  clients: number;
  variants: Variant[];
  maxMinutes: number;
}

function parseArgs(argv: string[]): Options {
  return parseBenchArgs<Options>(argv, {
    usage: USAGE,
    defaults: {
      rounds: 3, seconds: 5, warmup: 1, mode: "http-keepalive", connections: 256, window: 128, torrents: 10_000,
      clients: 2_000, variants: [...VARIANTS], maxMinutes: 20, nodeCpu: 0, json: false,
    },
    connections: [2, 10_000],
    window: [2, 65_536],
    own(flag, value, o, { num, fail }) {
      switch (flag) {
        case "--torrents": o.torrents = num(flag, value, 1, 10_000_000); return true;
        case "--clients": o.clients = num(flag, value, 1, 1_000_000); return true;
        case "--max-minutes": o.maxMinutes = num(flag, value, 1, 600, false); return true;
        case "--node-cpu": o.nodeCpu = num(flag, value, 0.05, 64, false); return true;
        case "--variants": {
          const list = (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
          if (list.length === 0 || list.some((v) => !VARIANTS.includes(v as Variant))) fail(`--variants: a subset of ${VARIANTS.join(",")}`);
          o.variants = VARIANTS.filter((v) => list.includes(v));
          return true;
        }
        default:
          return false;
      }
    },
  });
}

/** The load generator's arguments for one node carrying `share` of the load (1 or 1/2). */
function loadArgs(o: Options, share: number): string[] {
  const args = [
    "--mode", o.mode, "--seconds", String(o.seconds), "--warmup", String(o.warmup),
    "--torrents", String(o.torrents), "--clients", String(o.clients),
  ];
  if (o.mode === "udp") args.push("--window", String(Math.max(1, Math.round(o.window * share))));
  else args.push("--connections", String(Math.max(1, Math.round(o.connections * share))));
  const check = parseLoadArgs(["--target", "127.0.0.1:1", ...args]);
  if (!check.ok) usageError(USAGE, `load generator arguments: ${check.error}`);
  return args;
}

interface RunRecord {
  round: number;
  variant: Variant;
  /** Order within the round (1-based). */
  position: number;
  responsesPerSecond: number;
  /** Of each load generator (one, or one per node). */
  perNodeResponsesPerSecond: number[];
  responses: number;
  /** The measured window CPU was read over (from the first start to the last end), seconds. */
  windowSeconds: number;
  /** CPU seconds of each tracker node during the window. */
  trackerCpuSeconds: number[];
  redisCpuSeconds: number;
  /** Cores busy: CPU seconds / window seconds. */
  trackerCores: number;
  redisCores: number;
  /** Cores used by the load generator(s) during the window. */
  loadGeneratorCores: number;
  /**
   * Cores used by everything else on the machine during the window (the whole machine's busy
   * time from /proc/stat minus trackers, redis and load): the noise other work added.
   */
  otherCores: number;
  /** CPU microseconds per response: all tracker nodes together, and redis-server. */
  trackerUsPerResponse: number;
  redisUsPerResponse: number;
  loadGeneratorCpuSeconds: number[];
  latencyP50Us: number[];
  latencyP99Us: number[];
  invalid: number;
  trackerErrors: number;
  lost: number;
  peersPerAnnounce: number;
  health: (TrackerHealth | null)[];
  trackerLogs: string[];
  /** This run's responses/s over the memory run's in the same round (NaN without one). */
  ratioToMemory: number;
}

function order(o: Options, round: number): Variant[] {
  const k = (round - 1) % o.variants.length;
  return [...o.variants.slice(k), ...o.variants.slice(0, k)];
}

async function runVariant(o: Options, redis: RedisServer, workDir: string, variant: Variant, round: number, position: number): Promise<RunRecord> {
  await redis.command("FLUSHALL");
  const store = variant === "memory" ? "memory" : redis.url;
  const nodeCount = variant === "redis-2" ? 2 : 1;
  const ports: number[] = [];
  for (let i = 0; i < nodeCount; i++) {
    let p = await freePort();
    while (ports.includes(p)) p = await freePort();
    ports.push(p);
  }
  const nodes: TrackerNode[] = await Promise.all(ports.map((p) => startTracker(p, workDir, ["--store", store], 30_000, o.nodeCpu)));
  try {
    const sampler = new CpuSampler([...nodes.map((n) => n.pid), redis.pid]);
    const loadIndexes: number[] = [];
    let runs: LoadRun[];
    try {
      runs = await Promise.all(
        nodes.map((n) => runLoad(n.port, loadArgs(o, 1 / nodeCount), o.seconds + o.warmup, (pid) => loadIndexes.push(sampler.add(pid)))),
      );
    } finally {
      sampler.stop();
    }
    const from = Math.min(...runs.map((r) => r.startedAt));
    const to = Math.max(...runs.map((r) => r.endedAt));
    const windowSeconds = (to - from) / 1000;
    const trackerCpuSeconds = nodes.map((_, i) => sampler.cpuBetween(i, from, to));
    const redisCpuSeconds = sampler.cpuBetween(nodes.length, from, to);
    const loadCpu = loadIndexes.reduce((sum, i) => sum + sampler.cpuBetween(i, from, to), 0);
    const machineCpu = sampler.cpuBetween(CpuSampler.MACHINE, from, to);
    const responses = runs.reduce((s, r) => s + r.result.responses, 0);
    const announces = runs.reduce((s, r) => s + r.result.announces, 0);
    const peers = runs.reduce((s, r) => s + r.result.peersReceived, 0);
    const trackerCpu = trackerCpuSeconds.reduce((a, b) => a + b, 0);
    const health = await Promise.all(nodes.map((n) => trackerHealth(n.port)));
    const trackerLogs = await Promise.all(nodes.map(logText));
    return {
      round, variant, position,
      responsesPerSecond: runs.reduce((s, r) => s + r.result.responsesPerSecond, 0),
      perNodeResponsesPerSecond: runs.map((r) => r.result.responsesPerSecond),
      responses,
      windowSeconds,
      trackerCpuSeconds,
      redisCpuSeconds,
      trackerCores: trackerCpu / windowSeconds,
      redisCores: redisCpuSeconds / windowSeconds,
      loadGeneratorCores: loadCpu / windowSeconds,
      otherCores: (machineCpu - trackerCpu - redisCpuSeconds - loadCpu) / windowSeconds,
      trackerUsPerResponse: (trackerCpu * 1e6) / responses,
      redisUsPerResponse: (redisCpuSeconds * 1e6) / responses,
      loadGeneratorCpuSeconds: runs.map((r) => r.cpuSeconds),
      latencyP50Us: runs.map((r) => r.result.latencyUs.p50),
      latencyP99Us: runs.map((r) => r.result.latencyUs.p99),
      invalid: runs.reduce((s, r) => s + r.result.invalid, 0),
      trackerErrors: runs.reduce((s, r) => s + r.result.trackerErrors, 0),
      lost: runs.reduce((s, r) => s + r.result.lost, 0),
      peersPerAnnounce: announces > 0 ? peers / announces : 0,
      health,
      trackerLogs: trackerLogs.filter((t) => t !== ""),
      ratioToMemory: NaN,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

interface Summary {
  variant: Variant;
  runs: number;
  responsesPerSecond: number;
  ratioToMemory: number;
  trackerCores: number;
  redisCores: number;
  loadGeneratorCores: number;
  otherCores: number;
  trackerUsPerResponse: number;
  redisUsPerResponse: number;
  totalUsPerResponse: number;
  latencyP99Us: number;
  invalid: number;
  lost: number;
}

function summarize(o: Options, records: RunRecord[]): Summary[] {
  return o.variants.map((variant) => {
    const rs = records.filter((r) => r.variant === variant);
    return {
      variant,
      runs: rs.length,
      responsesPerSecond: Math.round(median(rs.map((r) => r.responsesPerSecond))),
      ...medians(rs, [
        "ratioToMemory", "trackerCores", "redisCores", "loadGeneratorCores", "otherCores", "trackerUsPerResponse", "redisUsPerResponse",
      ]),
      totalUsPerResponse: median(rs.map((r) => r.trackerUsPerResponse + r.redisUsPerResponse)),
      latencyP99Us: median(rs.map((r) => Math.max(...r.latencyP99Us))),
      invalid: rs.reduce((s, r) => s + r.invalid, 0),
      lost: rs.reduce((s, r) => s + r.lost, 0),
    };
  });
}

function roundsTable(records: RunRecord[]): string {
  const rows: (string | number)[][] = [[
    "round", "variant", "resp/s", "per node", "x memory", "tracker cores", "redis cores", "load cores", "other cores",
    "tracker µs/resp", "redis µs/resp", "p99 µs", "invalid", "lost",
  ]];
  for (const r of records) {
    rows.push([
      `${r.round}.${r.position}`, r.variant, r.responsesPerSecond, r.perNodeResponsesPerSecond.join("+"), fmt(r.ratioToMemory, 3),
      r.trackerCpuSeconds.map((c) => fmt(c / r.windowSeconds, 2)).join("+"), fmt(r.redisCores, 2),
      fmt(r.loadGeneratorCores, 2), fmt(r.otherCores, 2), fmt(r.trackerUsPerResponse, 1), fmt(r.redisUsPerResponse, 1), Math.max(...r.latencyP99Us), r.invalid, r.lost,
    ]);
  }
  return table(rows);
}

function summaryTable(summary: Summary[]): string {
  const rows: (string | number)[][] = [[
    "variant", "runs", "resp/s", "x memory", "tracker cores", "redis cores", "load cores", "other cores", "tracker µs/resp", "redis µs/resp", "total µs/resp",
    "p99 µs", "invalid", "lost",
  ]];
  for (const s of summary) {
    rows.push([
      s.variant, s.runs, s.responsesPerSecond, fmt(s.ratioToMemory, 3), fmt(s.trackerCores, 2), fmt(s.redisCores, 2),
      fmt(s.loadGeneratorCores, 2), fmt(s.otherCores, 2), fmt(s.trackerUsPerResponse, 1), fmt(s.redisUsPerResponse, 1), fmt(s.totalUsPerResponse, 1), fmt(s.latencyP99Us),
      s.invalid, s.lost,
    ]);
  }
  return table(rows);
}

async function main(): Promise<void> {
  const o = parseArgs(Bun.argv.slice(2));
  const say = (text: string): void => void (o.json ? console.error(text) : console.log(text));
  for (const share of [1, 0.5]) loadArgs(o, share); // fail early on bad load arguments
  if (o.nodeCpu > 0) {
    const problem = cpuCapAvailable();
    if (problem !== null) usageError(USAGE, problem);
  }

  const work = makeWorkDir("sc6-redis-compare-");
  installCleanup(() => work.remove());
  const started = new Date().toISOString();
  const deadline = performance.now() + o.maxMinutes * 60_000;
  const perRunMs = (o.seconds + o.warmup + 10) * 1000; // load + start, readiness, stop: generously
  const records: RunRecord[] = [];
  const skipped: string[] = [];
  try {
    const redis: RedisServer = await startRedis(await freePort(), work.dir);
    const version = String(await redis.command("INFO", ["server"])).match(/redis_version:(\S+)/)?.[1] ?? "?";
    say(
      `redis compare: ${o.variants.join(", ")} x ${o.rounds} rounds x ${o.seconds}s (+${o.warmup}s warm-up), mode ${o.mode}, ` +
        (o.mode === "udp" ? `window ${o.window}` : `${o.connections} connections`) +
        `, ${o.torrents} torrents, ${o.clients} clients; redis-server ${version} on ${redis.url}` +
        (o.nodeCpu > 0 ? `; each node capped at ${o.nodeCpu} CPU` : ""),
    );
    for (let round = 1; round <= o.rounds; round++) {
      const inRound: RunRecord[] = [];
      let position = 0;
      for (const variant of order(o, round)) {
        position++;
        if (performance.now() + perRunMs > deadline) {
          skipped.push(`round ${round} ${variant}`);
          continue;
        }
        const r = await runVariant(o, redis, work.dir, variant, round, position);
        inRound.push(r);
        say(
          `  round ${round} ${variant.padEnd(7)} ${String(r.responsesPerSecond).padStart(7)} resp/s` +
            `  tracker ${r.trackerCpuSeconds.map((c) => fmt(c / r.windowSeconds, 2)).join("+")} cores` +
            `  redis ${fmt(r.redisCores, 2)}  load ${fmt(r.loadGeneratorCores, 2)}  other ${fmt(r.otherCores, 2)} cores` +
            (r.invalid || r.lost ? `  invalid ${r.invalid} lost ${r.lost}` : ""),
        );
        for (const text of r.trackerLogs) say(`    tracker log: ${text.slice(0, 500)}`);
      }
      const mem = inRound.find((r) => r.variant === "memory");
      for (const r of inRound) r.ratioToMemory = mem ? r.responsesPerSecond / mem.responsesPerSecond : NaN;
      records.push(...inRound);
    }
  } finally {
    await stopEverything();
    work.remove();
  }

  const summary = summarize(o, records);
  say("");
  say(roundsTable(records));
  say("");
  say(`median over ${o.rounds} rounds (x memory: median of the per-round ratios to the memory run of the same round)`);
  say(summaryTable(summary));
  if (skipped.length) say(`skipped (over --max-minutes): ${skipped.join(", ")}`);
  const problems = records.flatMap((r) => [
    ...r.trackerLogs.map((t) => `round ${r.round} ${r.variant}: tracker log: ${t.slice(0, 300)}`),
    ...r.health.flatMap((h, i) =>
      h === null
        ? [`round ${r.round} ${r.variant}: node ${i + 1} did not answer /stats after the run`]
        : h.http5xx || h.storeUnavailable || h.storeDisconnects || h.refusedStoreUnavailable
          ? [`round ${r.round} ${r.variant}: node ${i + 1}: ${JSON.stringify(h)}`]
          : [],
    ),
  ]);
  if (problems.length) say(`\nproblems:\n  ${problems.join("\n  ")}`);
  if (o.json) {
    console.log(JSON.stringify({ started, options: o, summary, runs: records, skipped, problems }));
  }
}

runMain(main);
