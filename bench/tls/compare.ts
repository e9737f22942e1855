/**
 * HTTPS against HTTP and WSS against WS on ONE tracker process, in one run (issue 17).
 *
 *   npx bun run bench/tls/compare.ts [--rounds 3] [--seconds 5] [--pairs keepalive,close,ws] [--json]
 *
 * Makes a throw-away P-256 certificate for 127.0.0.1 (openssl) in a temp dir, starts one
 * tracker with plain HTTP/WS on its main port and HTTPS/WSS on --tls-port, spawned directly
 * (`process.execPath run src/main.ts ...`) so its pid is the tracker's, and loads it in rounds:
 *
 *   keepalive  bench/load http-keepalive, plain vs --tls   (TLS records on 64 long connections)
 *   close      bench/load http-close, plain vs --tls       (a new TCP connection, and a full TLS
 *              handshake, per announce: Bun's client resumes no session)
 *   ws         bench/ws/load.ts, ws:// vs wss://           (200 peers, 20 swarms, 5 offers)
 *
 * Each round runs every pair, plain and TLS back to back, which of the two goes first
 * alternating from round to round, so drift on a shared machine falls on both. The HTTP load
 * runs in this process (runLoad), the WebSocket load in its own (it is a script); the tracker's
 * CPU (user + system, /proc/PID/stat) is read when the load's measured window opens and when it
 * closes, so warm-up, connecting and closing are left out and CPU per response is over the same
 * responses as the rate. The client verifies the certificate (--ca), as a real client does.
 *
 * Reported per pair: medians over rounds of responses/s, tracker CPU seconds per 1000
 * responses and tracker cores used; the median of the per-round ratios TLS/plain; and
 * responses per tracker core-second (responses/s / cores used). For `close` that last figure is
 * new connections per second one core sustains; the handshake's own cost is the per-connection
 * CPU of HTTPS less that of HTTP. Responses: HTTP announces + scrapes; WebSocket: announce
 * answers + scrape answers (the relayed offers and answers are the tracker's work behind them).
 *
 * Loopback only; bounded (--max-minutes; each run has a deadline); the tracker and any load
 * process are stopped at the end, on error and on SIGINT/SIGTERM, and the temp dir removed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseOptions } from "../cli-args.ts";
import { freePort, readCpuSeconds, REPO_ROOT } from "../compare/servers.ts";
import { median, table } from "../compare/stats.ts";
import { loadOptions, type LoadMode } from "../load/options.ts";
import type { LoadResult } from "../load/result.ts";
import { runLoad } from "../load/run.ts";
import { stopProcess } from "../process-stop.ts";

const USAGE = `usage: npx bun run bench/tls/compare.ts [options]
  --rounds N          rounds, each runs every pair plain and TLS (default 3, at most 10)
  --seconds S         measured seconds per run (default 5, at most 60)
  --warmup S          unmeasured seconds before each (default 1)
  --pairs LIST        of keepalive,close,ws (default all three)
  --connections C     http: concurrent connections (default 64)
  --ws-connections N  ws: peers (default 200)   --swarms N (default 20)   --offers N (default 5)
  --max-minutes M     runs that would end later are skipped and reported (default 20)
  --json              print one JSON object on stdout (progress goes to stderr)`;

type PairName = "keepalive" | "close" | "ws";
const PAIRS: readonly PairName[] = ["keepalive", "close", "ws"];
const PAIR_LABEL: Record<PairName, [plain: string, tls: string]> = {
  keepalive: ["http-keepalive", "https-keepalive"],
  close: ["http-close", "https-close"],
  ws: ["ws", "wss"],
};

const argv = Bun.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const json = argv.includes("--json");
const o = parseOptions(
  argv.filter((a) => a !== "--json"),
  USAGE,
  {
    rounds: [3, 1, 10],
    seconds: [5, 1, 60],
    warmup: [1, 0, 10],
    connections: [64, 1, 1000],
    "ws-connections": [200, 1, 5000],
    swarms: [20, 1, 1000],
    offers: [5, 0, 50],
    "max-minutes": [20, 1, 120],
  },
  { pairs: PAIRS.join(",") },
);
const pairs = o.pairs!.split(",").map((p) => p.trim()).filter((p) => p !== "") as PairName[];
for (const p of pairs) {
  if (!PAIRS.includes(p)) {
    console.error(`error: --pairs: unknown pair "${p}" (of ${PAIRS.join(", ")})\n${USAGE}`);
    process.exit(2);
  }
}
const log = (line: string): void => console.error(line);
const say = (line: string): void => void (json ? console.error(line) : console.log(line));

interface Run {
  pair: PairName;
  round: number;
  tls: boolean;
  /** Responses per second over the measured window. */
  rate: number;
  responses: number;
  windowSeconds: number;
  trackerCpuSeconds: number;
  /** Tracker CPU seconds per 1000 responses. */
  cpuPer1000: number;
  /** Tracker CPU seconds per wall second of the window. */
  trackerCores: number;
  /** The load generator's CPU share over the window. */
  clientCores: number;
  /** What went wrong, by name (zeros left out). */
  problems: Record<string, number>;
  samples: string[];
  error?: string;
}

