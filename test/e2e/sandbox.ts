/**
 * A sandbox for one swarm: a network namespace that holds only `lo`, with every process the
 * test starts inside it, each one tracked and killed at the end.
 *
 * How: a holder process `unshare -n sh -c 'ip link set lo up; exec sleep N'` owns the namespace;
 * every other process enters it with `nsenter --net=/proc/<holder>/ns/net -- cmd` (nsenter
 * execs, so the pid we hold is the command's own pid and signals reach it directly). Inside
 * there is no route anywhere but loopback, nothing else listening, and every port is free: a
 * client can only learn of a peer from our tracker, and nothing leaks to the host's network.
 *
 * Modes, tried in order (E2E_SANDBOX=netns|userns|host forces one):
 *   netns   `unshare -n` (root, or CAP_SYS_ADMIN);
 *   userns  `unshare -r -n` (an unprivileged user namespace mapping us to root; CI runners);
 *   host    plain loopback of the host (no namespace available): the suite says so loudly.
 * Processes are never left behind: stop() sends a signal, then SIGKILL after a grace period;
 * close() stops every process of the sandbox; an exit hook SIGKILLs whatever is still alive
 * when the test process exits; and each command runs under coreutils `timeout` (180 s), which
 * also covers a test runner killed with SIGKILL. The holder's `sleep` ends on its own too.
 */
import type { Subprocess } from "bun";

export type SandboxMode = "netns" | "userns" | "host";

export interface SandboxProbe {
  mode: SandboxMode;
  /** Why this mode: for the suite's banner. */
  reason: string;
}

const PROBE_TIMEOUT_MS = 5000;
/** No process of a case outlives this, whatever happens to the test runner (a case takes < 90 s). */
const PROCESS_LIFETIME_SECONDS = 180;
const TIMEOUT_BIN = Bun.which("timeout");
/** Output kept per process (the tail), for failure messages. */
const OUTPUT_TAIL_CHARS = 16_384;

/** Every live subprocess of this test process, killed on exit whatever happened. */
const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of live) {
    try {
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** Resolve after `ms`; never keeps the process alive on its own. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `p` settles within `ms` (the timer is cleared either way, so nothing lingers). */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Poll `check` every `everyMs` until it returns a value other than undefined/false, or fail
 * after `timeoutMs` with a message naming `what` (and `detail()` for diagnosis).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  detail: () => string = () => "",
  everyMs = 100,
): Promise<T> {
  const rounds = Math.max(1, Math.ceil(timeoutMs / everyMs));
  for (let i = 0; i < rounds; i++) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
}

/** Run a command to completion with a time limit; never throws for a missing binary. */
export async function runBounded(
  cmd: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let proc: Subprocess<"ignore", "pipe", "pipe">;
  try {
    proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (e) {
    return { code: null, stdout: "", stderr: String(e) };
  }
  live.add(proc);
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    live.delete(proc);
  }
}

let probed: Promise<SandboxProbe> | null = null;

/** Which sandbox this machine allows (probed once per test process). */
export function probeSandbox(): Promise<SandboxProbe> {
  probed ??= doProbe();
  return probed;
}

async function doProbe(): Promise<SandboxProbe> {
  const forced = process.env.E2E_SANDBOX;
  if (forced === "host") return { mode: "host", reason: "E2E_SANDBOX=host" };
  const missing = ["unshare", "nsenter", "ip"].filter((t) => Bun.which(t) === null);
  if (missing.length > 0) {
    return { mode: "host", reason: `not found on PATH: ${missing.join(", ")}` };
  }
  const failures: string[] = [];
  for (const mode of ["netns", "userns"] as const) {
    if (forced !== undefined && forced !== mode) continue;
    const r = await runBounded([...unshareArgs(mode), "sh", "-c", "ip link set lo up && ip -o addr show dev lo"], PROBE_TIMEOUT_MS);
    if (r.code === 0 && r.stdout.includes("127.0.0.1")) {
      const why = forced !== undefined ? `E2E_SANDBOX=${forced}` : mode === "netns" ? "unshare -n works" : "unshare -n refused; unshare -r -n works";
      return { mode, reason: why };
    }
    failures.push(`${unshareArgs(mode).join(" ")}: ${(r.stderr || r.stdout).trim() || `exit ${r.code}`}`);
  }
  return { mode: "host", reason: failures.join("; ") };
}

function unshareArgs(mode: "netns" | "userns"): string[] {
  return mode === "netns" ? ["unshare", "-n", "--"] : ["unshare", "-r", "-n", "--"];
}

/** One process started in a sandbox, with its output collected. */
export class Proc {
  /** Complete stdout lines, in order. */
  readonly lines: string[] = [];
  private partial = "";
  private tail = "";
  private errTail = "";
  private readonly done: Promise<void>;
  exitCode: number | null = null;

  constructor(readonly name: string, readonly sub: Subprocess<"ignore", "pipe", "pipe">) {
    live.add(sub);
    this.done = Promise.all([
      this.pump(sub.stdout, true),
      this.pump(sub.stderr, false),
      sub.exited.then((c) => {
        this.exitCode = c;
        live.delete(sub);
      }),
    ]).then(() => {});
  }

  get pid(): number {
    return this.sub.pid;
  }

  get running(): boolean {
    return this.sub.exitCode === null && this.sub.signalCode === null;
  }

  /** The last few KB of stdout+stderr, for failure messages. */
  output(): string {
    return this.tail;
  }

  /** The last few KB of stderr alone. */
  errors(): string {
    return this.errTail;
  }

  private async pump(stream: ReadableStream<Uint8Array>, isStdout: boolean): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      const text = dec.decode(chunk, { stream: true });
      this.tail = (this.tail + text).slice(-OUTPUT_TAIL_CHARS);
      if (!isStdout) {
        this.errTail = (this.errTail + text).slice(-OUTPUT_TAIL_CHARS);
        continue;
      }
      const parts = (this.partial + text).split("\n");
      this.partial = parts.pop()!;
      for (const l of parts) this.lines.push(l);
    }
  }

  /**
   * `signal` (SIGTERM unless told), then SIGKILL if still alive after `graceMs`. Resolves once
   * it has exited. (aria2 takes SIGTERM as an emergency halt, SIGINT as an orderly one.)
   */
  async stop(graceMs = 3000, signal: "SIGTERM" | "SIGINT" = "SIGTERM"): Promise<"exited" | "killed"> {
    let how: "exited" | "killed" = "exited";
    if (this.running) {
      this.sub.kill(signal);
      if (!(await settlesWithin(this.sub.exited, graceMs))) {
        this.sub.kill("SIGKILL");
        how = "killed";
      }
    }
    await settlesWithin(this.done, graceMs);
    return how;
  }
}

