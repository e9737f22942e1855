/**
 * Test support for tests that run the tracker (or its binary) as a child process.
 */

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