// --- the tracker ---------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), "sc6-tls-compare-"));
const certFile = join(work, "c.pem");
const keyFile = join(work, "k.pem");
const trackerLog = join(work, "tracker.log");
let tracker: Bun.Subprocess | null = null;
let wsLoad: Bun.Subprocess | null = null;
let cleaning: Promise<void> | null = null;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    wsLoad?.kill("SIGKILL");
    if (tracker !== null) await stopProcess(tracker);
    rmSync(work, { recursive: true, force: true });
  })();
  return cleaning;
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${signal}: stopping the tracker and the load`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function makeCert(): Promise<void> {
  const openssl = Bun.which("openssl");
  if (openssl === null) throw new Error("openssl not found (it makes the test certificate): apt-get install openssl");
  const p = Bun.spawn(
    [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", keyFile, "-out", certFile, "-subj", "/CN=bench", "-days", "30", "-addext", "subjectAltName=IP:127.0.0.1"],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  if ((await p.exited) !== 0) throw new Error(`openssl req failed: ${await new Response(p.stderr).text()}`);
}

function trackerAlive(): boolean {
  return tracker !== null && tracker.exitCode === null && tracker.signalCode === null;
}

function trackerLogTail(): string {
  try {
    return readFileSync(trackerLog, "utf8").slice(-2000);
  } catch {
    return "";
  }
}

async function startTracker(port: number, tlsPort: number, ca: string): Promise<string[]> {
  const args = [
    "run", "src/main.ts", String(port), "--host", "127.0.0.1", "--quiet",
    "--announces-per-minute", "0", "--ws-messages-per-minute", "0",
    "--tls-port", String(tlsPort), "--tls-cert", certFile, "--tls-key", keyFile,
  ];
  tracker = Bun.spawn([process.execPath, ...args], {
    cwd: REPO_ROOT,
    stdin: "ignore",
    stdout: Bun.file(trackerLog),
    stderr: Bun.file(trackerLog),
    env: { ...process.env, NODE_ENV: "production" },
  });
  // Ready once both ports answer an HTTP request (any status): a scrape, which adds no peer.
  const deadline = performance.now() + 30_000;
  const probe = "/scrape?info_hash=%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF";
  let last = "";
  while (performance.now() < deadline) {
    if (!trackerAlive()) throw new Error(`the tracker exited (${tracker.exitCode ?? tracker.signalCode}) before it was ready:\n${trackerLogTail()}`);
    try {
      await fetch(`http://127.0.0.1:${port}${probe}`, { signal: AbortSignal.timeout(1000) });
      await fetch(`https://127.0.0.1:${tlsPort}${probe}`, { tls: { ca }, signal: AbortSignal.timeout(1000) });
      return args;
    } catch (e) {
      last = (e as Error).message;
    }
    await Bun.sleep(100);
  }
  throw new Error(`the tracker is not ready after 30 s (${last}):\n${trackerLogTail()}`);
}

// --- one run -------------------------------------------------------------------------------

function nonzero(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== 0));
}

