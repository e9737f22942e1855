/**
 * Stopping a child process the way every benchmark does: SIGTERM, then SIGKILL if it is still
 * running `graceMs` later. Callers keep their own bookkeeping (live sets, an idempotent
 * `stopping ??= ...` promise) around it.
 */

/**
 * SIGTERM, wait up to `graceMs` for the exit, then SIGKILL. After SIGKILL it waits until the
 * process has exited, or at most `killWaitMs` when given. Does nothing if it already exited.
 */
export async function stopProcess(proc: Bun.Subprocess, graceMs = 3000, killWaitMs?: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
  if (done) return;
  proc.kill("SIGKILL");
  await (killWaitMs === undefined ? proc.exited : Promise.race([proc.exited, Bun.sleep(killWaitMs)]));
}
