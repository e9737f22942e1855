/**
 * sc6-tracker: `npx bun run src/main.ts [port] [interval] [options]`. Parses the command line,
 * starts the tracker, and stops it gracefully on SIGINT/SIGTERM.
 *
 * The program, room by room (README.md, "Architecture"). Imports go server -> rules -> store ->
 * protocol; operator only reads the rules and the store; config is read by all:
 *   config/      every setting declared once: flags, TRACKER_* variables, TOML, --help
 *   tracker.ts   wires the rooms below on one port and runs the timers
 *   server/      thin adapters per transport: HTTP (Bun.serve), UDP (Bun.udpSocket, BEP 15),
 *                WebSocket (WebTorrent)
 *   rules/       the tracker's rules, once for every transport: announce(), scrape()
 *   store/       the swarm store interface; the packed in-memory store behind it, or Redis/Valkey
 *                shared by several nodes
 *   protocol/    pure codecs: bencode, HTTP queries, BEP 15 packets, compact peers
 *   operator/    /stats, /metrics, /dashboard, full scrape, the load-driven interval, the terminal line,
 *                the state file's keeper
 *   access/      allow/deny lists and private mode's passkeys: the lists the rules consult,
 *                the keepers that load, watch and reload them, the key database
 *   cli/         `sc6-tracker keys ...`: passkeys from the command line; `healthcheck`
 */
import { AccessStartError } from "./access/access-list-keeper.ts";
import { parseCommandLine } from "./config/config.ts";
import { watchNpmWrapper } from "./operator/npm-wrapper.ts";
import { BindError } from "./server/bind-error.ts";
import { TlsStartError } from "./server/tls-start-error.ts";
import { startTracker, type Tracker } from "./tracker.ts";

// `sc6-tracker keys ...`: private mode's key management, on the same database (src/cli/keys.ts;
// loaded only here, so the tracker itself does not load SQLite unless --private asks for it).
if (process.argv[2] === "keys") {
  const { runKeysCommand } = await import("./cli/keys.ts");
  const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : s + "\n");
  const err = (s: string) => process.stderr.write(s.endsWith("\n") ? s : s + "\n");
  process.exit(await runKeysCommand(process.argv.slice(3), process.env, out, err));
}

// `sc6-tracker healthcheck [--pid N]`: for Docker's HEALTHCHECK (src/cli/healthcheck.ts).
if (process.argv[2] === "healthcheck") {
  const { runHealthcheck } = await import("./cli/healthcheck.ts");
  process.exit(await runHealthcheck(process.argv.slice(3), (s) => console.log(s), (s) => console.error(s)));
}

const cli = parseCommandLine(process.argv.slice(2), process.env);
switch (cli.kind) {
  case "help":
  case "version":
  case "print-config":
  case "check-config":
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
  // A list or database that does not load, or a port that cannot be had, is bad input, like a
  // bad setting: exit code 2.
  process.exit(e instanceof AccessStartError || e instanceof BindError || e instanceof TlsStartError ? 2 : 1);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) process.exit(0); // a second signal: leave now
  stopping = true;
  if (!config.quiet) console.log(`sc6-tracker: ${signal}, stopping`);
  const drained = tracker.stop(); // no new connections or datagrams from here on
  // The state file is written whole before anything can cut the exit short.
  await tracker.saveState(signal);
  // Answer what is in flight, but never hang: exit within 2 seconds whatever happens.
  setTimeout(() => process.exit(0), 2000).unref();
  await drained;
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
// Started by `npx bun run ...`: stop when npx is stopped (it cannot pass the signal on).
watchNpmWrapper(() => void shutdown("the npm process that started the tracker is gone"));
// None of these ends the process (by default every one of them would).
process.on("SIGHUP", () => {
  const next = parseCommandLine(process.argv.slice(2), process.env);
  if (next.kind !== "run") {
    const why = next.kind === "error" ? next.message : "no settings in the command line";
    console.error(`sc6-tracker: SIGHUP: configuration not reloaded, the running one stays: ${why}`);
    return;
  }
  const r = tracker.reload(next.config);
  const applied = r.applied.length === 0 ? "nothing changed that applies live" : `applied ${r.applied.join(" ")}`;
  const restart = r.needRestart.length === 0 ? "" : `; changed but needing a restart (not applied): ${r.needRestart.join(" ")}`;
  console.log(`sc6-tracker: SIGHUP: configuration reloaded: ${applied}${restart}`);
});
process.on("SIGUSR1", () => {
  if (tracker.state === null) console.log("sc6-tracker: SIGUSR1: no --state-file to write");
  else void tracker.saveState("SIGUSR1").then(() => console.log(`sc6-tracker: SIGUSR1: state ${tracker.state!.status.lastSaveResult === "ok" ? "written to" : "NOT written to"} ${tracker.state!.status.path}`));
});
process.on("SIGUSR2", () => console.log("sc6-tracker: SIGUSR2 ignored"));
