/**
 * Out of file descriptors: the CPU a server burns while more connections wait than it may open.
 *
 *   npx bun run bench/fd-exhaustion.ts [--runs 3] [--limit 256] [--connections 400] [--seconds 3]
 *
 * Each run starts, under `ulimit -n LIMIT`, (a) the tracker (src/main.ts, whose HTTP listener
 * pauses: server/http-listener.ts) and (b) the reference: a bare Bun.serve with the same limit,
 * which has no such guard. It opens CONNECTIONS idle TCP connections to each, waits a second,
 * then reads the process's CPU time (utime + stime from /proc/<pid>/stat) over SECONDS. Prints
 * each run and the medians as % of one core. Linux only; loopback only; bounded by the counts.
 */
import { connect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { parseOptions } from "./cli-args.ts";

const opts = parseOptions(process.argv.slice(2), "usage: bench/fd-exhaustion.ts [--runs N] [--limit N] [--connections N] [--seconds N]", {
  runs: [3, 1, 20],
  limit: [256, 64, 65536],
  connections: [400, 1, 100_000],
  seconds: [3, 1, 60],
});
const ROOT = `${import.meta.dir}/..`;
const TICKS = 100; // USER_HZ on Linux

const REFERENCE = `const s = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 120, fetch: () => new Response("ok") });
console.log("port " + s.port);`;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // fields 14 and 15: utime, stime
}

async function measure(what: "tracker" | "reference"): Promise<number> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const cmd = what === "tracker"
    ? [process.execPath, "run", `${ROOT}/src/main.ts`, String(port), "--host", "127.0.0.1", "--quiet", "--http-idle-timeout", "120", "--no-udp"]
    : [process.execPath, "-e", REFERENCE];
  const proc = Bun.spawn(["sh", "-c", `ulimit -n ${opts.limit} && exec "$@"`, "sh", ...cmd], { stdout: "pipe", stderr: "inherit" });
  let target = port;
  if (what === "reference") {
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    target = Number(/port (\d+)/.exec(new TextDecoder().decode(value))![1]);
  }
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`http://127.0.0.1:${target}/`);
      break;
    } catch {
      await Bun.sleep(25);
    }
  }
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < opts.connections; i++) {
      const s = connect(target, "127.0.0.1");
      s.on("error", () => {});
      sockets.push(s);
    }
    await Bun.sleep(1000);
    const before = cpuTicks(proc.pid);
    await Bun.sleep(opts.seconds * 1000);
    return ((cpuTicks(proc.pid) - before) / TICKS / opts.seconds) * 100;
  } finally {
    for (const s of sockets) s.destroy();
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const tracker: number[] = [];
const reference: number[] = [];
for (let r = 0; r < opts.runs; r++) {
  tracker.push(await measure("tracker"));
  reference.push(await measure("reference"));
  console.log(`run ${r + 1}: tracker ${tracker.at(-1)!.toFixed(1)}% of a core, bare Bun.serve ${reference.at(-1)!.toFixed(1)}%`);
}
console.log(
  `median over ${opts.runs} runs, ${opts.connections} connections over a limit of ${opts.limit}: ` +
    `tracker ${median(tracker).toFixed(1)}% of a core, bare Bun.serve ${median(reference).toFixed(1)}%`,
);
