/**
 * `npm run bench`: every mitata micro-benchmark in bench/, one after another, each in its own
 * process (so one's heap does not skew the next). `npm run bench -- swarm` runs the ones whose
 * file name contains "swarm". The load generator and the opentracker comparison are separate:
 * see bench/load and bench/compare (BENCHMARKS.md has the commands).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dir;
const filter = process.argv[2] ?? "";
const files = readdirSync(dir).filter((f) => f.endsWith(".bench.ts") && f.includes(filter)).sort();
let failed = 0;
for (const f of files) {
  console.log(`\n===== ${f} =====`);
  const p = Bun.spawnSync([process.execPath, "run", join(dir, f)], { stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
