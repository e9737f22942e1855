/**
 * The load generator's command line. See USAGE in options.ts, and bench/compare/README.md.
 *
 *   bun run bench/load/main.ts --target 127.0.0.1:6969 --mode udp --seconds 10 --json
 */
import { writeWhitelist } from "./info-hashes.ts";
import { parseLoadArgs, USAGE, wsLoadArgs } from "./options.ts";
import { formatResult } from "./result.ts";
import { runLoad } from "./run.ts";

const wsArgs = wsLoadArgs(Bun.argv.slice(2));
if (wsArgs !== null) {
  const wsLoad = new URL("../ws/load.ts", import.meta.url).pathname;
  const child = Bun.spawn([process.execPath, "run", wsLoad, ...wsArgs], { stdio: ["inherit", "inherit", "inherit"] });
  process.exit(await child.exited);
}

const parsed = parseLoadArgs(Bun.argv.slice(2));
if (!parsed.ok) {
  if (parsed.error) console.error(`error: ${parsed.error}\n`);
  console.error(USAGE);
  process.exit(parsed.error ? 2 : 0);
}
const { options, writeWhitelist: whitelist } = parsed;
if (whitelist !== null) {
  await writeWhitelist(whitelist.path, whitelist.torrents, whitelist.seed);
  console.error(`wrote ${whitelist.torrents} info_hashes (seed ${whitelist.seed}) to ${whitelist.path}`);
}
if (options !== null) {
  const result = await runLoad(options);
  console.log(options.json ? JSON.stringify(result) : formatResult(result));
}
process.exit(0);
