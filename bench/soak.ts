/**
 * Soak: the tracker (its own process, `--state-file` in a temporary directory, `--state-interval
 * 30`) under UDP load with churn for --minutes (default 10), then a restart from the state file.
 * Every 10 s it prints RSS (/proc/PID/status), the longest event-loop stall of the last minute,
 * peers and torrents (/stats?format=json) and when the state was last saved. At the end it
 * scrapes the first 74 torrents of the load, stops the tracker with SIGTERM, starts it again
 * from the file and scrapes them again: the counts must be the same.
 *
 *   npx bun run bench/soak.ts [--minutes N] [--torrents N] [--clients N]
 *
 * Loopback only; the load runs in bounded steps of at most 120 s (bench/load's limit).
 */
import { join } from "node:path";
import { parseOptions } from "./cli-args.ts";
import { freePort, makeWorkDir, readRssKiB, REPO_ROOT } from "./compare/servers.ts";
import { generateInfoHashes } from "./load/info-hashes.ts";

const o = parseOptions(Bun.argv.slice(2), "usage: npx bun run bench/soak.ts [--minutes N] [--torrents N] [--clients N]", {
  minutes: [10, 1, 30],
  torrents: [20_000, 1, 1_000_000],
  clients: [5_000, 1, 100_000],
});
const work = makeWorkDir("sc6-soak-");
const statePath = join(work.dir, "state");
const port = await freePort();

function startTracker() {
  const proc = Bun.spawn(
    [process.execPath, "run", "src/main.ts", String(port), "--host", "127.0.0.1", "--quiet", "--state-file", statePath, "--state-interval", "30"],
    { cwd: REPO_ROOT, stdin: "ignore", stdout: "inherit", stderr: "inherit" },
  );
  return proc;
}

async function waitReady(): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return;
    } catch {
      await Bun.sleep(25);
    }
  }
  throw new Error("the tracker did not come up");
}

interface Stats {
  swarm: { peers: number; torrents: number };
  loopStall: { longestLastMinuteMs: number } | null;
  state: { lastSavedAt: string | null; lastSaveMillis: number | null } | null;
}

const hashes = generateInfoHashes(o.torrents);
const sample = Math.min(74, o.torrents);
async function scrapeSample(): Promise<string> {
  let q = "";
  for (let i = 0; i < sample; i++) {
    const h = hashes.subarray(i * 20, i * 20 + 20);
    q += `${q === "" ? "" : "&"}info_hash=${[...h].map((b) => "%" + b.toString(16).padStart(2, "0")).join("")}`;
  }
  const body = new Uint8Array(await (await fetch(`http://127.0.0.1:${port}/scrape?${q}`)).arrayBuffer());
  return Bun.hash(body).toString(16); // the whole bencoded answer: every count of every torrent
}

let tracker = startTracker();
try {
  await waitReady();
  const t0 = performance.now();
  const endAt = t0 + o.minutes * 60_000;
  let sampling = true;
  const sampler = (async () => {
    console.log("   s   RSS MiB   peers  torrents  loop stall ms (last min)  state saved");
    while (sampling) {
      const s = (await (await fetch(`http://127.0.0.1:${port}/stats?format=json`)).json()) as Stats;
      const rss = (readRssKiB(tracker.pid) ?? 0) / 1024;
      console.log(
        `${String(Math.round((performance.now() - t0) / 1000)).padStart(4)}  ${rss.toFixed(1).padStart(8)}  ${String(s.swarm.peers).padStart(6)}  ` +
          `${String(s.swarm.torrents).padStart(8)}  ${String(s.loopStall?.longestLastMinuteMs ?? "?").padStart(24)}  ` +
          `${s.state?.lastSavedAt ?? "not yet"}${s.state?.lastSaveMillis == null ? "" : ` (${s.state.lastSaveMillis} ms)`}`,
      );
      for (let i = 0; i < 100 && sampling; i++) await Bun.sleep(100);
    }
  })();
  while (performance.now() < endAt - 5_000) {
    const seconds = Math.min(120, Math.floor((endAt - performance.now()) / 1000));
    const load = Bun.spawn(
      [
        process.execPath, "run", "bench/load/main.ts", "--target", `127.0.0.1:${port}`, "--mode", "udp", "--seconds", String(seconds),
        "--warmup", "0", "--torrents", String(o.torrents), "--clients", String(o.clients), "--stop", "0.05", "--json",
      ],
      { cwd: REPO_ROOT, stdin: "ignore", stdout: "pipe", stderr: "inherit" },
    );
    const r = JSON.parse(await new Response(load.stdout).text()) as { responsesPerSecond?: number; lost?: number; invalid?: number };
    console.log(`load step of ${seconds} s: ${Math.round(r.responsesPerSecond ?? 0)} answers/s, lost ${r.lost}, invalid ${r.invalid}`);
  }
  sampling = false;
  await sampler;

  const before = await scrapeSample();
  tracker.kill("SIGTERM");
  const code = await tracker.exited;
  tracker = startTracker();
  await waitReady();
  const after = await scrapeSample();
  console.log(`stopped with ${code}; restarted from ${statePath}: counts of the first ${sample} torrents ${before === after ? "identical" : "DIFFER"}`);
  if (before !== after) process.exitCode = 1;
} finally {
  tracker.kill("SIGKILL");
  work.remove();
}
