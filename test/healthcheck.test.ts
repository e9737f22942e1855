/**
 * `sc6-tracker healthcheck --pid N` (Docker's HEALTHCHECK) against real tracker processes: it
 * finds the port however it was given (flag, TRACKER_PORT, config file), over HTTP or (with HTTP
 * off) UDP, and says unhealthy when the tracker does not answer.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trackerArgs } from "../src/cli/healthcheck.ts";
import { children, cleanEnv, exitWithin, killChildren, MAIN } from "./support/child.ts";
import { freePort } from "./support/ports.ts";

const ROOT = `${import.meta.dir}/..`;
afterEach(() => killChildren());

/** Start a tracker with these arguments and environment; wait (bounded) until `ready` says so. */
async function start(args: string[], env: Record<string, string>, cwd: string, ready: () => Promise<boolean>) {
  const proc = Bun.spawn([process.execPath, "run", MAIN, ...args], { cwd, env: { ...cleanEnv(), ...env }, stdout: "ignore", stderr: "ignore" });
  children.push(proc);
  for (let i = 0; i < 400 && !(await ready().catch(() => false)); i++) await Bun.sleep(25);
  return proc;
}

async function healthcheck(pid: number): Promise<{ code: number | null; out: string; err: string }> {
  const p = Bun.spawn([process.execPath, "run", MAIN, "healthcheck", "--pid", String(pid)], { cwd: ROOT, env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { code: await exitWithin(p, 15_000), out, err };
}

const http = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/`)).ok;

describe("healthcheck", () => {
  // Regression (issue 16): the Dockerfile's HEALTHCHECK followed TRACKER_PORT only.
  test("finds the port given by flag, by TRACKER_PORT, or by a config file in the tracker's directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sc6-health-"));
    try {
      const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
      writeFileSync(join(dir, "t.toml"), `port = ${p3}\nhost = "127.0.0.1"\n`);
      const byFlag = await start([String(p1), "--host", "127.0.0.1"], {}, ROOT, http(p1));
      const byEnv = await start([], { TRACKER_PORT: String(p2), TRACKER_HOST: "127.0.0.1" }, ROOT, http(p2));
      const byFile = await start(["--config", "t.toml"], {}, dir, http(p3));
      for (const [proc, port] of [[byFlag, p1], [byEnv, p2], [byFile, p3]] as const) {
        const r = await healthcheck(proc.pid);
        expect(r).toEqual({ code: 0, out: `healthy: port ${port}/tcp answers\n`, err: "" });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("with HTTP off it asks over UDP (a BEP 15 connect)", async () => {
    const port = await freePort();
    const proc = Bun.spawn([process.execPath, "run", MAIN, String(port), "--host", "127.0.0.1", "--no-http"], {
      cwd: ROOT, env: cleanEnv(), stdout: "ignore", stderr: "ignore",
    });
    children.push(proc);
    // UDP has no banner to poll: ask until it answers (bounded), as Docker would at its interval.
    let r = await healthcheck(proc.pid);
    for (let i = 0; i < 40 && r.code !== 0; i++) {
      await Bun.sleep(100);
      r = await healthcheck(proc.pid);
    }
    expect(r.out).toBe(`healthy: port ${port}/udp answers\n`);
    expect(r.code).toBe(0);
  }, 30_000);

  test("a tracker that does not answer (stopped) is unhealthy: exit 1; a process that is not a tracker: exit 2", async () => {
    const port = await freePort();
    const proc = await start([String(port), "--host", "127.0.0.1"], {}, ROOT, http(port));
    proc.kill("SIGSTOP");
    try {
      const r = await healthcheck(proc.pid);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`no HTTP answer on port ${port}`);
    } finally {
      proc.kill("SIGCONT");
    }
    const sleeper = Bun.spawn(["sleep", "30"]);
    children.push(sleeper);
    expect((await healthcheck(sleeper.pid)).code).toBe(2);
  }, 30_000);

  test("the tracker's own arguments are found in a command line", () => {
    expect(trackerArgs(["/usr/local/bin/bun", "run", "src/main.ts", "6970", "--quiet"])).toEqual(["6970", "--quiet"]);
    expect(trackerArgs(["bun", "--smol", "run", "/app/src/main.ts"])).toEqual([]);
    expect(trackerArgs(["/usr/local/bin/sc6-tracker", "--port", "7000"])).toEqual(["--port", "7000"]);
    expect(trackerArgs(["bun", "run", "other.ts"])).toBeNull();
    expect(trackerArgs(["sleep", "30"])).toBeNull();
  });
});
