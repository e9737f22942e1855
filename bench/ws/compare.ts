/**
 * WebSocket trackers side by side: ours (src/main.ts), the floor (bench/ws/floor.ts) and npm
 * bittorrent-tracker (bench/ws/npm-server), same load, alternating rounds with the order
 * rotating. Each run starts its server fresh on a free port, runs bench/ws/load.ts against it
 * in its own process, records the load's figures and the server's RSS (start, peak, end) and
 * CPU time, stops the server. Prints medians and the ratios ours/floor and ours/npm.
 *
 *   npx bun run bench/ws/compare.ts [--rounds 3] [--seconds 10] [--connections 200]
 *     [--swarms 20] [--offers 5] [--servers ours,floor,npm] [--json]
 *
 * A server that cannot start (ours before its WebSocket endpoint exists) is reported and left
 * out; the others still run. Everything started is stopped in finally and on SIGINT/SIGTERM.
 */
import { rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, readCpuSeconds, readRssKiB } from "../compare/servers.ts";
import { median, parseArgs } from "./protocol.ts";
import { OURS_BENCH_ARGS, REPO_ROOT, WS_SERVER_NAMES, startWsServer, stopAllWs, type WsServerName } from "./servers.ts";

const USAGE = `usage: npx bun run bench/ws/compare.ts [options]
  --rounds N        rounds; each runs every server once, order rotating (default 3)
  --seconds S       measured seconds per run (default 10)
  --warmup S        load warmup per run (default 1)
  --connections N   (default 200)   --swarms N (default 20)   --offers N (default 5)
  --servers LIST    comma-separated, of ours,floor,npm (default all three)
  --ours-args ARGS  extra flags for ours, space-separated (default "--ws-messages-per-minute 0":
                    a load peer sends ~60 messages/s, past ours' default 600/minute)
  --answers 0|1     load peers answer relayed offers (default 1); 0: offers only
  --inflight N      announces outstanding per load connection (default 1)
  --json            print one JSON object on stdout (progress goes to stderr)`;

const opts = parseArgs(
  process.argv.slice(2),
  { rounds: 3, seconds: 10, warmup: 1, connections: 200, swarms: 20, offers: 5, servers: "ours,floor,npm", oursArgs: OURS_BENCH_ARGS.join(" "), answers: 1, inflight: 1, json: false },
  USAGE,
);
const servers = opts.servers.split(",").map((s) => s.trim()) as WsServerName[];
for (const s of servers) if (!WS_SERVER_NAMES.includes(s)) throw new Error(`--servers: unknown server ${s}\n${USAGE}`);
const ROUNDS = Math.max(1, Math.min(20, Math.floor(opts.rounds)));
const oursArgs = opts.oursArgs.split(/\s+/).filter((a) => a !== "");

interface LoadResult {
  connected: number;
  announcesPerSec: number;
  offersReceivedPerSec: number;
  answersReceivedPerSec: number;
  scrapesPerSec: number;
  relayRatio: number;
  announceLatencyMs: { p50: number; p90: number; p99: number; max: number };
  failures: number;
  timeouts: number;
  unsolicited: number;
  misrouted: number;
  unknown: number;
  connectFailures: number;
  closesUnexpected: number;
  closeCodes: Record<string, number>;
  clientCpuShare: number;
  totals: { announces: number };
  failureReasons: Record<string, number>;
  failureSamples: string[];
  unknownSamples: string[];
}

interface Run {
  server: WsServerName;
  round: number;
  error?: string;
  load?: LoadResult;
  serverCpuSeconds?: number;
  serverCpuShare?: number;
  cpuMicrosPerAnnounce?: number;
  rssStartKiB?: number;
  rssPeakKiB?: number;
  rssEndKiB?: number;
}

const log = (s: string) => console.error(s);
const work = mkdtempSync(join(tmpdir(), "ws-compare-"));
let loadProc: Bun.Subprocess | null = null;
let interrupted = false;

