/**
 * Announce throughput with a 1,000,000-entry access list against access-mode off, the same
 * tracker code in the same run (issue 13's goal: within 5% of off).
 *
 *   npx bun run bench/access-list-load.ts [--rounds 3] [--seconds 8] [--mode udp|http-keepalive] [--entries 1000000]
 *
 * Three configurations of our tracker, each started fresh per run on a free port and loaded by
 * bench/load/main.ts in its own process (10,000 torrents, the load's defaults otherwise):
 *   off     no list
 *   allow   --access-mode allow with ENTRIES hashes, the load's 10,000 among them: every lookup hits
 *   deny    --access-mode deny with ENTRIES other hashes: every lookup misses
 * The order rotates from round to round. Prints each run and the medians of the per-round
 * ratios against off: of answers per second, and of the tracker's CPU time per answer (utime +
 * stime over the run), which a busy shared machine disturbs far less than the rate. Loopback
 * only; each load run is bounded by --seconds.
 */
import { join } from "node:path";
import { parseOptions } from "./cli-args.ts";
import { generateInfoHashes, writeWhitelist } from "./load/info-hashes.ts";
import type { LoadResult } from "./load/result.ts";
import { freePort, makeWorkDir, readCpuSeconds, REPO_ROOT, startOurs, stopAll } from "./compare/servers.ts";
import { median } from "./compare/stats.ts";

const opts = parseOptions(
  process.argv.slice(2),
  "usage: bench/access-list-load.ts [--rounds N] [--seconds N] [--mode udp|http-keepalive] [--entries N]",
  { rounds: [3, 1, 20], seconds: [8, 2, 60], entries: [1_000_000, 1, 10_000_000] },
  { mode: "udp" },
);
const mode = opts.mode ?? "udp";
if (mode !== "udp" && mode !== "http-keepalive" && mode !== "http-close") {
  console.error("--mode must be udp, http-keepalive or http-close");
  process.exit(2);
}
const TORRENTS = 10_000;
const work = makeWorkDir("sc6-access-load-");
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));

type Name = "off" | "allow" | "deny";
const NAMES: Name[] = ["off", "allow", "deny"];
const allowList = join(work.dir, "allow.txt");
const denyList = join(work.dir, "deny.txt");
await writeWhitelist(allowList, opts.entries, 1); // the load uses seed 1: its torrents are the first 10,000
await writeWhitelist(denyList, opts.entries, 2); // another seed: none of the load's torrents
const ARGS: Record<Name, string[]> = {
  off: [],
  allow: ["--access-mode", "allow", "--access-list", allowList],
  deny: ["--access-mode", "deny", "--access-list", denyList],
};
const probe = generateInfoHashes(1, 1);

async function runLoad(port: number): Promise<LoadResult> {
  const proc = Bun.spawn(
    [process.execPath, "run", join(REPO_ROOT, "bench/load/main.ts"), "--target", `127.0.0.1:${port}`, "--mode", mode,
      "--seconds", String(opts.seconds), "--torrents", String(TORRENTS), "--json"],
    { cwd: REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const killer = setTimeout(() => proc.kill("SIGKILL"), (opts.seconds + 60) * 1000);
  try {
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new Error(`load generator exited ${code}: ${err.slice(-500)}`);
    return JSON.parse(out.trim().split("\n").pop()!) as LoadResult;
  } finally {
    clearTimeout(killer);
  }
}

const rates: Record<Name, number[]> = { off: [], allow: [], deny: [] };
/** The tracker's CPU microseconds per answer. */
const cpu: Record<Name, number[]> = { off: [], allow: [], deny: [] };
try {
  for (let round = 0; round < opts.rounds; round++) {
    const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length]!);
    for (const name of order) {
      const port = await freePort();
      const server = await startOurs(port, work.dir, probe, 60_000, undefined, ARGS[name]);
      try {
        const cpu0 = readCpuSeconds(server.pid) ?? NaN;
        const r = await runLoad(port);
        const usPerAnswer = (((readCpuSeconds(server.pid) ?? NaN) - cpu0) * 1e6) / r.responses;
        if (r.invalid > 0) throw new Error(`${name}: ${r.invalid} invalid answers (a refused torrent?)`);
        rates[name].push(r.responsesPerSecond);
        cpu[name].push(usPerAnswer);
        console.log(`round ${round + 1} ${name.padEnd(5)} ${Math.round(r.responsesPerSecond).toLocaleString("en-US")} answers/s, ${usPerAnswer.toFixed(2)} µs CPU/answer`);
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  await stopAll();
  work.remove();
}
const ratio = (name: Name) => median(rates[name].map((r, i) => r / rates.off[i]!));
const cpuRatio = (name: Name) => median(cpu[name].map((c, i) => c / cpu.off[i]!));
console.log(
  `${mode}, ${opts.rounds} rounds, ${opts.entries.toLocaleString("en-US")}-entry lists: median answers/s ` +
    `off ${Math.round(median(rates.off)).toLocaleString("en-US")}, allow ${Math.round(median(rates.allow)).toLocaleString("en-US")} ` +
    `(${ratio("allow").toFixed(3)}x off), deny ${Math.round(median(rates.deny)).toLocaleString("en-US")} (${ratio("deny").toFixed(3)}x off); ` +
    `CPU per answer: off ${median(cpu.off).toFixed(2)} µs, allow ${cpuRatio("allow").toFixed(3)}x off, deny ${cpuRatio("deny").toFixed(3)}x off`,
);
