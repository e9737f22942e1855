/**
 * `sc6-tracker healthcheck [--pid N]`: is the tracker running as process N (default 1, a
 * container's main process) answering? For Docker's HEALTHCHECK, which cannot see the port the
 * tracker was given by a flag, a config file or TRACKER_PORT: this reads process N's own
 * command line, environment and working directory from /proc, settles its configuration as it
 * did (parseCommandLine), and asks that port: GET / over HTTP (the banner), or a BEP 15 connect
 * over UDP when HTTP is off. Exit 0: healthy; 1: not answering; 2: cannot tell (no such
 * process, not a tracker, bad arguments). Linux only.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { parseCommandLine } from "../config/config.ts";
import type { Config } from "../config/types.ts";

const TIMEOUT_MS = 2000;

type Out = (line: string) => void;

/**
 * The tracker's own arguments in a command line: after `bun [flags] [run] [flags] <…/main.ts>`,
 * or after the single binary's name (recognised by "sc6-tracker" in it: a renamed binary is
 * not). Null: not a tracker.
 */
export function trackerArgs(argv: string[]): string[] | null {
  if (argv.length === 0) return null;
  const name = argv[0]!.slice(argv[0]!.lastIndexOf("/") + 1);
  if (!/^bun(\.exe)?$/.test(name)) return name.includes("sc6-tracker") ? argv.slice(1) : null;
  let i = 1;
  const skipFlags = () => {
    while (i < argv.length && argv[i]!.startsWith("-")) i++;
  };
  skipFlags();
  if (argv[i] === "run") i++;
  skipFlags();
  if (i >= argv.length || !/(^|\/)main\.(ts|js)$/.test(argv[i]!)) return null;
  return argv.slice(i + 1);
}

/** Where to knock: the host a wildcard listener accepts on loopback. */
function probeHost(c: Config): string {
  if (c.host === "::" || c.host === "0.0.0.0" || c.host === "") return "127.0.0.1";
  return c.host.includes(":") ? `[${c.host}]` : c.host;
}

async function httpAnswers(c: Config): Promise<string | null> {
  try {
    const res = await fetch(`http://${probeHost(c)}:${c.port}/`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = await res.text();
    return res.status === 200 && body.startsWith("sc6-tracker") ? null : `HTTP ${res.status} from port ${c.port}, not the tracker's banner`;
  } catch (e) {
    return `no HTTP answer on port ${c.port}: ${(e as Error).message}`;
  }
}

async function udpAnswers(c: Config): Promise<string | null> {
  const host = probeHost(c).replace(/^\[|\]$/g, "");
  let answered: (ok: boolean) => void = () => {};
  const result = new Promise<boolean>((resolve) => (answered = resolve));
  const sock = await Bun.udpSocket({
    hostname: host.includes(":") ? "::1" : "127.0.0.1",
    socket: { data: (_s, buf) => answered(buf.length >= 16 && buf.readUInt32BE(0) === 0 && buf.readUInt32BE(4) === 0x5eed) },
  });
  const connect = Buffer.alloc(16);
  connect.writeUInt32BE(0x417, 0);
  connect.writeUInt32BE(0x27101980, 4);
  connect.writeUInt32BE(0, 8);
  connect.writeUInt32BE(0x5eed, 12);
  sock.send(connect, c.port, host);
  const timer = setTimeout(() => answered(false), TIMEOUT_MS);
  const ok = await result;
  clearTimeout(timer);
  sock.close();
  return ok ? null : `no BEP 15 answer on port ${c.port}/udp`;
}

export async function runHealthcheck(args: string[], out: Out, err: Out): Promise<number> {
  let pid = 1;
  if (args.length === 2 && args[0] === "--pid" && /^\d+$/.test(args[1]!)) pid = Number(args[1]);
  else if (args.length !== 0) {
    err("usage: sc6-tracker healthcheck [--pid N]   (N: the tracker's process, default 1)");
    return 2;
  }
  let argv: string[];
  let env: Record<string, string>;
  let cwd: string;
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a, i, all) => a !== "" || i < all.length - 1);
    env = Object.fromEntries(
      readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch (e) {
    err(`healthcheck: cannot read process ${pid}: ${(e as Error).message}`);
    return 2;
  }
  const trackerArgv = trackerArgs(argv);
  if (trackerArgv === null) {
    err(`healthcheck: process ${pid} is not a tracker (${argv.join(" ")})`);
    return 2;
  }
  const cli = parseCommandLine(trackerArgv, env, (path) => readFileSync(isAbsolute(path) ? path : join(cwd, path), "utf8"));
  if (cli.kind !== "run") {
    err(`healthcheck: process ${pid}'s settings do not parse: ${cli.kind === "error" ? cli.message : cli.kind}`);
    return 2;
  }
  const c = cli.config;
  const problem = c.http ? await httpAnswers(c) : await udpAnswers(c);
  if (problem !== null) {
    err(`healthcheck: ${problem}`);
    return 1;
  }
  out(`healthy: port ${c.port}/${c.http ? "tcp" : "udp"} answers`);
  return 0;
}