export class Sandbox {
  private readonly procs: Proc[] = [];

  private constructor(
    readonly mode: SandboxMode,
    private readonly holder: Proc | null,
  ) {}

  /** Open a sandbox of the best mode this machine allows (see probeSandbox()). */
  static async open(): Promise<Sandbox> {
    const { mode } = await probeSandbox();
    if (mode === "host") return new Sandbox("host", null);
    // The holder prints "up" once lo is up, then sleeps (bounded: it ends on its own even if
    // everything else failed to kill it).
    const sub = Bun.spawn([...unshareArgs(mode), "sh", "-c", `ip link set lo up && echo up && exec sleep ${PROCESS_LIFETIME_SECONDS}`], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const holder = new Proc("netns-holder", sub);
    const box = new Sandbox(mode, holder);
    try {
      await waitFor("the network namespace holder", () => holder.lines.includes("up") || !holder.running, PROBE_TIMEOUT_MS);
      if (!holder.running) throw new Error(`network namespace holder died: ${holder.output()}`);
    } catch (e) {
      await box.close();
      throw e;
    }
    return box;
  }

  /** `cmd` as run inside the namespace. */
  private wrap(cmd: string[]): string[] {
    // A last bound that holds even if this test process is SIGKILLed: coreutils `timeout`
    // passes our SIGINT/SIGTERM on to the command, and ends it on its own after the lifetime.
    const bounded = TIMEOUT_BIN === null ? cmd : [TIMEOUT_BIN, "--kill-after=5", String(PROCESS_LIFETIME_SECONDS), ...cmd];
    if (this.holder === null) return bounded;
    const pid = String(this.holder.pid);
    return this.mode === "netns"
      ? ["nsenter", `--net=/proc/${pid}/ns/net`, "--", ...bounded]
      : ["nsenter", "--target", pid, "--user", "--net", "--preserve-credentials", "--", ...bounded];
  }

  /** Start `cmd` inside the sandbox; it is stopped by close() at the latest. */
  spawn(name: string, cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Proc {
    const sub = Bun.spawn(this.wrap(cmd), {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const p = new Proc(name, sub);
    this.procs.push(p);
    return p;
  }

  /** Run `cmd` inside the sandbox to completion (bounded); returns its stdout. Throws on failure. */
  async run(name: string, cmd: string[], timeoutMs: number): Promise<string> {
    const p = this.spawn(name, cmd);
    const ok = await settlesWithin(p.sub.exited, timeoutMs);
    if (!ok) {
      await p.stop(500);
      throw new Error(`${name}: no answer within ${timeoutMs} ms\n${p.output()}`);
    }
    await p.stop(1000); // drains the output
    if (p.exitCode !== 0) throw new Error(`${name}: exit ${p.exitCode}\n${p.output()}`);
    return p.lines.join("\n");
  }

  /** Stop every process (newest first: clients before the tracker), then the namespace. */
  async close(): Promise<void> {
    for (const p of [...this.procs].reverse()) await p.stop(2000);
    await this.holder?.stop(1000);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
