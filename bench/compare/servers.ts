/**
 * Starting and stopping the two trackers under comparison, on 127.0.0.1 only:
 *
 *  - ours:        `bun run src/main.ts PORT --host 127.0.0.1 --quiet` (without --quiet if
 *                 the tracker refuses the flag);
 *  - opentracker: Debian's build, which runs in whitelist mode: `-w FILE` must list every
 *                 info_hash of the load or each announce is refused. It drops privileges to
 *                 `nobody` and chroots into its working directory (a temp dir here) but keeps
 *                 its pid, which is checked against the owner of the port anyway;
 *  - ceiling:     not a tracker: `bun run bench/compare/udp-ceiling.ts PORT`, a Bun UDP
 *                 responder doing no tracker work (UDP only), for `main.ts --ceiling`.
 *
 * A server counts as ready once a UDP connect and an announce (event=started, then stopped
 * again, so no peer stays) for a whitelisted info_hash get proper answers: for opentracker
 * this also proves the whitelist was read (it accepts `stopped` for any hash, so the probe
 * must be a started). RSS comes from /proc/PID/status.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stopProcess } from "../process-stop.ts";

export type ServerName = "ours" | "opentracker" | "ceiling";

export interface RunningServer {
  name: ServerName;
  port: number;
  pid: number;
  /** SIGTERM, then SIGKILL after 3 s; idempotent. */
  stop(): Promise<void>;
}

/** The repository root (this file is bench/compare/servers.ts). */
export const REPO_ROOT = resolve(import.meta.dir, "..", "..");

const live = new Set<RunningServer>();

/** Stops every server still running (for SIGINT handlers and finally blocks). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}

/**
 * A temp directory removed by the returned function. World-readable: opentracker reads its
 * whitelist after dropping privileges to `nobody` (it silently refuses every hash otherwise).
 */
export function makeWorkDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A port free for both TCP and UDP on 127.0.0.1 (another process could still take it). */
export { freePort } from "../../test/support/ports.ts";

/** VmRSS of a process in KiB, or null if it is gone. */
export function readRssKiB(pid: number): number | null {
  return readStatusField(pid, "VmRSS");
}

/** VmHWM (peak RSS) in KiB, or null. */
export function readPeakRssKiB(pid: number): number | null {
  return readStatusField(pid, "VmHWM");
}

export function readStatusField(pid: number, field: string): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * CPU time (user + system, all threads) a process has used so far, in seconds, from
 * /proc/PID/stat; null if it is gone. Linux reports clock ticks of 1/100 s.
 */
