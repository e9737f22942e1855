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
 * again on another port, up to three times. `wrapper` runs before the command (it must `exec`
 * it, so that the child is the tracker: see withOpenFilesLimit).
 */
export async function startTrackerProcess(args: string[] = [], wrapper: string[] = []): Promise<RunningTracker> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = Bun.spawn([...wrapper, process.execPath, "run", MAIN, String(port), "--host", "127.0.0.1", ...args], {
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

/** Everything a child writes on a stream, as it arrives (the test reads `text` when it needs it). */
export function capture(stream: ReadableStream<Uint8Array>): { text: string } {
  const c = { text: "" };
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) c.text += decoder.decode(chunk, { stream: true });
  })();
  return c;
}

/** Wait (bounded) until `check` holds. */
export async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  for (let waited = 0; !check(); waited += 25) {
    if (waited >= ms) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** A wrapper for startTrackerProcess: the tracker runs with soft and hard `nofile` set to n. */
export function withOpenFilesLimit(n: number): string[] {
  return ["sh", "-c", `ulimit -n ${n} && exec "$@"`, "sh"];
}
