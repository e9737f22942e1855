/**
 * File descriptors: the process's limit and how many are open (Linux /proc; null elsewhere).
 *
 * Every HTTP connection takes one. Bun raises the soft `nofile` limit to the hard one when it
 * starts (seen here: a soft limit of 256 under a hard one of 20,000 reads 20,000 inside Bun),
 * so the figure that matters is the hard limit the service manager grants: the start-up line
 * and /stats show it, so an operator sees a low one before clients do. The systemd unit and the
 * Docker notes set it.
 */
import { readdirSync, readFileSync } from "node:fs";

/** The "Max open files" soft limit from a /proc/<pid>/limits text, or null. */
export function parseOpenFilesLimit(limits: string): number | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+/m.exec(limits);
  if (m === null) return null;
  return m[1] === "unlimited" ? Infinity : Number(m[1]);
}

/** This process's open-files limit, or null where /proc cannot be read. */
export function openFilesLimit(): number | null {
  try {
    return parseOpenFilesLimit(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    return null;
  }
}

/** Descriptors open now, or null (a directory walk: for /stats, not per request). */
export function openFiles(): number | null {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return null;
  }
}
