/**
 * Starting and stopping the tracker as an operator does, on real processes: `npm start` and
 * `npx bun run` stopped by a signal to npm (the tracker must not be left running), a port
 * already taken (TCP or UDP: a clear message, exit 2), --version, --check-config and
 * --print-config from the command line.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitWithin, killChildren, children, cleanEnv, MAIN } from "./support/child.ts";
import { freePort } from "./support/ports.ts";

const ROOT = `${import.meta.dir}/..`;
afterEach(() => killChildren());

/** The child processes of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The first descendant of `root` whose command line runs src/main.ts (the tracker). */
function trackerUnder(root: number): number | null {
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const c of childrenOf(pid)) {
      let cmd = "";
      try {
        cmd = readFileSync(`/proc/${c}/cmdline`, "latin1").replaceAll("\0", " ");
      } catch {}
      if (cmd.includes("src/main.ts") && cmd.startsWith("bun")) return c;
      queue.push(c);
    }
  }
  return null;
}

async function answering(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/`)).ok;
  } catch {
    return false;
  }
}

/** Start `cmd` (an npm wrapper), wait (bounded) for its tracker to answer; returns both pids. */
async function startWrapped(cmd: string[], port: number): Promise<{ wrapper: number; tracker: number }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, env: cleanEnv(), stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  children.push(proc);
  for (let i = 0; i < 400 && !(await answering(port)); i++) await Bun.sleep(25);
  expect(await answering(port)).toBe(true);
  const tracker = trackerUnder(proc.pid);
  expect(tracker).not.toBeNull();
  return { wrapper: proc.pid, tracker: tracker! };
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (!alive(pid)) return true;
    await Bun.sleep(50);
  }
  return !alive(pid);
}

describe("under npm", () => {
  // Regression (issue 16): SIGTERM to npm left the tracker running, orphaned.
  test("npm start: SIGTERM to npm stops the tracker", async () => {
    const port = await freePort();
    const { wrapper, tracker } = await startWrapped(["npm", "start", "--silent", "--", String(port), "--host", "127.0.0.1", "--quiet"], port);
    process.kill(wrapper, "SIGTERM");
    expect(await goneWithin(tracker, 8000)).toBe(true);
  }, 30_000);

  test("npx bun run: SIGTERM to npx stops the tracker (it watches for its parent going)", async () => {
    const port = await freePort();
    const { wrapper, tracker } = await startWrapped(["npx", "bun", "run", "src/main.ts", String(port), "--host", "127.0.0.1", "--quiet"], port);
    process.kill(wrapper, "SIGTERM");
    expect(await goneWithin(tracker, 8000)).toBe(true);
  }, 30_000);

  test("not under npm (a shell that exits, as with nohup ... &): the tracker keeps running", async () => {
    const port = await freePort();
    const sh = Bun.spawn(["sh", "-c", `"${process.execPath}" run "${MAIN}" ${port} --host 127.0.0.1 --quiet >/dev/null 2>&1 & echo $!`], {
      cwd: ROOT, env: cleanEnv(), stdout: "pipe",
    });
    const tracker = Number((await new Response(sh.stdout).text()).trim());
    await sh.exited;
    try {
      for (let i = 0; i < 400 && !(await answering(port)); i++) await Bun.sleep(25);
      expect(await answering(port)).toBe(true);
      await Bun.sleep(2500); // past the 1 s check a watcher would make
      expect(alive(tracker)).toBe(true);
      expect(await answering(port)).toBe(true);
    } finally {
      process.kill(tracker, "SIGKILL");
    }
  }, 30_000);
});

describe("the command line", () => {
  async function runMain(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    const p = Bun.spawn([process.execPath, "run", MAIN, ...args], { cwd: ROOT, env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
    children.push(p);
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
    return { code: await exitWithin(p, 15_000), out, err };
  }

  // Regression (issue 16): the message named neither the port nor TCP/UDP, and the exit code was 1.
  test("a port already in use: which port and protocol, exit 2", async () => {
    const port = await freePort();
    const tcp = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    try {
      const r = await runMain([String(port), "--host", "127.0.0.1"]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`port ${port}/tcp is already in use (another tracker?)`);
    } finally {
      tcp.stop(true);
    }
    const udp = await Bun.udpSocket({ hostname: "127.0.0.1", port });
    try {
      const r = await runMain([String(port), "--host", "127.0.0.1"]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`port ${port}/udp is already in use (another tracker?)`);
    } finally {
      udp.close();
    }
  }, 30_000);

  test("--version, --check-config, --print-config", async () => {
    const v = await runMain(["--version"]);
    expect([v.code, v.out.trim()]).toEqual([0, `sc6-tracker ${JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).version} (Bun ${Bun.version})`]);
    const dir = mkdtempSync(join(tmpdir(), "sc6-check-"));
    const good = join(dir, "check-good.toml");
    const bad = join(dir, "check-bad.toml");
    await Bun.write(good, "interval = 600\n");
    await Bun.write(bad, "interval = 600\nnumwant_mx = 3\n");
    const ok = await runMain(["--check-config", good]);
    expect([ok.code, ok.out]).toEqual([0, `${good}: valid (1 setting from the file; --print-config shows all in force)\n`]);
    const no = await runMain(["--check-config", bad]);
    expect(no.code).toBe(2);
    expect(no.err).toContain("numwant_mx");
    const printed = await runMain(["--print-config", "--config", good, "--port", "7000"]);
    expect(printed.code).toBe(0);
    expect(printed.out).toMatch(/# in force: from config file .*check-good.*\ninterval = 600$/m);
    expect(printed.out).toMatch(/# in force: from flag --port\nport = 7000$/m);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});
