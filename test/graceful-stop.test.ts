/**
 * The entry point as a real process (`bun run src/main.ts PORT --host 127.0.0.1 --quiet`):
 * SIGTERM/SIGINT stop it with exit code 0, requests in flight are answered first, the port is
 * released afterwards, and command-line mistakes exit 2 with a hint on stderr.
 *
 * main.ts gives tracker.stop() at most 2 seconds (then exits 0 regardless). Durations are
 * measured and bounded loosely (< 5 s) so a slow CI machine does not fail the suite, and every
 * wait is bounded so a hung child cannot hang the test run; afterEach kills any child left running.
 */
import { afterEach, describe, expect, test } from "bun:test";
import bencode from "bencode";
import { children, cleanEnv, exitWithin, killChildren, MAIN, startTrackerProcess, type RunningTracker } from "./support/child.ts";
import { versionLine } from "../src/version.ts";

const ROOT = `${import.meta.dir}/..`;
/** Per-test timeout: a process start, a stop, and the 2 s safety exit in the worst case. */
const TEST_TIMEOUT = 20_000;

// ---------------------------------------------------------------------------------------------
// Process helpers

afterEach(killChildren);

/** Start main.ts on a free port and wait (bounded) until GET / answers. */
function start(quiet = true): Promise<RunningTracker> {
  return startTrackerProcess(quiet ? ["--quiet"] : []);
}

