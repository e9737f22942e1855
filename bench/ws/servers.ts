/**
 * Starting and stopping the three WebSocket trackers under comparison, on 127.0.0.1 only:
 *
 *  - ours:  `bun run src/main.ts PORT --host 127.0.0.1 --quiet` (WebSocket upgrades at `/`);
 *  - floor: `bun run bench/ws/floor.ts PORT`, a Bun WebSocket relay with no tracker rules;
 *  - npm:   `node bench/ws/npm-server/server.mjs PORT`, npm bittorrent-tracker's WebSocket
 *           tracker (install it first: `cd bench/ws/npm-server && npm ci`).
 *
 * Each is spawned directly (no npx wrapper), so `pid` is the server itself, for RSS and CPU
 * from /proc. A server counts as ready once a WebSocket opens and an announce (event started,
 * no offers, for a probe info_hash no load uses) gets an announce answer; the probe socket is
 * closed again, so its peer leaves.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { announceHead, announceText, binaryString, prng } from "./protocol.ts";
import { stopProcess } from "../process-stop.ts";

export type WsServerName = "ours" | "floor" | "npm";
export const WS_SERVER_NAMES: WsServerName[] = ["ours", "floor", "npm"];

export interface RunningWsServer {
  name: WsServerName;
  port: number;
  pid: number;
  log: string;
  /** SIGTERM, then SIGKILL after 3 s; idempotent. */
  stop(): Promise<void>;
}

export const REPO_ROOT = resolve(import.meta.dir, "..", "..");
export const NPM_SERVER_DIR = join(REPO_ROOT, "bench", "ws", "npm-server");

const live = new Set<RunningWsServer>();

/** Stops every server still running (finally blocks, SIGINT handlers). */
export async function stopAllWs(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}

/**
 * Flags ours gets by default in these benches: a load peer sends ~60 messages a second (an
 * announce with 5 offers every ~0.1 s and an answer per offer received), a real one a few a
 * minute, and ours closes a connection past --ws-messages-per-minute (600 by default) with 1008.
 */
export const OURS_BENCH_ARGS = ["--ws-messages-per-minute", "0"];

export function serverCommand(name: WsServerName, port: number, extraArgs: string[] = []): { cmd: string[]; cwd: string } {
  switch (name) {
    case "ours":
      return {
        cmd: [process.execPath, "run", "src/main.ts", String(port), "--host", "127.0.0.1", "--quiet", ...extraArgs],
        cwd: REPO_ROOT,
      };
    case "floor":
      return { cmd: [process.execPath, "run", "bench/ws/floor.ts", String(port)], cwd: REPO_ROOT };
    case "npm": {
      const node = Bun.which("node");
      if (node === null) throw new Error("node is not installed (the npm server runs under Node)");
      if (!existsSync(join(NPM_SERVER_DIR, "node_modules", "bittorrent-tracker"))) {
        throw new Error("npm bittorrent-tracker is not installed: cd bench/ws/npm-server && npm ci");
      }
      return { cmd: [node, "server.mjs", String(port)], cwd: NPM_SERVER_DIR };
    }
  }
}

/** `extraArgs`: appended to ours' command line only (the others take none). */
export async function startWsServer(
  name: WsServerName, port: number, workDir: string, extraArgs: string[] = [], readyTimeoutMs = 30_000,
): Promise<RunningWsServer> {
  const { cmd, cwd } = serverCommand(name, port, extraArgs);
  const log = join(workDir, `${name}-${port}.log`);
  const proc = Bun.spawn(cmd, {
    cwd,
    stdin: "ignore",
    stdout: Bun.file(log),
    stderr: Bun.file(log),
    env: { ...process.env, NODE_ENV: "production" },
  });
  let stopping: Promise<void> | null = null;
  const server: RunningWsServer = {
    name,
    port,
    pid: proc.pid,
    log,
    stop() {
      stopping ??= (async () => {
        await stopProcess(proc);
        live.delete(server);
      })();
      return stopping;
    },
  };
  live.add(server);
  try {
    const deadline = performance.now() + readyTimeoutMs;
    let last = "no answer";
    while (performance.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        const text = await Bun.file(log).text().catch(() => "");
        throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${text.slice(-2000)}`);
      }
      last = await probeWs(port, 1000);
      if (last === "ok") return server;
      await Bun.sleep(100);
    }
    throw new Error(`${name} on port ${port} not ready after ${readyTimeoutMs} ms: ${last}`);
  } catch (e) {
    await server.stop();
    throw e;
  }
}

const PROBE_HASH = binaryString(prng(0xfeed), 20);

/** One WebSocket, one announce (started, no offers); "ok" on an announce answer. Never throws. */
export async function probeWs(port: number, waitMs: number): Promise<string> {
  return new Promise<string>((resolvePromise) => {
    let ws: WebSocket;
    let settled = false;
    const finish = (result: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        ws.close();
      } catch {
        // not open
      }
      resolvePromise(result);
    };
    const timer = setTimeout(() => finish("no answer in time"), waitMs);
    try {
      ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    } catch (e) {
      clearTimeout(timer);
      resolvePromise(`cannot open: ${(e as Error).message}`);
      return;
    }
    ws.onopen = () => {
      const peerId = binaryString(prng(Date.now() & 0xffff), 20, "-PROBE0-");
      ws.send(announceText(announceHead(PROBE_HASH, peerId), 1, "started", []));
    };
    ws.onmessage = (ev) => {
      const text = String(ev.data);
      try {
        const m = JSON.parse(text);
        if (m["failure reason"] !== undefined) finish(`refused: ${m["failure reason"]}`);
        else if (m.action === "announce" && (m.complete !== undefined || m.incomplete !== undefined)) finish("ok");
        else finish(`unexpected answer: ${text.slice(0, 200)}`);
      } catch {
        finish(`not JSON: ${text.slice(0, 200)}`);
      }
    };
    ws.onerror = () => finish("connection error");
    ws.onclose = (ev) => finish(`closed (${ev.code})`);
  });
}
