/**
 * File descriptors (src/operator/open-files.ts): the limit read from /proc, shown at start-up and
 * on /stats, and what Bun does with a soft limit below the hard one.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { parseOpenFilesLimit } from "../src/operator/open-files.ts";
import { children, cleanEnv, killChildren, MAIN } from "./support/child.ts";
import { freePort } from "./support/ports.ts";

afterEach(killChildren);

describe("open files", () => {
  test("the soft limit is read from a /proc/<pid>/limits text", () => {
    const limits = [
      "Limit                     Soft Limit           Hard Limit           Units     ",
      "Max processes             127458               127458               processes ",
      "Max open files            1024                 524288               files     ",
    ].join("\n");
    expect(parseOpenFilesLimit(limits)).toBe(1024);
    expect(parseOpenFilesLimit(limits.replace("1024  ", "unlimited"))).toBe(Infinity);
    expect(parseOpenFilesLimit("nothing here")).toBeNull();
  });

  test("the start-up line and /stats show the limit the tracker runs with (Bun lifts the soft limit to the hard one)", async () => {
    const port = await freePort();
    // Soft 300 under a hard 600: the tracker runs with 600.
    const script = `ulimit -Sn 300 && ulimit -Hn 600 && exec "$0" run "$1" "$2" --host 127.0.0.1`;
    const proc = Bun.spawn(["sh", "-c", script, process.execPath, MAIN, String(port)], {
      env: cleanEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe",
    });
    children.push(proc);
    let stats: { openFiles: number | null; openFilesLimit: number | null } | null = null;
    for (let i = 0; i < 200 && stats === null && proc.exitCode === null; i++) {
      try {
        stats = await (await fetch(`http://127.0.0.1:${port}/stats?format=json`)).json() as typeof stats;
      } catch {
        await Bun.sleep(25);
      }
    }
    expect(stats).not.toBeNull();
    expect(stats!.openFilesLimit).toBe(600);
    expect(stats!.openFiles).toBeGreaterThan(2);
    expect(stats!.openFiles).toBeLessThan(600);
    proc.kill("SIGTERM");
    const out = await new Response(proc.stdout).text();
    expect(out).toMatch(new RegExp(`listening on 127\\.0\\.0\\.1:${port} \\(HTTP \\+ UDP \\+ WebSocket\\), interval 299 s, up to 600 file descriptors`));
  }, 20_000);
});