/** Run main.ts to completion with the given arguments (bounded). */
async function runToExit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, "run", MAIN, ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: cleanEnv(),
  });
  children.push(proc);
  const code = await exitWithin(proc, 10_000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

/** The port is released: TCP connects are refused and UDP can bind it again. */
async function expectPortReleased(port: number): Promise<void> {
  let refused: unknown = null;
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
  } catch (e) {
    refused = e;
  }
  expect((refused as { code?: string } | null)?.code).toBe("ECONNREFUSED");
  const udp = await Bun.udpSocket({ hostname: "127.0.0.1", port });
  udp.close();
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 connection: fetch() hides keep-alive and partial writes, which are the point here.

class RawHttp {
  received = "";
  closed = false;
  private socket: Bun.Socket<undefined> | null = null;
  private wake: (() => void) | null = null;

  static async open(port: number): Promise<RawHttp> {
    const c = new RawHttp();
    c.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, chunk) {
          c.received += chunk.toString("latin1");
          c.poke();
        },
        close() {
          c.closed = true;
          c.poke();
        },
        error() {},
      },
    });
    return c;
  }

  write(text: string): void {
    this.socket!.write(text);
  }

  end(): void {
    if (!this.closed) this.socket!.end();
  }

  /** Wait until pred() holds or `ms` passes; returns pred(). */
  async until(pred: () => boolean, ms = 5000): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (!pred() && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return pred();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

const GET_ROOT = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/**
 * Split what a connection received into HTTP responses. Returns the bodies of the complete ones
 * and whether anything was left over (a truncated answer).
 */
function splitResponses(raw: string): { bodies: string[]; statuses: number[]; leftover: string } {
  const bodies: string[] = [];
  const statuses: number[] = [];
  let rest = raw;
  for (;;) {
    const headEnd = rest.indexOf("\r\n\r\n");
    if (headEnd < 0) break;
    const head = rest.slice(0, headEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) break;
    const end = headEnd + 4 + Number(length[1]);
    if (rest.length < end) break;
    statuses.push(Number(head.slice(9, 12)));
    bodies.push(rest.slice(headEnd + 4, end));
    rest = rest.slice(end);
  }
  return { bodies, statuses, leftover: rest };
}

// ---------------------------------------------------------------------------------------------

describe("graceful stop (src/main.ts as a process)", () => {
  test.each(["SIGTERM", "SIGINT"] as const)(
    "%s: exits 0 by itself, and the port is released",
    async (signal) => {
      const t = await start();
      expect(t.banner).toContain("sc6-tracker");
      t.proc.kill(signal);
      // Takes ~5 ms here. The wait is bounded at 5 s only so that a hang fails instead of
      // stalling the suite; no tighter timing is asserted.
      expect(await exitWithin(t.proc, 5000)).toBe(0);
      expect(t.proc.signalCode).toBeNull(); // it exited by itself, not killed by the signal
      expect(await new Response(t.proc.stderr).text()).toBe("");
      expect(await new Response(t.proc.stdout).text()).toBe(""); // --quiet: not even "stopping"
      await expectPortReleased(t.port);
    },
    TEST_TIMEOUT,
  );

  test("without --quiet, the start and the stop are logged on stdout", async () => {
    const { proc, port } = await start(false);
    proc.kill("SIGTERM");
    expect(await exitWithin(proc, 5000)).toBe(0);
    const out = await new Response(proc.stdout).text();
    expect(out).toContain(`${versionLine()} listening on 127.0.0.1:${port} (HTTP + UDP + WebSocket)`);
    // Regression (issue 16): the start-up lines did not say where to announce.
    expect(out).toContain(`announce URLs: http://127.0.0.1:${port}/announce  udp://127.0.0.1:${port}/announce  ws://127.0.0.1:${port}\n`);
    expect(out).toContain("sc6-tracker: SIGTERM, stopping");
  }, TEST_TIMEOUT);

  test("a request half-received when SIGTERM arrives is finished and answered, then the process exits 0", async () => {
    const t = await start();
    const c = await RawHttp.open(t.port);
    try {
      // Half a request line and headers: the server has the connection and an unfinished request.
      c.write("GET / HTTP/1.1\r\nHost: 127.0");
      await Bun.sleep(250); // let the server read the first half
      t.proc.kill("SIGTERM");
      await Bun.sleep(200);
      // Still alive: stop() waits for the request in flight (within the 2 s safety exit).
      expect(t.proc.exitCode).toBeNull();
      c.write(".0.1\r\n\r\n");
      expect(await c.until(() => splitResponses(c.received).bodies.length === 1)).toBe(true);
      const r = splitResponses(c.received);
      expect(r.statuses).toEqual([200]);
      expect(r.bodies[0]).toBe(t.banner);
      // Once answered, the server lets go of the connection and the process exits.
      expect(await c.until(() => c.closed)).toBe(true);
      expect(await exitWithin(t.proc, 5000)).toBe(0);
    } finally {
      c.end();
    }
  }, TEST_TIMEOUT);

  test("a client that never finishes its request cannot hold the stop: the 2 s safety exit ends it with 0", async () => {
    const t = await start();
    const c = await RawHttp.open(t.port);
    try {
      c.write("GET / HTTP/1.1\r\nHost: 127.0");
      await Bun.sleep(250);
      t.proc.kill("SIGTERM");
      // stop() would wait for this request forever; main.ts's safety timer exits after 2 s.
      expect(await exitWithin(t.proc, 5000)).toBe(0);
      expect(t.proc.signalCode).toBeNull();
      expect(await c.until(() => c.closed)).toBe(true);
      expect(c.received).toBe("");
    } finally {
      c.end();
    }
  }, TEST_TIMEOUT);

  test("announces racing SIGTERM on keep-alive connections: each is answered whole or its connection closes, nothing truncated", async () => {
    const t = await start();
    const conns = await Promise.all(Array.from({ length: 20 }, () => RawHttp.open(t.port)));
    try {
      // First request on each: the connections are accepted and idle in keep-alive.
      for (const c of conns) c.write(GET_ROOT);
      for (const c of conns) expect(await c.until(() => splitResponses(c.received).bodies.length === 1)).toBe(true);
      // Then an announce on each, and the signal right behind them.
      conns.forEach((c, i) => {
        const peer = "%CD".repeat(19) + "%" + i.toString(16).padStart(2, "0");
        c.write(`GET /announce?info_hash=${"%AB".repeat(20)}&peer_id=${peer}&port=${6000 + i}&uploaded=0&downloaded=0&left=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      });
      t.proc.kill("SIGTERM");
      expect(await exitWithin(t.proc, 5000)).toBe(0);
      for (const c of conns) {
        expect(await c.until(() => c.closed)).toBe(true);
        const r = splitResponses(c.received);
        // Observed: a request the server has started reading is always finished; one still in
        // the kernel's buffer when stop() closes the idle connection is not read at all (the
        // usual keep-alive close race: clients retry, and BitTorrent clients re-announce).
        // Usually all 20 are answered, sometimes a few are not. Half an answer never happens.
        expect(r.leftover).toBe("");
        expect(r.bodies.length === 1 || r.bodies.length === 2).toBe(true);
        expect(r.bodies[0]).toBe(t.banner);
        if (r.bodies.length === 2) {
          expect(r.statuses[1]).toBe(200);
          const answer = bencode.decode(Buffer.from(r.bodies[1]!, "latin1"));
          expect(answer.interval).toBe(299);
          expect(answer.peers).toBeInstanceOf(Uint8Array);
        }
      }
    } finally {
      for (const c of conns) c.end();
    }
  }, TEST_TIMEOUT);

  test("an idle keep-alive connection does not hold the stop up", async () => {
    const t = await start();
    const c = await RawHttp.open(t.port);
    try {
      c.write(GET_ROOT);
      expect(await c.until(() => splitResponses(c.received).bodies.length === 1)).toBe(true);
      t.proc.kill("SIGTERM");
      expect(await exitWithin(t.proc, 5000)).toBe(0);
      expect(await c.until(() => c.closed)).toBe(true);
    } finally {
      c.end();
    }
  }, TEST_TIMEOUT);
});

describe("command line errors and --help (src/main.ts as a process)", () => {
  test.each([
    [["--bogus"], "unknown option --bogus"],
    [["--port", "70000"], "--port: 70000 is out of range"],
    [["1", "2", "3"], "too many arguments"],
    [["--host"], "--host needs a value"],
  ])("%p exits 2 with the problem and a usage hint on stderr", async (args, message) => {
    const r = await runToExit(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`sc6-tracker: ${message}`);
    expect(r.stderr).toContain("Try 'sc6-tracker --help' for usage.");
  }, TEST_TIMEOUT);

  test("--help exits 0 and prints the usage on stdout", async () => {
    const r = await runToExit(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toStartWith("Usage: sc6-tracker [port] [interval] [options]");
    expect(r.stdout).toContain("--print-config");
  }, TEST_TIMEOUT);
});