async function shutdown(signal: string): Promise<never> {
  interrupted = true;
  log(`\n${signal}: stopping`);
  loadProc?.kill("SIGKILL");
  await stopAllWs();
  rmSync(work, { recursive: true, force: true });
  process.exit(130);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

async function runOne(name: WsServerName, round: number): Promise<Run> {
  const port = await freePort();
  const server = await startWsServer(name, port, work, oursArgs).catch((e: Error) => e);
  if (server instanceof Error) return { server: name, round, error: server.message.split("\n").slice(0, 6).join("\n") };
  try {
    await Bun.sleep(300);
    const rssStartKiB = readRssKiB(server.pid) ?? NaN;
    const cpu0 = readCpuSeconds(server.pid) ?? NaN;
    const t0 = performance.now();
    loadProc = Bun.spawn(
      [
        process.execPath, "run", "bench/ws/load.ts",
        "--target", `ws://127.0.0.1:${port}`,
        "--connections", String(opts.connections),
        "--swarms", String(opts.swarms),
        "--offers", String(opts.offers),
        "--seconds", String(opts.seconds),
        "--warmup", String(opts.warmup),
        "--answers", String(opts.answers),
        "--inflight", String(opts.inflight),
        "--json",
      ],
      { cwd: REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    let rssPeakKiB = rssStartKiB;
    const poll = setInterval(() => {
      const r = readRssKiB(server.pid);
      if (r !== null && r > rssPeakKiB) rssPeakKiB = r;
    }, 200);
    const [out, err, code] = await Promise.all([
      new Response(loadProc.stdout as ReadableStream).text(),
      new Response(loadProc.stderr as ReadableStream).text(),
      loadProc.exited,
    ]);
    clearInterval(poll);
    loadProc = null;
    const wall = (performance.now() - t0) / 1000;
    const cpu1 = readCpuSeconds(server.pid) ?? NaN;
    const rssEndKiB = readRssKiB(server.pid) ?? NaN;
    if (code !== 0) return { server: name, round, error: `load exited ${code}: ${(err || out).slice(-1000)}` };
    const load = JSON.parse(out.trim().split("\n").pop()!) as LoadResult;
    const serverCpuSeconds = cpu1 - cpu0;
    return {
      server: name,
      round,
      load,
      serverCpuSeconds,
      serverCpuShare: serverCpuSeconds / wall,
      cpuMicrosPerAnnounce: load.totals.announces > 0 ? (serverCpuSeconds * 1e6) / load.totals.announces : NaN,
      rssStartKiB,
      rssPeakKiB,
      rssEndKiB,
    };
  } finally {
    await server.stop();
  }
}

const runs: Run[] = [];
try {
  log(`${ROUNDS} rounds x [${servers.join(", ")}], ${opts.connections} connections, ${opts.swarms} swarms, ${opts.offers} offers, ${opts.seconds} s each`);
  for (let round = 0; round < ROUNDS && !interrupted; round++) {
    const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
    for (const name of order) {
      if (interrupted) break;
      const run = await runOne(name, round);
      runs.push(run);
      if (run.error) log(`round ${round + 1} ${name}: FAILED: ${run.error}`);
      else {
        const l = run.load!;
        log(
          `round ${round + 1} ${name.padEnd(5)} announces/s ${l.announcesPerSec.toFixed(0).padStart(6)}  offers/s ${l.offersReceivedPerSec.toFixed(0).padStart(6)}  answers/s ${l.answersReceivedPerSec.toFixed(0).padStart(6)}  scrapes/s ${l.scrapesPerSec.toFixed(0).padStart(4)}  failures ${l.failures}  server CPU ${(run.serverCpuShare! * 100).toFixed(0)}%  RSS peak ${(run.rssPeakKiB! / 1024).toFixed(1)} MiB` +
            (l.closesUnexpected ? `  CLOSED by the server: ${JSON.stringify(l.closeCodes)}` : "") +
            (l.timeouts ? `  timeouts ${l.timeouts}` : ""),
        );
      }
      await Bun.sleep(500);
    }
  }
} finally {
  await stopAllWs();
  rmSync(work, { recursive: true, force: true });
}

interface Summary {
  runs: number;
  failedRuns: number;
  announcesPerSec: number;
  offersReceivedPerSec: number;
  answersReceivedPerSec: number;
  scrapesPerSec: number;
  relayRatio: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  failures: number;
  problems: number;
  serverCpuShare: number;
  cpuMicrosPerAnnounce: number;
  rssStartMiB: number;
  rssPeakMiB: number;
  clientCpuShare: number;
  firstError?: string;
  samples: string[];
}

const summary: Partial<Record<WsServerName, Summary>> = {};
for (const name of servers) {
  const ok = runs.filter((r) => r.server === name && !r.error);
  const failed = runs.filter((r) => r.server === name && r.error);
  const m = (f: (r: Run) => number) => median(ok.map(f));
  summary[name] = {
    runs: ok.length,
    failedRuns: failed.length,
    announcesPerSec: m((r) => r.load!.announcesPerSec),
    offersReceivedPerSec: m((r) => r.load!.offersReceivedPerSec),
    answersReceivedPerSec: m((r) => r.load!.answersReceivedPerSec),
    scrapesPerSec: m((r) => r.load!.scrapesPerSec),
    relayRatio: m((r) => r.load!.relayRatio),
    latencyP50Ms: m((r) => r.load!.announceLatencyMs.p50),
    latencyP99Ms: m((r) => r.load!.announceLatencyMs.p99),
    failures: ok.reduce((s, r) => s + r.load!.failures, 0),
    problems: ok.reduce(
      (s, r) => s + r.load!.timeouts + r.load!.unsolicited + r.load!.misrouted + r.load!.unknown + r.load!.connectFailures + r.load!.closesUnexpected,
      0,
    ),
    serverCpuShare: m((r) => r.serverCpuShare!),
    cpuMicrosPerAnnounce: m((r) => r.cpuMicrosPerAnnounce!),
    rssStartMiB: m((r) => r.rssStartKiB!) / 1024,
    rssPeakMiB: m((r) => r.rssPeakKiB!) / 1024,
    clientCpuShare: m((r) => r.load!.clientCpuShare),
    firstError: failed[0]?.error,
    samples: [...new Set(ok.flatMap((r) => [...Object.keys(r.load!.failureReasons).map((k) => `failure: ${k}`), ...r.load!.unknownSamples.map((u) => `unknown: ${u}`)]))].slice(0, 8),
  };
}

const RATIO_KEYS = ["announcesPerSec", "offersReceivedPerSec", "answersReceivedPerSec", "scrapesPerSec", "cpuMicrosPerAnnounce", "rssPeakMiB"] as const;
function ratios(a: Summary | undefined, b: Summary | undefined): Record<string, number> | null {
  if (!a || !b || a.runs === 0 || b.runs === 0) return null;
  return Object.fromEntries(RATIO_KEYS.map((k) => [k, a[k] / b[k]]));
}
/**
 * Median over rounds of the ratio within each round (both servers ran that round, minutes
 * apart at most): steadier than the ratio of medians when the machine's load drifts.
 */
function pairedRatios(a: WsServerName, b: WsServerName): Record<string, number> | null {
  const per: Record<string, number[]> = Object.fromEntries(RATIO_KEYS.map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const x = runs.find((r) => r.server === a && r.round === round && !r.error);
    const y = runs.find((r) => r.server === b && r.round === round && !r.error);
    if (!x || !y) continue;
    const v = (r: Run): Record<(typeof RATIO_KEYS)[number], number> => ({
      announcesPerSec: r.load!.announcesPerSec,
      offersReceivedPerSec: r.load!.offersReceivedPerSec,
      answersReceivedPerSec: r.load!.answersReceivedPerSec,
      scrapesPerSec: r.load!.scrapesPerSec,
      cpuMicrosPerAnnounce: r.cpuMicrosPerAnnounce!,
      rssPeakMiB: r.rssPeakKiB! / 1024,
    });
    const vx = v(x);
    const vy = v(y);
    for (const k of RATIO_KEYS) per[k]!.push(vx[k] / vy[k]);
  }
  if (per.announcesPerSec!.length === 0) return null;
  return Object.fromEntries(RATIO_KEYS.map((k) => [k, median(per[k]!)]));
}
const paired = {
  oursVsFloor: pairedRatios("ours", "floor"),
  oursVsNpm: pairedRatios("ours", "npm"),
  floorVsNpm: pairedRatios("floor", "npm"),
};
const oursVsFloor = ratios(summary.ours, summary.floor);
const oursVsNpm = ratios(summary.ours, summary.npm);
const floorVsNpm = ratios(summary.floor, summary.npm);

if (opts.json) {
  console.log(JSON.stringify({ options: opts, summary, ratios: { oursVsFloor, oursVsNpm, floorVsNpm }, pairedRatios: paired, runs }));
} else {
  const rows: [string, (s: Summary) => string][] = [
    ["runs ok / failed", (s) => `${s.runs} / ${s.failedRuns}`],
    ["announces/s", (s) => s.announcesPerSec.toFixed(0)],
    ["offers received/s", (s) => s.offersReceivedPerSec.toFixed(0)],
    ["answers received/s", (s) => s.answersReceivedPerSec.toFixed(0)],
    ["scrapes/s", (s) => s.scrapesPerSec.toFixed(1)],
    ["relay ratio", (s) => s.relayRatio.toFixed(3)],
    ["announce p50 / p99 ms", (s) => `${s.latencyP50Ms.toFixed(1)} / ${s.latencyP99Ms.toFixed(1)}`],
    ["failures (sum)", (s) => String(s.failures)],
    ["other problems (sum)", (s) => String(s.problems)],
    ["server CPU (share of a core)", (s) => `${(s.serverCpuShare * 100).toFixed(0)}%`],
    ["server CPU µs / announce", (s) => s.cpuMicrosPerAnnounce.toFixed(0)],
    ["server RSS start / peak MiB", (s) => `${s.rssStartMiB.toFixed(1)} / ${s.rssPeakMiB.toFixed(1)}`],
    ["load client CPU", (s) => `${(s.clientCpuShare * 100).toFixed(0)}%`],
  ];
  const names = servers.filter((n) => summary[n]);
  const lines = [
    "",
    `medians of ${ROUNDS} round(s): ${opts.connections} connections, ${opts.swarms} swarms, ${opts.offers} offers/announce, ${opts.seconds} s`,
    "".padEnd(30) + names.map((n) => n.padStart(16)).join(""),
  ];
  for (const [label, f] of rows) {
    lines.push(label.padEnd(30) + names.map((n) => (summary[n]!.runs > 0 || label.startsWith("runs") ? f(summary[n]!) : "-").padStart(16)).join(""));
  }
  const short: Record<(typeof RATIO_KEYS)[number], string> = {
    announcesPerSec: "announces/s",
    offersReceivedPerSec: "offers/s",
    answersReceivedPerSec: "answers/s",
    scrapesPerSec: "scrapes/s",
    cpuMicrosPerAnnounce: "CPU/announce",
    rssPeakMiB: "RSS peak",
  };
  for (const [title, set] of [
    ["ratios of the medians", { "ours / floor": oursVsFloor, "ours / npm": oursVsNpm, "floor / npm": floorVsNpm }],
    ["medians of the per-round ratios", { "ours / floor": paired.oursVsFloor, "ours / npm": paired.oursVsNpm, "floor / npm": paired.floorVsNpm }],
  ] as const) {
    lines.push(`${title}:`);
    for (const [label, r] of Object.entries(set)) {
      if (r) lines.push(`  ${label.padEnd(13)} ` + RATIO_KEYS.map((k) => `${short[k]} ${r[k]!.toFixed(2)}x`).join(", "));
    }
  }
  for (const n of names) {
    const s = summary[n]!;
    if (s.firstError) lines.push(`${n}: failed: ${s.firstError}`);
    for (const x of s.samples) lines.push(`${n}: sample: ${x}`);
  }
  console.log(lines.join("\n"));
}
process.exit(0);
