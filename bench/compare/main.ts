/**
 * Side-by-side: opentracker and our tracker under the same load, alternating.
 *
 *   bun run bench/compare/main.ts --rounds 3 --seconds 10 [--modes udp,http-close] [--ceiling] [--json]
 *
 * For every mode and round, each tracker is started fresh on a free port (opentracker with a
 * whitelist of the load's info_hashes), loaded by bench/load/main.ts in its own process,
 * measured (VmRSS at the end of the run) and stopped. The order alternates from round to
 * round (A B, B A, ...) so drift on a shared machine does not favour one side. The summary is
 * the median over rounds, and the median of the per-round ratios ours / opentracker.
 *
 * --ceiling adds a third server to the udp mode only: udp-ceiling.ts, a Bun UDP responder
 * that batches its replies as ours does but does no tracker work, i.e. roughly what Bun
 * itself allows. The three then rotate from round to round (A B C, B C A, C A B, ...), and
 * the summary adds its median and the median per-round ratios ours / ceiling and
 * ceiling / opentracker. Without the flag the output is as before.
 *
 * Everything it starts is stopped in `finally` and on SIGINT/SIGTERM; the total time is
 * bounded by --max-minutes (runs that would not fit are skipped and reported).
 */
import { join } from "node:path";
import { intArg, numberArg } from "../cli-args.ts";
import { generateInfoHashes, writeWhitelist } from "../load/info-hashes.ts";
import { LOAD_MODES, MAX_SECONDS, type LoadMode } from "../load/options.ts";
import type { LoadResult } from "../load/result.ts";
import {
  freePort,
  makeWorkDir,
  opentrackerInstalled,
  readCpuSeconds,
  readRssKiB,
  REPO_ROOT,
  startCeiling,
  startOpentracker,
  startOurs,
  stopAll,
  type RunningServer,
  type ServerName,
} from "./servers.ts";
import { median, mib, table } from "./stats.ts";

interface CompareOptions {
  rounds: number;
  seconds: number;
  modes: LoadMode[];
  torrents: number;
  clients: number;
  window: number;
  connections: number;
  seed: number;
  maxMinutes: number;
  json: boolean;
  /** Set only by --ceiling, so the JSON options are unchanged without it. */
  ceiling?: boolean;
}

interface RunRecord {
  mode: LoadMode;
  round: number;
  server: ServerName;
  /** null if the run failed; `error` says why. */
  result: LoadResult | null;
  rssKiB: number | null;
  /** Server CPU use during the load, percent of one core. */
  serverCpuPercent: number | null;
  /** Load generator CPU use, percent of one core (near 100: the generator was the limit). */
  loadCpuPercent: number | null;
  error?: string;
}

const USAGE = `Usage: bun run bench/compare/main.ts [options]
  --rounds N         rounds per mode (default 3)
  --seconds S        seconds per run (default 10, at most ${MAX_SECONDS})
  --modes LIST       comma-separated: ${LOAD_MODES.join(",")} (default all)
  --torrents N       (default 10000)     --clients M     (default 2000)
  --window W         udp window (default 128)
  --connections C    http connections (default 64)
  --seed S           workload seed (default 1)
  --max-minutes T    bound on the whole comparison (default 30)
  --ceiling          udp mode: also run bench/compare/udp-ceiling.ts (Bun answering BEP 15
                     with no tracker work) and report ours/ceiling and ceiling/opentracker
  --json             machine-readable result on stdout (the table goes to stderr)
`;

function parseArgs(argv: string[]): CompareOptions {
  const o: CompareOptions = {
    rounds: 3, seconds: 10, modes: [...LOAD_MODES], torrents: 10_000, clients: 2_000, window: 128,
    connections: 64, seed: 1, maxMinutes: 30, json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") {
      o.json = true;
      continue;
    }
    if (a === "--ceiling") {
      o.ceiling = true;
      continue;
    }
    if (a === "--help" || a === "-h") {
      console.error(USAGE);
      process.exit(0);
    }
    const v = argv[++i];
    if (v === undefined) fail(`${a} needs a value`);
    const int = (min: number, max: number): number => intArg(a, v, min, max, fail);
    switch (a) {
      case "--rounds": o.rounds = int(1, 50); break;
      case "--seconds": {
        const n = numberArg(v);
        if (!(n > 0)) fail("--seconds must be positive");
        o.seconds = Math.min(n, MAX_SECONDS);
        break;
      }
      case "--modes":
        o.modes = v.split(",") as LoadMode[];
        for (const m of o.modes) if (!LOAD_MODES.includes(m)) fail(`unknown mode ${m}`);
        break;
      case "--torrents": o.torrents = int(1, 10_000_000); break;
      case "--clients": o.clients = int(1, 1_000_000); break;
      case "--window": o.window = int(1, 65_536); break;
      case "--connections": o.connections = int(1, 10_000); break;
      case "--seed": o.seed = int(0, 0xffff_ffff); break;
      case "--max-minutes": o.maxMinutes = int(1, 240); break;
      default: fail(`unknown option ${a}`);
    }
  }
  return o;
}

