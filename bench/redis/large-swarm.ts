/**
 * Does an announce cost more in a bigger swarm? One Redis-backed tracker node, one torrent per
 * swarm size, and a steady announce load on one torrent at a time, sizes interleaved in rounds.
 *
 *   npx bun run bench/redis/large-swarm.ts [--sizes 100,1000,10000,100000] [--rounds 3] [--seconds 5] [--json]
 *
 * Starts its own redis-server (free port, 127.0.0.1, `--save '' --appendonly no`) and one
 * tracker node on it. Each size gets its own torrent: the one the load generator uses with
 * `--torrents 1 --seed K` (K = 1, 2, ... by size). The torrents are filled through the tracker,
 * never by writing Redis keys (the layout is the store's business): HTTP announces
 * (event=started, numwant=0) from distinct peers, many in flight, at most --fill-seconds per
 * size. Loopback has only ~64k ports for 127.0.0.1, so each filled peer has its own address in
 * 10.0.0.0/8, given in a header the tracker is told to trust (--trust-proxy-header
 * x-sc6-bench-peer; requests without it, like the load generator's, keep their socket address).
 * Half the filled peers are seeders. All torrents stay filled for the whole run, so Redis holds
 * the same data (and memory) whichever torrent is being loaded.
 *
 * Then, in each round, every size in turn (the order rotating from round to round): CONFIG
 * RESETSTAT, bench/load/main.ts against that size's torrent (--torrents 1 --seed K, --clients
 * small, --numwant 50, no scrapes; its clients join that swarm too), INFO commandstats:
 * cmdstat_evalsha's usec_per_call is Redis's own time per script call (one per announce). CPU
 * time of the tracker and of redis-server is read from /proc over the load's measured window.
 * The summary is the median over rounds, and the median of the per-round ratios to the smallest
 * size (measured in the same round). The swarms' sizes are read back by a scrape at the end.
 */
import { generateInfoHashes } from "../load/info-hashes.ts";
import { parseBenchArgs, type CommonOptions } from "./args.ts";
import {
  CpuSampler, fmt, freePort, installCleanup, logText, makeWorkDir, median, medians, parseCommandStats, runLoad, runMain, startRedis,
  startTracker, stopEverything, table, trackerHealth, type RedisServer, type TrackerHealth, type TrackerNode,
} from "./harness.ts";

const PEER_HEADER = "x-sc6-bench-peer";

const USAGE = `Usage: npx bun run bench/redis/large-swarm.ts [options]

  --sizes LIST          swarm sizes, one torrent each               (default 100,1000,10000,100000)
  --rounds N            rounds; each loads every size once          (default 3)
  --seconds S           measured seconds of the load at each size   (default 5)
  --warmup S            unmeasured warm-up before it                (default 1)
  --mode M              http-keepalive | http-close | udp           (default http-keepalive)
  --connections C       http: connections of the load               (default 128)
  --window W            udp: requests in flight                     (default 128)
  --clients M           the load's clients (they join the swarm)    (default 256)
  --numwant N           numwant of the load's announces             (default 50)
  --fill-concurrency K  fill announces in flight                    (default 64)
  --fill-seconds T      most seconds filling one size               (default 60)
  --json                print one JSON object on stdout (the table goes to stderr)
`;

interface Options extends CommonOptions {
  sizes: number[];
  clients: number;
  numwant: number;
  fillConcurrency: number;
  fillSeconds: number;
}

function parseArgs(argv: string[]): Options {
  return parseBenchArgs<Options>(argv, {
    usage: USAGE,
    defaults: {
      sizes: [100, 1_000, 10_000, 100_000], rounds: 3, seconds: 5, warmup: 1, mode: "http-keepalive", connections: 128, window: 128,
      clients: 256, numwant: 50, fillConcurrency: 64, fillSeconds: 60, json: false,
    },
    connections: [1, 10_000],
    window: [1, 65_536],
    own(flag, value, o, { num, fail }) {
      switch (flag) {
        case "--sizes":
          o.sizes = [...new Set((value ?? "").split(",").map((s) => num("--sizes", s.trim(), 1, 10_000_000)))].sort((a, b) => a - b);
          if (o.sizes.length === 0) fail("--sizes needs at least one size");
          return true;
        case "--clients": o.clients = num(flag, value, 1, 60_000); return true;
        case "--numwant": o.numwant = num(flag, value, 0, 200); return true;
        case "--fill-concurrency": o.fillConcurrency = num(flag, value, 1, 1024); return true;
        case "--fill-seconds": o.fillSeconds = num(flag, value, 1, 600, false); return true;
        default:
          return false;
      }
    },
  });
}

