/**
 * Idle WebSocket connections held by a tracker: open N (default 50,000) connections, each
 * announcing once (event started, no offers) and then staying idle (answering pings), and
 * record the server's RSS at every `--step` (10,000) connections. Bounded in time
 * (`--max-seconds`); every connection is closed and every process it started is stopped at the
 * end, in finally and on SIGINT/SIGTERM.
 *
 *   npx bun run bench/ws/hold.ts [--server ours|floor|npm] [--connections 50000] [--sources 4]
 *   npx bun run bench/ws/hold.ts --target ws://127.0.0.1:PORT --pid PID ...   (a running server)
 *
 * How the connections get made, given this machine's limits:
 *  - Bun's WebSocket client cannot bind a source address, so the connections are made by a
 *    minimal WebSocket client of its own on Bun.connect, which does bind one (`localAddress`,
 *    present in Bun 1.x but not in its types): connection j leaves from 127.0.0.(1 + j mod
 *    --sources). One source address has ip_local_port_range ports towards one server port
 *    (32768-60999: 28,232 here), so 50,000 need 2 sources or more.
 *  - A process has RLIMIT_NOFILE descriptors (`ulimit -n`; 20,000 soft and hard here, no
 *    CAP_SYS_RESOURCE to raise it), so the connections are spread over worker processes (this
 *    file with --worker), `--per-process` (15,000) each.
 *  - The server needs one descriptor per connection: N is capped at the server's own limit less
 *    100 unless --beyond-limit is given (then accept() starts failing with EMFILE).
 */
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, readRssKiB } from "../compare/servers.ts";
import { announceHead, announceText, assertLoopbackUrl, parseArgs, peerIdFor, prng, swarmInfoHashes } from "./protocol.ts";
import { REPO_ROOT, startWsServer, stopAllWs, type RunningWsServer, type WsServerName } from "./servers.ts";

const USAGE = `usage: npx bun run bench/ws/hold.ts [options]
  --server NAME        start and measure ours | floor | npm (default ours)
  --target URL --pid N measure a server already running instead (RSS of pid N)
  --connections N      idle connections to reach (default 50000)
  --step N             RSS recorded every N connections (default 10000)
  --sources N          source addresses 127.0.0.1..127.0.0.N (default 4)
  --swarms N           swarms the peers announce in (default 1000)
  --per-process N      connections per worker process (default 15000, below ulimit -n)
  --concurrency N      handshakes in flight per worker (default 256)
  --settle-ms MS       wait before each RSS reading (default 1000)
  --hold-seconds S     stay idle at the top before closing (default 5)
  --max-seconds S      overall bound (default 600)
  --beyond-limit       do not cap N at the server's descriptor limit
  --json               print one JSON object on stdout`;

// ---------------------------------------------------------------------------------------------
// Worker: a minimal WebSocket client (RFC 6455, client side: masked frames, text only).
// ---------------------------------------------------------------------------------------------

interface ConnState {
  id: number;
  source: string;
  /** 0 connecting, 1 handshake sent, 2 open (announce sent), 3 announced, 4 closed. */
  phase: number;
  pending: Buffer | null;
}

