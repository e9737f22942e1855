/**
 * sc6-tracker: `npx bun run src/main.ts [port] [interval] [options]`. Parses the command line,
 * starts the tracker, and stops it gracefully on SIGINT/SIGTERM.
 *
 * The program, room by room (README.md, "Architecture"). Imports go server -> rules -> store ->
 * protocol; operator only reads the rules and the store; config is read by all:
 *   config/      every setting declared once: flags, TRACKER_* variables, TOML, --help
 *   tracker.ts   wires the rooms below on one port and runs the timers
 *   server/      thin adapters per transport: HTTP (Bun.serve), UDP (Bun.udpSocket, BEP 15)
 *   rules/       the tracker's rules, once for every transport: announce(), scrape()
 *   store/       the swarm store interface, and the packed in-memory store behind it
 *   protocol/    pure codecs: bencode, HTTP queries, BEP 15 packets, compact peers
 *   operator/    /stats, /metrics, full scrape, the load-driven interval, the terminal line
 */
import { parseCommandLine } from "./config/config.ts";
import { startTracker, type Tracker } from "./tracker.ts";

const cli = parseCommandLine(process.argv.slice(2), process.env);
switch (cli.kind) {
  case "help":
  case "print-config":
    process.stdout.write(cli.text.endsWith("\n") ? cli.text : cli.text + "\n");
    process.exit(0);
  case "error":
    process.stderr.write(`sc6-tracker: ${cli.message}\nTry 'sc6-tracker --help' for usage.\n`);
    process.exit(2);
}
const config = cli.config;

let tracker: Tracker;
try {
  tracker = await startTracker(config);
} catch (e) {
  process.stderr.write(`sc6-tracker: cannot start: ${(e as Error).message}\n`);
  process.exit(1);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) process.exit(0); // a second signal: leave now
  stopping = true;
  if (!config.quiet) console.log(`sc6-tracker: ${signal}, stopping`);
  // Answer what is in flight, but never hang: exit within 2 seconds whatever happens.
  setTimeout(() => process.exit(0), 2000).unref();
  await tracker.stop();
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