function fail(message: string): never {
  console.error(`error: ${message}\n\n${USAGE}`);
  process.exit(2);
}

/**
 * The servers of one round, in the order they run: opentracker and ours alternate (A B, B A);
 * with the ceiling (udp only) the three rotate (A B C, B C A, C A B).
 */
function runOrder(o: CompareOptions, mode: LoadMode, round: number): ServerName[] {
  if (!(o.ceiling && mode === "udp")) return round % 2 === 1 ? ["opentracker", "ours"] : ["ours", "opentracker"];
  const three: ServerName[] = ["opentracker", "ours", "ceiling"];
  const k = (round - 1) % 3;
  return [...three.slice(k), ...three.slice(0, k)];
}

function startServer(name: ServerName, port: number, whitelist: string, workDir: string, probeHash: Buffer): Promise<RunningServer> {
  switch (name) {
    case "opentracker": return startOpentracker(port, whitelist, workDir, probeHash);
    case "ours": return startOurs(port, workDir, probeHash);
    case "ceiling": return startCeiling(port, workDir, probeHash);
  }
}

/** Runs the load generator in its own process against 127.0.0.1:port. */
const loadProcs = new Set<Bun.Subprocess>();
async function runLoadProcess(o: CompareOptions, mode: LoadMode, port: number): Promise<{ result: LoadResult; cpuSeconds: number }> {
  const proc = Bun.spawn(
    [
      process.execPath, "run", join(REPO_ROOT, "bench/load/main.ts"),
      "--target", `127.0.0.1:${port}`, "--mode", mode, "--seconds", String(o.seconds),
      "--torrents", String(o.torrents), "--clients", String(o.clients), "--window", String(o.window),
      "--connections", String(o.connections), "--seed", String(o.seed), "--json",
    ],
    { cwd: REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  loadProcs.add(proc);
  const killer = setTimeout(() => proc.kill("SIGKILL"), (o.seconds + 60) * 1000);
  try {
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new Error(`load generator exited ${code}: ${err.slice(-1000)}`);
    const line = out.trim().split("\n").pop() ?? "";
    const usage = proc.resourceUsage();
    const cpuSeconds = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : NaN;
    return { result: JSON.parse(line) as LoadResult, cpuSeconds };
  } finally {
    clearTimeout(killer);
    loadProcs.delete(proc);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(Bun.argv.slice(2));
  const say = (text: string): void => void (o.json ? console.error(text) : console.log(text));
  if (!opentrackerInstalled()) fail("opentracker is not installed: apt-get install -y opentracker");

  const work = makeWorkDir("sc6-compare-");
  const whitelist = join(work.dir, "whitelist.txt");
  await writeWhitelist(whitelist, o.torrents, o.seed);
  const hashes = generateInfoHashes(o.torrents, o.seed);
  const probeHash = hashes.subarray((o.torrents - 1) * 20, o.torrents * 20);

  let interrupted = false;
  const onSignal = (signal: string): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping everything`);
    for (const p of loadProcs) p.kill("SIGKILL");
    void stopAll().finally(() => {
      work.remove();
      process.exit(130);
    });
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  const deadline = performance.now() + o.maxMinutes * 60_000;
  const perRunMs = (o.seconds + 8) * 1000; // load + start/stop/readiness, generously
  const records: RunRecord[] = [];
  const started = new Date().toISOString();
  say(
    `compare: ${o.modes.join(", ")} x ${o.rounds} rounds x ${o.seconds}s; ${o.torrents} torrents, ${o.clients} clients, ` +
      `window ${o.window}, connections ${o.connections}, seed ${o.seed}` +
      (o.ceiling ? (o.modes.includes("udp") ? "; udp with the ceiling" : "; --ceiling ignored (udp only)") : ""),
  );

  try {
    for (const mode of o.modes) {
      for (let round = 1; round <= o.rounds; round++) {
        for (const name of runOrder(o, mode, round)) {
          if (interrupted) return;
          if (performance.now() + perRunMs > deadline) {
            records.push({
              mode, round, server: name, result: null, rssKiB: null, serverCpuPercent: null, loadCpuPercent: null,
              error: "skipped: --max-minutes reached",
            });
            continue;
          }
          let server: RunningServer | null = null;
          try {
            const port = await freePort();
            server = await startServer(name, port, whitelist, work.dir, probeHash);
            const cpuBefore = readCpuSeconds(server.pid);
            const wallStart = performance.now();
            const { result, cpuSeconds } = await runLoadProcess(o, mode, port);
            const wall = (performance.now() - wallStart) / 1000;
            const cpuAfter = readCpuSeconds(server.pid);
            const rssKiB = readRssKiB(server.pid);
            const serverCpuPercent =
              cpuBefore === null || cpuAfter === null ? null : Math.round((100 * (cpuAfter - cpuBefore)) / wall);
            // Both over the generator process's whole life (start-up, warm-up, run): averages.
            const loadCpuPercent = Number.isFinite(cpuSeconds) ? Math.round((100 * cpuSeconds) / wall) : null;
            records.push({ mode, round, server: name, result, rssKiB, serverCpuPercent, loadCpuPercent });
            say(
              `  ${mode.padEnd(14)} round ${round} ${name.padEnd(11)} ${String(result.responsesPerSecond).padStart(7)} resp/s  ` +
                `p50 ${result.latencyUs.p50} µs  p99 ${result.latencyUs.p99} µs  lost ${result.lost}  invalid ${result.invalid}  ` +
                `RSS ${mib(rssKiB)} MiB  CPU server ${serverCpuPercent ?? "-"}% load ${loadCpuPercent ?? "-"}%`,
            );
            if (result.invalid > 0) say(`    invalid samples: ${result.invalidSamples.join(" | ")}`);
          } catch (e) {
            const error = (e as Error).message;
            records.push({ mode, round, server: name, result: null, rssKiB: null, serverCpuPercent: null, loadCpuPercent: null, error });
            say(`  ${mode} round ${round} ${name}: FAILED: ${error}`);
          } finally {
            await server?.stop();
          }
        }
      }
    }
  } finally {
    await stopAll();
    work.remove();
  }

  const summary = summarize(o, records);
  say("\n" + summary.text);
  if (o.json) {
    console.log(JSON.stringify({ started, options: o, runs: records, summary: summary.modes }, null, 2));
  }
}

interface ModeSummary {
  mode: LoadMode;
  ours: SideSummary;
  opentracker: SideSummary;
  /** Median over rounds of (ours / opentracker) responses per second. */
  ratio: number | null;
  /** With --ceiling, udp mode only: the ceiling's runs and the medians of the per-round ratios. */
  ceiling?: SideSummary;
  oursOverCeiling?: number | null;
  ceilingOverOpentracker?: number | null;
}

interface SideSummary {
  runs: number;
  responsesPerSecond: number | null;
  p50Us: number | null;
  p99Us: number | null;
  rssKiB: number | null;
  serverCpuPercent: number | null;
  loadCpuPercent: number | null;
  lost: number;
  invalid: number;
}

function summarize(o: CompareOptions, records: RunRecord[]): { text: string; modes: ModeSummary[] } {
  const modes: ModeSummary[] = [];
  const rows: (string | number)[][] = [
    [
      "mode", "ours resp/s", "ot resp/s", "ratio", "ours p50/p99 µs", "ot p50/p99 µs", "ours RSS MiB", "ot RSS MiB",
      "CPU% ours/ot", "load CPU%", "lost/invalid ours", "lost/invalid ot",
    ],
  ];
  for (const mode of o.modes) {
    const side = (name: ServerName): SideSummary => {
      const ok = records.filter((r) => r.mode === mode && r.server === name && r.result !== null);
      const pick = (f: (r: RunRecord) => number | null): number | null => {
        const v = ok.map(f).filter((x): x is number => x !== null);
        return v.length ? median(v) : null;
      };
      return {
        runs: ok.length,
        responsesPerSecond: pick((r) => r.result!.responsesPerSecond),
        p50Us: pick((r) => r.result!.latencyUs.p50),
        p99Us: pick((r) => r.result!.latencyUs.p99),
        rssKiB: pick((r) => r.rssKiB),
        serverCpuPercent: pick((r) => r.serverCpuPercent),
        loadCpuPercent: pick((r) => r.loadCpuPercent),
        lost: ok.reduce((a, r) => a + r.result!.lost, 0),
        invalid: ok.reduce((a, r) => a + r.result!.invalid, 0),
      };
    };
    /** Median over rounds of top / bottom responses per second (rounds where both ran). */
    const ratio = (top: ServerName, bottom: ServerName): number | null => {
      const ratios: number[] = [];
      for (let round = 1; round <= o.rounds; round++) {
        const a = records.find((r) => r.mode === mode && r.round === round && r.server === top)?.result;
        const b = records.find((r) => r.mode === mode && r.round === round && r.server === bottom)?.result;
        if (a && b && b.responsesPerSecond > 0) ratios.push(a.responsesPerSecond / b.responsesPerSecond);
      }
      return ratios.length ? median(ratios) : null;
    };
    const s: ModeSummary = { mode, ours: side("ours"), opentracker: side("opentracker"), ratio: ratio("ours", "opentracker") };
    if (o.ceiling && mode === "udp") {
      s.ceiling = side("ceiling");
      s.oursOverCeiling = ratio("ours", "ceiling");
      s.ceilingOverOpentracker = ratio("ceiling", "opentracker");
    }
    modes.push(s);
    const n = (v: number | null): string => (v === null ? "-" : String(Math.round(v)));
    rows.push([
      mode,
      n(s.ours.responsesPerSecond),
      n(s.opentracker.responsesPerSecond),
      s.ratio === null ? "-" : s.ratio.toFixed(2),
      `${n(s.ours.p50Us)}/${n(s.ours.p99Us)}`,
      `${n(s.opentracker.p50Us)}/${n(s.opentracker.p99Us)}`,
      mib(s.ours.rssKiB),
      mib(s.opentracker.rssKiB),
      `${n(s.ours.serverCpuPercent)}/${n(s.opentracker.serverCpuPercent)}`,
      `${n(s.ours.loadCpuPercent)}/${n(s.opentracker.loadCpuPercent)}`,
      `${s.ours.lost}/${s.ours.invalid}`,
      `${s.opentracker.lost}/${s.opentracker.invalid}`,
    ]);
  }
  const text =
    `Medians over ${o.rounds} round(s) of ${o.seconds}s; ratio = median of per-round ours/opentracker responses/s.\n` +
    table(rows) +
    ceilingText(modes) +
    "\nNote: opentracker closes every HTTP connection after its answer, so its http-keepalive figures are " +
    "reconnect-per-request (counted in `reconnects`).\n" +
    "CPU% is of one core over the run; a load CPU% near 100 means the generator, not the tracker, was the limit.";
  return { text, modes };
}

/** The ceiling's own small table (udp with --ceiling only); "" otherwise, so the output is as before. */
function ceilingText(modes: ModeSummary[]): string {
  const n = (v: number | null): string => (v === null ? "-" : String(Math.round(v)));
  const r2 = (v: number | null | undefined): string => (v === null || v === undefined ? "-" : v.toFixed(2));
  const rows: (string | number)[][] = [
    [
      "mode", "ceiling resp/s", "ours/ceiling", "ceiling/ot", "ceiling p50/p99 µs", "ceiling RSS MiB", "CPU% ceiling",
      "load CPU%", "lost/invalid ceiling",
    ],
  ];
  for (const s of modes) {
    const c = s.ceiling;
    if (!c) continue;
    rows.push([
      s.mode,
      n(c.responsesPerSecond),
      r2(s.oursOverCeiling),
      r2(s.ceilingOverOpentracker),
      `${n(c.p50Us)}/${n(c.p99Us)}`,
      mib(c.rssKiB),
      n(c.serverCpuPercent),
      n(c.loadCpuPercent),
      `${c.lost}/${c.invalid}`,
    ]);
  }
  if (rows.length === 1) return "";
  return (
    "\n\nCeiling: bench/compare/udp-ceiling.ts, Bun answering BEP 15 with no tracker work (not a tracker); " +
    "ratios = median of per-round ratios of responses/s.\n" +
    table(rows)
  );
}

await main();
process.exit(0);