export function readCpuSeconds(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The pid owning UDP port `port` on 127.0.0.1, via `ss`, or null. */
export function pidOfUdpPort(port: number): number | null {
  const out = Bun.spawnSync(["ss", "-lunpH", `sport = :${port}`]).stdout.toString();
  const m = /pid=(\d+)/.exec(out);
  return m ? Number(m[1]) : null;
}

export function opentrackerInstalled(): boolean {
  return Bun.which("opentracker") !== null;
}

function track(name: ServerName, port: number, proc: Bun.Subprocess, pid: number): RunningServer {
  let stopping: Promise<void> | null = null;
  const server: RunningServer = {
    name,
    port,
    pid,
    stop() {
      stopping ??= (async () => {
        await stopProcess(proc);
        live.delete(server);
      })();
      return stopping;
    },
  };
  live.add(server);
  return server;
}

/**
 * Starts opentracker on 127.0.0.1:port (TCP and UDP) with the given whitelist; `probeHash`
 * is one whitelisted info_hash (the last one written proves the whole file was read).
 */
export async function startOpentracker(
  port: number,
  whitelistPath: string,
  workDir: string,
  probeHash: Buffer,
  readyTimeoutMs = 30_000,
): Promise<RunningServer> {
  if (!opentrackerInstalled()) throw new Error("opentracker is not installed (apt-get install -y opentracker)");
  const log = join(workDir, `opentracker-${port}.log`);
  const proc = Bun.spawn(["opentracker", "-i", "127.0.0.1", "-p", String(port), "-P", String(port), "-w", whitelistPath], {
    cwd: workDir,
    stdin: "ignore",
    stdout: Bun.file(log),
    stderr: Bun.file(log),
  });
  const server = track("opentracker", port, proc, proc.pid);
  try {
    await waitReady(port, probeHash, proc, readyTimeoutMs, log);
    const owner = pidOfUdpPort(port);
    if (owner !== null && owner !== proc.pid) server.pid = owner;
    return server;
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/**
 * Starts our tracker on 127.0.0.1:port: from the repository (`bun run src/main.ts`), or the
 * compiled single binary at `binary` (`npm run build`).
 */
export async function startOurs(
  port: number, workDir: string, probeHash: Buffer, readyTimeoutMs = 30_000, binary?: string, args: string[] = [],
): Promise<RunningServer> {
  let lastError: unknown;
  for (const extra of [["--quiet"], []]) {
    const log = join(workDir, `ours-${port}-${extra.length}.log`);
    const command = binary === undefined ? [process.execPath, "run", "src/main.ts"] : [resolve(binary)];
    const proc = Bun.spawn([...command, String(port), "--host", "127.0.0.1", ...extra, ...args], {
      cwd: REPO_ROOT,
      stdin: "ignore",
      stdout: Bun.file(log),
      stderr: Bun.file(log),
      env: { ...process.env, NODE_ENV: "production" },
    });
    const server = track("ours", port, proc, proc.pid);
    try {
      await waitReady(port, probeHash, proc, readyTimeoutMs, log);
      return server;
    } catch (e) {
      lastError = e;
      await server.stop();
      const text = await Bun.file(log).text().catch(() => "");
      // Retry without --quiet only if that flag was the problem.
      if (!(extra.length > 0 && /quiet|unknown|unrecognized/i.test(text))) break;
    }
  }
  throw lastError;
}

/**
 * Starts the UDP ceiling (bench/compare/udp-ceiling.ts) on 127.0.0.1:port. It answers any
 * info_hash, so `probeHash` only keeps the readiness probe the same as the trackers'.
 */
export async function startCeiling(port: number, workDir: string, probeHash: Buffer, readyTimeoutMs = 30_000): Promise<RunningServer> {
  const log = join(workDir, `ceiling-${port}.log`);
  const proc = Bun.spawn([process.execPath, "run", "bench/compare/udp-ceiling.ts", String(port), "--host", "127.0.0.1"], {
    cwd: REPO_ROOT,
    stdin: "ignore",
    stdout: Bun.file(log),
    stderr: Bun.file(log),
    env: { ...process.env, NODE_ENV: "production" }, // as ours
  });
  const server = track("ceiling", port, proc, proc.pid);
  try {
    await waitReady(port, probeHash, proc, readyTimeoutMs, log);
    return server;
  } catch (e) {
    await server.stop();
    throw e;
  }
}

async function waitReady(port: number, probeHash: Buffer, proc: Bun.Subprocess, timeoutMs: number, log: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = "no answer";
  while (performance.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const text = await Bun.file(log).text().catch(() => "");
      throw new Error(`server exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${text.slice(-2000)}`);
    }
    last = await probeUdp(port, probeHash, 200);
    if (last === "ok") return;
    await Bun.sleep(100);
  }
  throw new Error(`server on port ${port} not ready after ${timeoutMs} ms: ${last}`);
}

/**
 * One UDP connect, then announce(started) and announce(stopped) for `infoHash`; "ok" if the
 * answers are proper, otherwise a short description. Never throws.
 */
export async function probeUdp(port: number, infoHash: Buffer, waitMs: number): Promise<string> {
  let resolveReply: (b: Buffer | null) => void = () => {};
  let socket: Bun.udp.ConnectedSocket<"buffer"> | null = null;
  try {
    socket = await Bun.udpSocket({
      hostname: "127.0.0.1",
      port: 0,
      connect: { hostname: "127.0.0.1", port },
      socket: {
        data(_s, buf) {
          resolveReply(Buffer.from(buf));
        },
        error() {},
      },
    });
    const ask = (packet: Buffer): Promise<Buffer | null> =>
      new Promise<Buffer | null>((res) => {
        resolveReply = res;
        const t = setTimeout(() => res(null), waitMs);
        try {
          socket!.send(packet);
        } catch {
          clearTimeout(t);
          res(null);
        }
      });
    const connect = Buffer.from("0000041727101980000000000000abcd", "hex");
    const c = await ask(connect);
    if (!c || c.length !== 16 || c.readUInt32BE(0) !== 0 || c.readUInt32BE(4) !== 0xabcd) return "no connect answer";
    const announce = Buffer.alloc(98);
    c.copy(announce, 0, 8, 16);
    announce.writeUInt32BE(1, 8);
    infoHash.copy(announce, 16, 0, 20);
    announce.write("-PROBE0-000000000000", 36, "latin1");
    announce.writeInt32BE(0, 92);
    announce.writeUInt16BE(9, 96);
    for (const [event, txid] of [[2, 0xabce], [3, 0xabcf]] as const) {
      announce.writeUInt32BE(txid, 12);
      announce.writeUInt32BE(event, 80);
      const a = await ask(announce);
      if (!a || a.length < 8) return "no announce answer";
      if (a.readUInt32BE(0) === 3) return `announce refused: ${a.toString("latin1", 8)}`;
      if (a.readUInt32BE(0) !== 1 || a.readUInt32BE(4) !== txid || a.length < 20) {
        return `bad announce answer (${a.toString("hex", 0, Math.min(a.length, 20))})`;
      }
    }
    return "ok";
  } catch (e) {
    return `probe failed: ${(e as Error).message}`;
  } finally {
    socket?.close();
  }
}
