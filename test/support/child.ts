/**
 * Test support for tests that run the tracker (or its binary) as a child process.
 */
import type { Subprocess } from "bun";
import { freePort } from "./ports.ts";

const ROOT = `${import.meta.dir}/../..`;
export const MAIN = `${ROOT}/src/main.ts`;

/** The caller's environment without TRACKER_* settings, which would change what is tested. */
export function cleanEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("TRACKER_")));
}

export interface RunningTracker {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  /** The body of GET /, read while waiting for the tracker to come up. */
  banner: string;
}

/**
 * Children started here; a test file's afterEach passes them to killChildren, so a failed test
 * leaves nothing running.
 */
export const children: Subprocess[] = [];

export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

/**
 * Start `bun run src/main.ts PORT --host 127.0.0.1 [args]` on a free port and wait (bounded,
 * ~5 s) until GET / answers. A start that fails because the port was taken meanwhile is tried
 * again on another port, up to three times.
 */
export async function startTrackerProcess(args: string[] = []): Promise<RunningTracker> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = Bun.spawn([process.execPath, "run", MAIN, String(port), "--host", "127.0.0.1", ...args], {
      cwd: ROOT,
      env: cleanEnv(),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    children.push(proc);
    for (let i = 0; i < 200 && proc.exitCode === null; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        return { proc, port, banner: await res.text() };
      } catch {
        await Bun.sleep(25);
      }
    }
    if (proc.exitCode === null) {
      proc.kill("SIGKILL");
      throw new Error(`tracker on port ${port} did not answer within ~5 s`);
    }
    // Exited at start-up (most likely the port was taken meanwhile): try another port.
  }
  throw new Error("tracker failed to start three times");
}

/** Wait for the process to exit, at most `ms`; its exit code, or null if it is still running. */
export async function exitWithin(proc: { exited: Promise<number> }, ms: number): Promise<number | null> {
  let timer: Timer | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