interface WorkerReport {
  opened: number;
  announced: number;
  failed: number;
  closedByServer: number;
  open: number;
  sourceMismatch: number;
  failures: Record<string, number>;
  pings: number;
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const headLen = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headLen + 4 + n);
  frame[0] = 0x80 | opcode;
  if (n < 126) frame[1] = 0x80 | n;
  else if (n < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  frame.set(mask, headLen);
  for (let i = 0; i < n; i++) frame[headLen + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

async function worker(args: { target: string; firstId: number; sources: number; swarms: number; concurrency: number }): Promise<void> {
  const url = assertLoopbackUrl(args.target);
  const host = url.hostname;
  const port = Number(url.port);
  const hashes = swarmInfoHashes(args.swarms, 0x401d);
  const rand = prng(0x401d + args.firstId);
  const report: WorkerReport = { opened: 0, announced: 0, failed: 0, closedByServer: 0, open: 0, sourceMismatch: 0, failures: {}, pings: 0 };
  const sockets = new Set<Bun.Socket<ConnState>>();
  let nextId = args.firstId;
  let inFlight = 0;
  let closing = false;
  let wake: (() => void) | null = null;
  const fail = (why: string) => {
    report.failed++;
    report.failures[why] = (report.failures[why] ?? 0) + 1;
  };
  const settle = () => {
    inFlight--;
    wake?.();
  };

  const handleFrames = (s: Bun.Socket<ConnState>, st: ConnState) => {
    let buf = st.pending!;
    while (buf.length >= 2) {
      const opcode = buf[0]! & 0x0f;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) break;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (opcode === 0x9) {
        report.pings++;
        s.write(maskedFrame(0xa, Buffer.from(payload)));
      } else if (opcode === 0x8) {
        s.end();
      } else if (opcode === 0x1 && st.phase === 2) {
        const text = payload.toString("utf8");
        if (text.includes('"failure reason"')) {
          fail(`failure: ${text.slice(0, 120)}`);
          st.phase = 3;
          settle();
        } else if (text.includes('"complete"') || text.includes('"incomplete"')) {
          report.announced++;
          st.phase = 3;
          settle();
        }
      }
    }
    st.pending = buf.length > 0 ? Buffer.from(buf) : null;
  };

  const openOne = async (id: number) => {
    const source = `127.0.0.${1 + (id % args.sources)}`;
    const st: ConnState = { id, source, phase: 0, pending: null };
    inFlight++;
    const options = {
      hostname: host,
      port,
      localAddress: source, // not in Bun's types; honoured by Bun.connect (checked below)
      data: st,
      socket: {
        open(s: Bun.Socket<ConnState>) {
          if (s.localAddress !== source) report.sourceMismatch++;
          sockets.add(s);
          st.phase = 1;
          const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
          s.write(
            `GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          );
        },
        data(s: Bun.Socket<ConnState>, chunk: Buffer) {
          const state = s.data;
          state.pending = state.pending ? Buffer.concat([state.pending, chunk]) : Buffer.from(chunk);
          if (state.phase === 1) {
            const end = state.pending.indexOf("\r\n\r\n");
            if (end < 0) return;
            const head = state.pending.toString("latin1", 0, end);
            if (!head.startsWith("HTTP/1.1 101")) {
              fail(`handshake: ${head.split("\r\n")[0]}`);
              state.phase = 4;
              settle();
              s.end();
              return;
            }
            report.opened++;
            state.phase = 2;
            state.pending = state.pending.length > end + 4 ? Buffer.from(state.pending.subarray(end + 4)) : null;
            const peerId = peerIdFor(rand);
            const text = announceText(announceHead(hashes[state.id % hashes.length]!, peerId), state.id % 2 ? 0 : 1000, "started", []);
            s.write(maskedFrame(0x1, Buffer.from(text, "utf8")));
            if (state.pending === null) return;
          }
          handleFrames(s, state);
        },
        close(s: Bun.Socket<ConnState>) {
          const state = s.data;
          sockets.delete(s);
          if (state.phase === 3 && !closing) report.closedByServer++;
          if (state.phase === 1 || state.phase === 2) {
            fail(state.phase === 1 ? "closed before the handshake answer" : "closed before the announce answer");
            settle();
          }
          state.phase = 4;
        },
        error(s: Bun.Socket<ConnState>, e: Error) {
          report.failures[`socket error: ${e.message}`] = (report.failures[`socket error: ${e.message}`] ?? 0) + 1;
        },
        connectError(_s: Bun.Socket<ConnState>, e: Error) {
          fail(`connect: ${(e as Error & { code?: string }).code ?? e.message}`);
          st.phase = 4;
          settle();
        },
      },
    };
    try {
      await Bun.connect(options as unknown as Bun.TCPSocketConnectOptions<ConnState>);
    } catch (e) {
      if (st.phase === 0) {
        fail(`connect: ${(e as Error & { code?: string }).code ?? (e as Error).message}`);
        st.phase = 4;
        settle();
      }
    }
  };

  const openMany = async (n: number, deadlineMs: number) => {
    const stop = performance.now() + deadlineMs;
    let started = 0;
    while (started < n && performance.now() < stop) {
      while (inFlight >= args.concurrency) await new Promise<void>((r) => (wake = r));
      wake = null;
      void openOne(nextId++);
      started++;
    }
    while (inFlight > 0 && performance.now() < stop) await Bun.sleep(20);
  };

  const emit = (kind: string) => {
    report.open = sockets.size;
    console.log(JSON.stringify({ kind, ...report }));
  };

  for await (const line of console) {
    const [cmd, arg, deadline] = line.trim().split(" ");
    if (cmd === "open") {
      await openMany(Number(arg), Number(deadline ?? 120_000));
      emit("done");
    } else if (cmd === "status") {
      emit("status");
    } else if (cmd === "close") {
      closing = true;
      for (const s of sockets) s.end(maskedFrame(0x8, Buffer.from([0x03, 0xe8])));
      const stop = performance.now() + 5000;
      while (sockets.size > 0 && performance.now() < stop) await Bun.sleep(20);
      for (const s of sockets) s.terminate();
      emit("closed");
      process.exit(0);
    }
  }
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Coordinator.
// ---------------------------------------------------------------------------------------------

function nofileLimit(pid: number | "self"): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    return m && m[1] !== "unlimited" ? Number(m[1]) : Infinity;
  } catch {
    return NaN;
  }
}

interface Worker {
  proc: Bun.Subprocess<"pipe", "pipe", "inherit">;
  quota: number;
  assigned: number;
  lines: AsyncIterator<string>;
  last: WorkerReport | null;
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, i);
      rest = rest.slice(i + 1);
    }
  }
}

async function ask(w: Worker, command: string, timeoutMs: number): Promise<WorkerReport | null> {
  w.proc.stdin.write(command + "\n");
  w.proc.stdin.flush();
  const next = w.lines.next();
  const got = await Promise.race([next, Bun.sleep(timeoutMs).then(() => null)]);
  if (got === null || got.done) return null;
  try {
    w.last = JSON.parse(got.value) as WorkerReport;
    return w.last;
  } catch {
    return null;
  }
}

async function coordinator(): Promise<void> {
  const opts = parseArgs(
    process.argv.slice(2),
    {
      server: "ours",
      target: "",
      pid: 0,
      connections: 50_000,
      step: 10_000,
      sources: 4,
      swarms: 1000,
      perProcess: 15_000,
      concurrency: 256,
      settleMs: 1000,
      holdSeconds: 5,
      maxSeconds: 600,
      beyondLimit: false,
      json: false,
    },
    USAGE,
  );
  const log = (s: string) => console.error(s);
  const deadline = performance.now() + Math.min(3600, opts.maxSeconds) * 1000;
  const remaining = () => Math.max(0, deadline - performance.now());
  const sources = Math.max(1, Math.min(254, Math.floor(opts.sources)));
  const portRange = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const portsPerSource = portRange[1]! - portRange[0]! + 1;
  const ownLimit = nofileLimit("self");
  const perProcess = Math.max(100, Math.min(Math.floor(opts.perProcess), ownLimit - 200));

  const work = mkdtempSync(join(tmpdir(), "ws-hold-"));
  const workers: Worker[] = [];
  let server: RunningWsServer | null = null;
  let interrupted = false;
  const cleanup = async () => {
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
    await stopAllWs();
    rmSync(work, { recursive: true, force: true });
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      interrupted = true;
      log(`\n${sig}: stopping`);
      void cleanup().then(() => process.exit(130));
    });
  }

  const milestones: { connections: number; rssKiB: number; perConnBytes: number | null; seconds: number }[] = [];
  const result: Record<string, unknown> = {};
  try {
    let target: string;
    let pid: number;
    if (opts.target) {
      if (!opts.pid) throw new Error("--target needs --pid (the server's pid, for its RSS)");
      target = assertLoopbackUrl(opts.target).toString();
      pid = opts.pid;
    } else {
      const port = await freePort();
      server = await startWsServer(opts.server as WsServerName, port, work);
      target = `ws://127.0.0.1:${port}/`;
      pid = server.pid;
    }
    const serverLimit = nofileLimit(pid);
    let n = Math.max(1, Math.floor(opts.connections));
    const cap = serverLimit - 100;
    let capped = false;
    if (!opts.beyondLimit && n > cap) {
      log(`the server's descriptor limit (ulimit -n) is ${serverLimit}: holding ${cap} connections, not ${n} (--beyond-limit to try anyway)`);
      n = cap;
      capped = true;
    }
    if (n > sources * portsPerSource) {
      log(`warning: ${n} connections over ${sources} source address(es) x ${portsPerSource} ephemeral ports: not enough ports; use --sources ${Math.ceil(n / portsPerSource)}`);
    }
    const workerCount = Math.ceil(n / perProcess);
    Object.assign(result, {
      target,
      server: opts.target ? "external" : opts.server,
      pid,
      requested: opts.connections,
      connections: n,
      capped,
      serverNofile: serverLimit,
      clientNofile: ownLimit,
      ephemeralPorts: portsPerSource,
      sources,
      workers: workerCount,
      swarms: opts.swarms,
    });
    log(`${target} (pid ${pid}): ${n} connections over ${sources} source address(es), ${workerCount} worker process(es) of <= ${perProcess}; server ulimit -n ${serverLimit}, own ${ownLimit}`);

    for (let i = 0; i < workerCount; i++) {
      const quota = Math.min(perProcess, n - i * perProcess);
      const proc = Bun.spawn(
        [
          process.execPath, "run", "bench/ws/hold.ts", "--worker",
          "--target", target,
          "--first-id", String(i * perProcess),
          "--sources", String(sources),
          "--swarms", String(opts.swarms),
          "--concurrency", String(opts.concurrency),
        ],
        { cwd: REPO_ROOT, stdin: "pipe", stdout: "pipe", stderr: "inherit" },
      );
      workers.push({ proc, quota, assigned: 0, lines: readLines(proc.stdout)[Symbol.asyncIterator](), last: null });
    }

    const t0 = performance.now();
    await Bun.sleep(opts.settleMs);
    const rss0 = readRssKiB(pid) ?? NaN;
    milestones.push({ connections: 0, rssKiB: rss0, perConnBytes: null, seconds: 0 });
    log(`       0 connections: RSS ${(rss0 / 1024).toFixed(1)} MiB`);
    let prev = { connections: 0, rssKiB: rss0 };
    let reached = 0;
    for (let goal = Math.min(n, opts.step); reached < n && !interrupted && remaining() > 0; goal = Math.min(n, goal + opts.step)) {
      // Hand the step to the workers in order, each up to its quota; they open in parallel.
      let need = goal - workers.reduce((s, w) => s + w.assigned, 0);
      const asks: Promise<WorkerReport | null>[] = [];
      for (const w of workers) {
        const take = Math.min(need, w.quota - w.assigned);
        if (take <= 0) continue;
        w.assigned += take;
        need -= take;
        asks.push(ask(w, `open ${take} ${Math.floor(remaining())}`, remaining() + 10_000));
      }
      await Promise.all(asks);
      const held = workers.reduce((s, w) => s + (w.last?.announced ?? 0) - (w.last?.closedByServer ?? 0), 0);
      await Bun.sleep(opts.settleMs);
      const rss = readRssKiB(pid) ?? NaN;
      const perConnBytes = held > prev.connections ? ((rss - prev.rssKiB) * 1024) / (held - prev.connections) : null;
      milestones.push({ connections: held, rssKiB: rss, perConnBytes, seconds: (performance.now() - t0) / 1000 });
      log(
        `${String(held).padStart(8)} connections: RSS ${(rss / 1024).toFixed(1)} MiB` +
          (perConnBytes !== null ? `, +${perConnBytes.toFixed(0)} B per connection since the last step` : "") +
          ` (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
      if (held <= prev.connections) {
        log("no progress in this step: stopping here");
        break;
      }
      prev = { connections: held, rssKiB: rss };
      reached = goal;
    }

    if (!interrupted && remaining() > 0) await Bun.sleep(Math.min(remaining(), opts.holdSeconds * 1000));
    const statuses = await Promise.all(workers.map((w) => ask(w, "status", 10_000)));
    const sum = (k: keyof WorkerReport) => statuses.reduce((s, r) => s + ((r?.[k] as number) ?? 0), 0);
    const failures: Record<string, number> = {};
    for (const r of statuses) for (const [k, v] of Object.entries(r?.failures ?? {})) failures[k] = (failures[k] ?? 0) + v;
    const rssTop = readRssKiB(pid) ?? NaN;
    Object.assign(result, {
      opened: sum("opened"),
      announced: sum("announced"),
      openAfterHold: sum("open"),
      closedByServer: sum("closedByServer"),
      failed: sum("failed"),
      sourceMismatch: sum("sourceMismatch"),
      pings: sum("pings"),
      failures,
      rssAfterHoldKiB: rssTop,
      bytesPerConnection: milestones.length > 1 ? ((rssTop - rss0) * 1024) / Math.max(1, sum("open")) : null,
      milestones,
    });
    log(
      `after ${opts.holdSeconds} s idle: ${sum("open")} open, ${sum("closedByServer")} closed by the server, ${sum("failed")} failed, ` +
        `RSS ${(rssTop / 1024).toFixed(1)} MiB (${(((rssTop - rss0) * 1024) / Math.max(1, sum("open"))).toFixed(0)} B per connection over the start)` +
        (sum("sourceMismatch") ? `; ${sum("sourceMismatch")} sockets not on their source address!` : ""),
    );
    for (const [k, v] of Object.entries(failures)) log(`  ${v} x ${k}`);
  } finally {
    await Promise.all(workers.map((w) => (w.proc.exitCode === null ? ask(w, "close", 10_000) : null)));
    await Promise.all(workers.map(async (w) => {
      const done = await Promise.race([w.proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
      if (!done) w.proc.kill("SIGKILL");
    }));
    await cleanup();
  }
  if (opts.json) console.log(JSON.stringify(result));
  else {
    console.log("connections   RSS MiB   B/connection (step)");
    for (const m of milestones) {
      console.log(`${String(m.connections).padStart(11)}   ${(m.rssKiB / 1024).toFixed(1).padStart(7)}   ${m.perConnBytes === null ? "-" : m.perConnBytes.toFixed(0)}`);
    }
  }
  process.exit(0);
}

if (process.argv.includes("--worker")) {
  const argv = process.argv.slice(2).filter((a) => a !== "--worker");
  const w = parseArgs(argv, { target: "", firstId: 0, sources: 1, swarms: 1000, concurrency: 256 }, "(internal: hold.ts worker)");
  await worker(w);
} else {
  await coordinator();
}
