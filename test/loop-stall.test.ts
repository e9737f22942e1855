/**
 * The loop-stall monitor (src/operator/loop-stall.ts) sees a stall it is shown, and /stats,
 * JSON and /metrics carry its figures.
 */
import { describe, expect, test } from "bun:test";
import { LoopStallMonitor } from "../src/operator/loop-stall.ts";
import { withTracker } from "./support/tracker.ts";

describe("loop stalls", () => {
  test("a 150 ms busy wait shows up as a stall of at least 100 ms (a lower bound: it can only read longer)", async () => {
    const m = new LoopStallMonitor();
    try {
      await Bun.sleep(60); // a few ticks first
      const until = performance.now() + 150;
      while (performance.now() < until) { /* hold the loop */ }
      await Bun.sleep(60);
      expect(m.longestEverMs).toBeGreaterThanOrEqual(100);
      expect(m.longestLastMinuteMs).toBe(m.longestEverMs);
    } finally {
      m.stop();
    }
  });

  test("/stats, JSON and /metrics show the longest stall", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const base = `http://127.0.0.1:${t.httpPort}`;
      const json = (await (await fetch(`${base}/stats?format=json`)).json()) as { loopStall: { longestLastMinuteMs: number; longestSinceStartMs: number } };
      expect(json.loopStall.longestSinceStartMs).toBeGreaterThanOrEqual(0);
      expect(json.loopStall.longestSinceStartMs).toBeGreaterThanOrEqual(json.loopStall.longestLastMinuteMs);
      expect(await (await fetch(`${base}/stats`)).text()).toMatch(/^Longest loop stall: [\d.]+ ms \(last minute\), [\d.]+ ms \(since start\)$/m);
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^tracker_loop_longest_stall_seconds\{period="since_start"\} [\d.e-]+$/m);
    });
  });
});