/** bench/load in this process; the tracker's CPU read as the measured window opens and closes. */
async function httpRun(pair: PairName, round: number, tls: boolean, port: number, tlsPort: number, pid: number): Promise<Run> {
  const mode: LoadMode = pair === "keepalive" ? "http-keepalive" : "http-close";
  const options = loadOptions(
    { host: "127.0.0.1", port: tls ? tlsPort : port, ipv6: false },
    { mode, seconds: o.seconds, warmup: o.warmup, connections: o.connections, tls: tls ? { caFile: certFile, verify: true } : null },
  );
  let cpu0 = NaN;
  let t0 = NaN;
  let client0 = process.cpuUsage();
  const open = (): void => {
    cpu0 = readCpuSeconds(pid) ?? NaN;
    t0 = performance.now();
    client0 = process.cpuUsage();
  };
  const timer = o.warmup > 0 ? setTimeout(open, o.warmup * 1000) : (open(), null);
  let r: LoadResult;
  try {
    r = await runLoad(options);
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
  const cpu1 = readCpuSeconds(pid) ?? NaN;
  const wall = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const trackerCpuSeconds = cpu1 - cpu0;
  return {
    pair, round, tls,
    rate: r.responsesPerSecond,
    responses: r.responses,
    windowSeconds: r.seconds,
    trackerCpuSeconds,
    cpuPer1000: (trackerCpuSeconds * 1000) / r.responses,
    trackerCores: trackerCpuSeconds / wall,
    clientCores: (client.user + client.system) / 1e6 / wall,
    problems: nonzero({
      lost: r.lost, invalid: r.invalid, sendErrors: r.sendErrors, handshakeFailures: r.handshakeFailures,
      reconnects: r.reconnects,
    }),
    samples: [...r.invalidSamples, ...(r.handshakeError === null ? [] : [`TLS: ${r.handshakeError}`])],
  };
}

interface WsResult {
  connected: number;
  seconds: number;
  announcesPerSec: number;
  scrapesPerSec: number;
  failures: number;
  timeouts: number;
  unsolicited: number;
  misrouted: number;
  unknown: number;
  badJson: number;
  connectFailures: number;
  closesUnexpected: number;
  notClosedAtEnd: number;
  clientCpuShare: number;
  failureSamples: string[];
}

/** bench/ws/load.ts in its own process, --mark-window telling when to read the tracker's CPU. */
async function wsRun(round: number, tls: boolean, port: number, tlsPort: number, pid: number): Promise<Run> {
  const args = [
    process.execPath, "run", "bench/ws/load.ts",
    "--target", tls ? `wss://127.0.0.1:${tlsPort}` : `ws://127.0.0.1:${port}`,
    ...(tls ? ["--ca", certFile] : []),
    "--connections", String(o["ws-connections"]), "--swarms", String(o.swarms), "--offers", String(o.offers),
    "--seconds", String(o.seconds), "--warmup", String(o.warmup), "--connect-timeout-ms", "15000",
    "--mark-window", "--json",
  ];
  const proc = Bun.spawn(args, { cwd: REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  wsLoad = proc;
  const killer = setTimeout(() => proc.kill("SIGKILL"), (o.seconds + o.warmup + 60) * 1000);
  let cpu0 = NaN;
  let cpu1 = NaN;
  let t0 = NaN;
  let t1 = NaN;
  let errText = "";
  const readErr = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      const text = decoder.decode(chunk, { stream: true });
      if (Number.isNaN(t0) && text.includes("window-start")) {
        cpu0 = readCpuSeconds(pid) ?? NaN;
        t0 = performance.now();
      }
      if (Number.isNaN(t1) && text.includes("window-end")) {
        cpu1 = readCpuSeconds(pid) ?? NaN;
        t1 = performance.now();
      }
      errText = (errText + text).slice(-4000);
    }
  })();
  try {
    const [out, code] = await Promise.all([new Response(proc.stdout as ReadableStream).text(), proc.exited, readErr]);
    if (code !== 0) throw new Error(`ws load exited ${code}: ${(errText || out).slice(-1000)}`);
    const r = JSON.parse(out.trim().split("\n").pop()!) as WsResult;
    const rate = r.announcesPerSec + r.scrapesPerSec;
    const responses = Math.round(rate * r.seconds);
    const wall = (t1 - t0) / 1000;
    const trackerCpuSeconds = cpu1 - cpu0;
    return {
      pair: "ws", round, tls,
      rate: Math.round(rate),
      responses,
      windowSeconds: r.seconds,
      trackerCpuSeconds,
      cpuPer1000: (trackerCpuSeconds * 1000) / responses,
      trackerCores: trackerCpuSeconds / wall,
      clientCores: r.clientCpuShare,
      problems: nonzero({
        notConnected: o["ws-connections"] - r.connected, connectFailures: r.connectFailures, failures: r.failures,
        timeouts: r.timeouts, unsolicited: r.unsolicited, misrouted: r.misrouted, unknown: r.unknown, badJson: r.badJson,
        closesUnexpected: r.closesUnexpected, notClosedAtEnd: r.notClosedAtEnd,
      }),
      samples: r.failureSamples,
    };
  } finally {
    clearTimeout(killer);
    wsLoad = null;
  }
}

