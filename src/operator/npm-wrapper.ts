/**
 * Stop with the npm wrapper that started the tracker.
 *
 * Under `npm start` a supervisor (systemd, a container runtime, a CI job) signals npm, not the
 * tracker. package.json's start script `exec`s bun, so npm's shell is replaced and npm passes
 * SIGTERM/SIGINT straight to the tracker. `npx bun run src/main.ts` cannot be changed that way:
 * npx runs bun through `sh -c`, and when npx is stopped the shell dies without passing the
 * signal on, leaving the tracker running, orphaned (measured here with npm 11 and dash).
 *
 * So, when the tracker finds an npm process among its parent and grandparent at start, it
 * checks once a second whether its parent changed (the shell or npm died: the tracker was
 * re-parented) and then stops as if it got SIGTERM. Anywhere else (systemd, a shell, `nohup
 * ... &`, Docker) nothing is watched, so a tracker deliberately left running keeps running.
 * Linux only (/proc); elsewhere this does nothing.
 */
import { readFileSync } from "node:fs";

const CHECK_MS = 1000;

/** The command line of process `pid` (NULs as spaces), or "" when it cannot be read. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

/** The parent of process `pid` (field 4 of /proc/PID/stat), or 0. */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[1]) || 0;
  } catch {
    return 0;
  }
}

/** npm sets its process title ("npm start ...", "npm exec ..."); a plain node runs npm-cli.js. */
export function isNpmCommand(cmdline: string): boolean {
  return /^npm( |$)/.test(cmdline) || /^npx( |$)/.test(cmdline) || /(^|\/)npm-cli\.js( |$)|(^|\/)npx-cli\.js( |$)/.test(cmdline);
}

/**
 * Start watching when started under npm (parent or grandparent); `onGone` runs once when the
 * parent changes. Returns a stop function (nothing to stop when not watching).
 */
export function watchNpmWrapper(onGone: () => void): () => void {
  const parent = process.ppid;
  if (parent <= 1) return () => {};
  const underNpm = isNpmCommand(commandLine(parent)) || isNpmCommand(commandLine(parentOf(parent)));
  if (!underNpm) return () => {};
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