/** Filled peer i: its own address in 10.0.0.0/8 (i < 2^24 - 2). */
function peerAddress(i: number): string {
  const n = i + 1;
  return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function percentEncode(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += "%" + b.toString(16).padStart(2, "0");
  return s;
}

interface FillResult {
  /** Peers announced successfully (in all, since the start). */
  filled: number;
  seconds: number;
  failures: number;
  failureSamples: string[];
  /** True if the time ran out before the size was reached. */
  timedOut: boolean;
}

/**
 * Announces peers [from, to) into the torrent: event=started, numwant=0, `concurrency` requests
 * in flight (fetch keeps its connections alive), until done or `seconds` have passed.
 */
async function fill(port: number, hashQuery: string, from: number, to: number, concurrency: number, seconds: number): Promise<FillResult> {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let next = from;
  let ok = 0;
  let failures = 0;
  const failureSamples: string[] = [];
  const base = `http://127.0.0.1:${port}/announce?info_hash=${hashQuery}`;
  const worker = async (): Promise<void> => {
    while (next < to && performance.now() < deadline && failures < 1000) {
      const i = next++;
      const peerId = `-SB0001-${String(i).padStart(12, "0")}`;
      const left = i % 2 === 0 ? 0 : 1_000_000;
      const url = `${base}&peer_id=${peerId}&port=${6881 + (i % 1000)}&uploaded=0&downloaded=0&left=${left}` +
        `&event=started&numwant=0&compact=1`;
      try {
        const r = await fetch(url, { headers: { [PEER_HEADER]: peerAddress(i) }, signal: AbortSignal.timeout(10_000) });
        const body = await r.text();
        if (r.ok && body.startsWith("d8:complete")) ok++;
        else {
          failures++;
          if (failureSamples.length < 5) failureSamples.push(`${r.status} ${body.slice(0, 200)}`);
        }
      } catch (e) {
        failures++;
        if (failureSamples.length < 5) failureSamples.push(String((e as Error)?.message ?? e));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return {
    filled: from + ok,
    seconds: (performance.now() - t0) / 1000,
    failures,
    failureSamples,
    timedOut: next < to,
  };
}

/** complete + incomplete of the torrent by an HTTP scrape (NaN if it cannot be read). */
async function swarmSize(port: number, hashQuery: string): Promise<{ seeders: number; leechers: number }> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/scrape?info_hash=${hashQuery}`, { signal: AbortSignal.timeout(5000) });
    const body = await r.text();
    const seeders = Number(/8:completei(\d+)e/.exec(body)?.[1] ?? NaN);
    const leechers = Number(/10:incompletei(\d+)e/.exec(body)?.[1] ?? NaN);
    return { seeders, leechers };
  } catch {
    return { seeders: NaN, leechers: NaN };
  }
}

interface FillRecord {
  size: number;
  /** The load generator's --seed whose first info_hash is this size's torrent. */
  seed: number;
  filled: number;
  seconds: number;
  announcesPerSecond: number;
  failures: number;
  failureSamples: string[];
  timedOut: boolean;
  /** Scrape at the end: the swarm as the tracker counts it (filled + the load's clients). */
  seeders: number;
  leechers: number;
}

interface RunRecord {
  round: number;
  size: number;
  announcesPerSecond: number;
  peersPerAnnounce: number;
  latencyP50Us: number;
  latencyP99Us: number;
  invalid: number;
  trackerErrors: number;
  lost: number;
  invalidSamples: string[];
  evalshaCalls: number;
  evalshaUsecPerCall: number;
  /** CPU microseconds per announce of the tracker and of redis-server. */
  trackerUsPerAnnounce: number;
  redisUsPerAnnounce: number;
  trackerCores: number;
  redisCores: number;
  /** Cores used by the load generator, and by everything else on the machine (noise). */
  loadGeneratorCores: number;
  otherCores: number;
  redisUsedMemoryBytes: number;
  health: TrackerHealth | null;
  /** Over the smallest size's run of the same round. */
  announcesRatio: number;
  evalshaRatio: number;
}

function order(sizes: number[], round: number): number[] {
  const k = (round - 1) % sizes.length;
  return [...sizes.slice(k), ...sizes.slice(0, k)];
}

async function measure(o: Options, redis: RedisServer, node: TrackerNode, size: number, seed: number, round: number): Promise<RunRecord> {
  await redis.command("CONFIG", ["RESETSTAT"]);
  const sampler = new CpuSampler([node.pid, redis.pid]);
  let run;
  let loadIndex = -2;
  try {
    const args = [
      "--mode", o.mode, "--seconds", String(o.seconds), "--warmup", String(o.warmup), "--torrents", "1", "--seed", String(seed),
      "--clients", String(o.clients), "--numwant", String(o.numwant), "--scrape", "0",
      ...(o.mode === "udp" ? ["--window", String(o.window)] : ["--connections", String(o.connections)]),
    ];
    run = await runLoad(node.port, args, o.seconds + o.warmup, (pid) => (loadIndex = sampler.add(pid)));
  } finally {
    sampler.stop();
  }
  const stats = parseCommandStats(String(await redis.command("INFO", ["commandstats"])));
  const memory = String(await redis.command("INFO", ["memory"]));
  const evalsha = stats.get("evalsha");
  const r = run.result;
  const trackerCpu = sampler.cpuBetween(0, run.startedAt, run.endedAt);
  const redisCpu = sampler.cpuBetween(1, run.startedAt, run.endedAt);
  const loadCpu = sampler.cpuBetween(loadIndex, run.startedAt, run.endedAt);
  const machineCpu = sampler.cpuBetween(CpuSampler.MACHINE, run.startedAt, run.endedAt);
  return {
    round,
    size,
    announcesPerSecond: Math.round(r.announces / r.seconds),
    peersPerAnnounce: r.announces ? r.peersReceived / r.announces : 0,
    latencyP50Us: r.latencyUs.p50,
    latencyP99Us: r.latencyUs.p99,
    invalid: r.invalid,
    trackerErrors: r.trackerErrors,
    lost: r.lost,
    invalidSamples: r.invalidSamples,
    evalshaCalls: evalsha?.calls ?? 0,
    evalshaUsecPerCall: evalsha?.usecPerCall ?? NaN,
    trackerUsPerAnnounce: (trackerCpu * 1e6) / r.announces,
    redisUsPerAnnounce: (redisCpu * 1e6) / r.announces,
    trackerCores: trackerCpu / r.seconds,
    redisCores: redisCpu / r.seconds,
    loadGeneratorCores: loadCpu / r.seconds,
    otherCores: (machineCpu - trackerCpu - redisCpu - loadCpu) / r.seconds,
    redisUsedMemoryBytes: Number(/used_memory:(\d+)/.exec(memory)?.[1] ?? NaN),
    health: await trackerHealth(node.port),
    announcesRatio: NaN,
    evalshaRatio: NaN,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(Bun.argv.slice(2));
  const say = (text: string): void => void (o.json ? console.error(text) : console.log(text));
  const work = makeWorkDir("sc6-redis-large-swarm-");
  installCleanup(() => work.remove());
  const started = new Date().toISOString();
  const fills: FillRecord[] = [];
  const runs: RunRecord[] = [];
  const notes: string[] = [];
  let trackerLog = "";
  try {
    const redis: RedisServer = await startRedis(await freePort(), work.dir);
    const node = await startTracker(await freePort(), work.dir, ["--store", redis.url, "--trust-proxy-header", PEER_HEADER]);
    say(
      `large swarm: sizes ${o.sizes.join(", ")} x ${o.rounds} rounds; load ${o.mode} ` +
        `${o.mode === "udp" ? `window ${o.window}` : `${o.connections} connections`}, ${o.clients} clients, numwant ${o.numwant}, ` +
        `${o.seconds}s (+${o.warmup}s warm-up) per run; tracker :${node.port}, ${redis.url}`,
    );
    const seedOf = new Map<number, number>();
    const hashQueryOf = new Map<number, string>();
    for (const [k, size] of o.sizes.entries()) {
      const seed = k + 1;
      seedOf.set(size, seed);
      const hashQuery = percentEncode(generateInfoHashes(1, seed).subarray(0, 20));
      hashQueryOf.set(size, hashQuery);
      const f = await fill(node.port, hashQuery, 0, size, o.fillConcurrency, o.fillSeconds);
      say(
        `  torrent ${k + 1} (--seed ${seed}): filled ${f.filled} peers in ${fmt(f.seconds, 1)} s` +
          (f.failures ? `, ${f.failures} failures (${f.failureSamples[0]})` : "") + (f.timedOut ? ", TIME RAN OUT" : ""),
      );
      if (f.timedOut) notes.push(`size ${size}: the fill stopped at ${f.filled} peers after ${fmt(f.seconds, 1)} s (--fill-seconds ${o.fillSeconds})`);
      if (f.failures) notes.push(`size ${size}: ${f.failures} fill announces failed: ${f.failureSamples.join(" | ")}`);
      fills.push({
        size, seed, filled: f.filled, seconds: f.seconds, announcesPerSecond: f.seconds > 0 ? f.filled / f.seconds : NaN,
        failures: f.failures, failureSamples: f.failureSamples, timedOut: f.timedOut, seeders: NaN, leechers: NaN,
      });
    }
    for (let round = 1; round <= o.rounds; round++) {
      const inRound: RunRecord[] = [];
      for (const size of order(o.sizes, round)) {
        const r = await measure(o, redis, node, size, seedOf.get(size)!, round);
        inRound.push(r);
        say(
          `  round ${round} size ${String(size).padStart(7)}: ${r.announcesPerSecond} announces/s, ${fmt(r.peersPerAnnounce, 1)} peers each, ` +
            `evalsha ${fmt(r.evalshaUsecPerCall, 2)} µs/call (${r.evalshaCalls} calls)` +
            (r.invalid || r.lost ? `, invalid ${r.invalid} lost ${r.lost} (${r.invalidSamples[0] ?? ""})` : ""),
        );
      }
      const ref = inRound.find((r) => r.size === o.sizes[0]);
      for (const r of inRound) {
        r.announcesRatio = ref ? r.announcesPerSecond / ref.announcesPerSecond : NaN;
        r.evalshaRatio = ref ? r.evalshaUsecPerCall / ref.evalshaUsecPerCall : NaN;
      }
      runs.push(...inRound);
    }
    for (const f of fills) Object.assign(f, await swarmSize(node.port, hashQueryOf.get(f.size)!));
    trackerLog = await logText(node);
  } finally {
    await stopEverything();
    work.remove();
  }

  const summary = o.sizes.map((size) => {
    const rs = runs.filter((r) => r.size === size);
    const f = fills.find((x) => x.size === size)!;
    return {
      size,
      swarm: f.seeders + f.leechers,
      fillSeconds: f.seconds,
      runs: rs.length,
      announcesPerSecond: Math.round(median(rs.map((r) => r.announcesPerSecond))),
      ...medians(rs, [
        "announcesRatio", "peersPerAnnounce", "evalshaUsecPerCall", "evalshaRatio", "trackerUsPerAnnounce", "redisUsPerAnnounce",
        "otherCores", "latencyP99Us",
      ]),
      invalid: rs.reduce((s, r) => s + r.invalid, 0),
      lost: rs.reduce((s, r) => s + r.lost, 0),
    };
  });

  const roundRows: (string | number)[][] = [[
    "round", "size", "announces/s", "x smallest", "peers/ann", "evalsha µs/call", "x smallest", "tracker µs/ann", "redis µs/ann",
    "tracker cores", "redis cores", "load cores", "other cores", "p99 µs", "invalid", "lost",
  ]];
  for (const r of runs) {
    roundRows.push([
      r.round, r.size, r.announcesPerSecond, fmt(r.announcesRatio, 3), fmt(r.peersPerAnnounce, 1), fmt(r.evalshaUsecPerCall, 2),
      fmt(r.evalshaRatio, 3), fmt(r.trackerUsPerAnnounce, 1), fmt(r.redisUsPerAnnounce, 1), fmt(r.trackerCores, 2),
      fmt(r.redisCores, 2), fmt(r.loadGeneratorCores, 2), fmt(r.otherCores, 2), r.latencyP99Us, r.invalid, r.lost,
    ]);
  }
  const rows: (string | number)[][] = [[
    "size", "swarm (scrape)", "fill s", "announces/s", "x smallest", "peers/ann", "evalsha µs/call", "x smallest",
    "tracker µs/ann", "redis µs/ann", "other cores", "p99 µs", "invalid", "lost",
  ]];
  for (const s of summary) {
    rows.push([
      s.size, s.swarm, fmt(s.fillSeconds, 1), s.announcesPerSecond, fmt(s.announcesRatio, 3), fmt(s.peersPerAnnounce, 1),
      fmt(s.evalshaUsecPerCall, 2), fmt(s.evalshaRatio, 3), fmt(s.trackerUsPerAnnounce, 1), fmt(s.redisUsPerAnnounce, 1),
      fmt(s.otherCores, 2), fmt(s.latencyP99Us), s.invalid, s.lost,
    ]);
  }
  const memory = runs.length ? runs[runs.length - 1]!.redisUsedMemoryBytes : NaN;
  say("");
  say(table(roundRows));
  say("");
  say(`median over ${o.rounds} rounds (x smallest: median of the per-round ratios to size ${o.sizes[0]} in the same round); ` +
    `redis used_memory at the end ${fmt(memory / 2 ** 20, 1)} MiB`);
  say(table(rows));
  const problems = [
    ...notes,
    ...runs.flatMap((r) =>
      r.health && (r.health.http5xx || r.health.storeUnavailable || r.health.storeDisconnects || r.health.refusedStoreUnavailable)
        ? [`round ${r.round} size ${r.size}: tracker /stats: ${JSON.stringify(r.health)}`]
        : [],
    ),
    ...(trackerLog ? [`tracker log: ${trackerLog.slice(0, 1000)}`] : []),
  ];
  if (problems.length) say(`\nproblems:\n  ${problems.join("\n  ")}`);
  if (o.json) console.log(JSON.stringify({ started, options: o, summary, fills, runs, problems, redisUsedMemoryBytes: memory }));
}

runMain(main);