// --- summary -------------------------------------------------------------------------------

interface PairSummary {
  pair: PairName;
  plain: string;
  tls: string;
  rounds: number;
  plainRate: number;
  tlsRate: number;
  /** Median of the per-round ratios TLS/plain. */
  rateRatio: number;
  plainCpuPer1000: number;
  tlsCpuPer1000: number;
  cpuRatio: number;
  plainTrackerCores: number;
  tlsTrackerCores: number;
  /** Responses per tracker core-second (responses/s / cores used): for close, connections. */
  plainPerCore: number;
  tlsPerCore: number;
  plainClientCores: number;
  tlsClientCores: number;
  /** close only: the handshake's own tracker CPU (TLS less plain, per connection), µs, and 1e6 / it. */
  handshakeMicros?: number;
  handshakesPerCoreSecond?: number;
}

function summarize(pair: PairName, runs: Run[]): PairSummary | null {
  const ok = runs.filter((r) => r.pair === pair && r.error === undefined);
  const rounds = [...new Set(ok.map((r) => r.round))].filter((n) => ok.filter((r) => r.round === n).length === 2);
  if (rounds.length === 0) return null;
  const side = (round: number, tls: boolean) => ok.find((r) => r.round === round && r.tls === tls)!;
  const med = (tls: boolean, f: (r: Run) => number) => median(rounds.map((n) => f(side(n, tls))));
  const ratio = (f: (r: Run) => number) => median(rounds.map((n) => f(side(n, true)) / f(side(n, false))));
  const perCore = (r: Run) => r.rate / r.trackerCores;
  const s: PairSummary = {
    pair,
    plain: PAIR_LABEL[pair][0],
    tls: PAIR_LABEL[pair][1],
    rounds: rounds.length,
    plainRate: med(false, (r) => r.rate),
    tlsRate: med(true, (r) => r.rate),
    rateRatio: ratio((r) => r.rate),
    plainCpuPer1000: med(false, (r) => r.cpuPer1000),
    tlsCpuPer1000: med(true, (r) => r.cpuPer1000),
    cpuRatio: ratio((r) => r.cpuPer1000),
    plainTrackerCores: med(false, (r) => r.trackerCores),
    tlsTrackerCores: med(true, (r) => r.trackerCores),
    plainPerCore: med(false, perCore),
    tlsPerCore: med(true, perCore),
    plainClientCores: med(false, (r) => r.clientCores),
    tlsClientCores: med(true, (r) => r.clientCores),
  };
  if (pair === "close") {
    s.handshakeMicros = median(rounds.map((n) => (side(n, true).cpuPer1000 - side(n, false).cpuPer1000) * 1000));
    s.handshakesPerCoreSecond = 1e6 / s.handshakeMicros;
  }
  return s;
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
const fix = (n: number, d: number): string => (Number.isFinite(n) ? n.toFixed(d) : "-");

function render(summaries: PairSummary[]): string {
  const rows: (string | number)[][] = [[
    "plain vs TLS", "plain resp/s", "TLS resp/s", "TLS/plain", "CPU s/1000 plain", "CPU s/1000 TLS", "CPU TLS/plain",
    "tracker cores plain, TLS", "resp per core-s plain", "resp per core-s TLS",
  ]];
  for (const s of summaries) {
    rows.push([
      `${s.plain} vs ${s.tls}`, int(s.plainRate), int(s.tlsRate), fix(s.rateRatio, 2), fix(s.plainCpuPer1000, 3),
      fix(s.tlsCpuPer1000, 3), fix(s.cpuRatio, 2), `${fix(s.plainTrackerCores, 2)}, ${fix(s.tlsTrackerCores, 2)}`,
      int(s.plainPerCore), int(s.tlsPerCore),
    ]);
  }
  const lines = [table(rows)];
  const close = summaries.find((s) => s.pair === "close");
  if (close !== undefined) {
    lines.push(
      "",
      `new TLS connections per second one tracker core sustains (https-close, a full handshake + an announce each): ${int(close.tlsPerCore)}` +
        ` (plain TCP connections: ${int(close.plainPerCore)});` +
        ` the handshake alone costs the tracker ${fix(close.handshakeMicros!, 0)} µs of CPU, ~${int(close.handshakesPerCoreSecond!)} handshakes per core-second`,
    );
  }
  return lines.join("\n");
}

// --- main ----------------------------------------------------------------------------------

const started = performance.now();
const runs: Run[] = [];
const skipped: string[] = [];
let exitCode = 0;
try {
  await makeCert();
  const ca = readFileSync(certFile, "utf8");
  const port = await freePort();
  let tlsPort = await freePort();
  while (tlsPort === port) tlsPort = await freePort();
  const trackerArgs = await startTracker(port, tlsPort, ca);
  const pid = tracker!.pid;
  log(`tracker pid ${pid}: HTTP/WS on 127.0.0.1:${port}, HTTPS/WSS on 127.0.0.1:${tlsPort} (P-256 certificate, CN=bench)`);
  log(`${o.rounds} rounds x ${pairs.join(", ")}, plain and TLS, ${o.seconds} s measured after ${o.warmup} s warm-up each`);

  const perRun = o.seconds + o.warmup + 3;
  for (let round = 1; round <= o.rounds && !interrupted; round++) {
    for (const pair of pairs) {
      const order = round % 2 === 1 ? [false, true] : [true, false];
      for (const tls of order) {
        if (interrupted) break;
        const label = PAIR_LABEL[pair][tls ? 1 : 0];
        if ((performance.now() - started) / 1000 + perRun > o["max-minutes"] * 60) {
          skipped.push(`round ${round} ${label}`);
          continue;
        }
        if (!trackerAlive()) throw new Error(`the tracker exited (${tracker!.exitCode ?? tracker!.signalCode}):\n${trackerLogTail()}`);
        let run: Run;
        try {
          run = pair === "ws" ? await wsRun(round, tls, port, tlsPort, pid) : await httpRun(pair, round, tls, port, tlsPort, pid);
        } catch (e) {
          run = {
            pair, round, tls, rate: NaN, responses: 0, windowSeconds: 0, trackerCpuSeconds: NaN, cpuPer1000: NaN,
            trackerCores: NaN, clientCores: NaN, problems: {}, samples: [], error: (e as Error).message,
          };
        }
        if (interrupted) break;
        runs.push(run);
        const problems = Object.entries(run.problems).map(([k, v]) => `${k} ${v}`).join(", ");
        log(
          run.error !== undefined
            ? `round ${round} ${label.padEnd(15)} ERROR ${run.error.split("\n")[0]}`
            : `round ${round} ${label.padEnd(15)} ${int(run.rate).padStart(7)} resp/s  tracker ${fix(run.trackerCores, 2)} cores, ` +
                `${fix(run.cpuPer1000, 3)} CPU s/1000  client ${fix(run.clientCores, 2)} cores${problems ? `  [${problems}]` : ""}`,
        );
        await Bun.sleep(300);
      }
    }
  }

  const summaries = pairs.map((p) => summarize(p, runs)).filter((s): s is PairSummary => s !== null);
  const problemTotals: Record<string, number> = {};
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.problems)) {
      const key = `${PAIR_LABEL[r.pair][r.tls ? 1 : 0]} ${k}`;
      problemTotals[key] = (problemTotals[key] ?? 0) + v;
    }
  }
  const errors = runs.filter((r) => r.error !== undefined).map((r) => `round ${r.round} ${PAIR_LABEL[r.pair][r.tls ? 1 : 0]}: ${r.error}`);
  const samples = [...new Set(runs.flatMap((r) => r.samples))].slice(0, 10);
  const trackerCommand = `${process.execPath} ${trackerArgs.join(" ")}`;
  if (json) {
    console.log(JSON.stringify({
      options: { ...o, pairs, json },
      tracker: { command: trackerCommand, pid },
      summary: summaries,
      problems: problemTotals,
      errors,
      samples,
      skipped,
      runs,
    }));
  } else {
    say("");
    say(`one tracker: ${trackerCommand.replaceAll(work, "$TMP")}`);
    say(`medians over ${o.rounds} rounds of ${o.seconds} s; TLS/plain = median of the per-round ratios; CPU = the tracker's, over the measured windows`);
    say("");
    say(render(summaries));
    say("");
    say(`problems (summed over runs): ${Object.keys(problemTotals).length ? JSON.stringify(problemTotals) : "none"}`);
    for (const e of errors) say(`error: ${e}`);
    for (const s of samples) say(`sample: ${s}`);
    if (skipped.length > 0) say(`skipped (--max-minutes): ${skipped.join(", ")}`);
  }
  if (errors.length > 0 || summaries.length < pairs.length) exitCode = 1;
} catch (e) {
  console.error(`error: ${(e as Error).message}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(interrupted ? 130 : exitCode);
