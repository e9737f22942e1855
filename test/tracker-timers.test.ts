/**
 * The tracker's timers, wired for real: the sweep expires silent peers, and the load rule moves
 * the announce interval and prints sc6's terminal line. Short periods keep the waits short.
 */
import { describe, expect, test } from "bun:test";
import { startTracker } from "../src/tracker.ts";
import { announceUrl, bytes20, getBencoded, pct, testConfig } from "./support/tracker.ts";

describe("tracker timers", () => {
  test("the sweep removes peers silent for longer than --peer-timeout", async () => {
    const t = await startTracker(testConfig(["--host", "127.0.0.1", "--interval", "1", "--interval-min", "1", "--interval-max", "1", "--peer-timeout", "2"]));
    try {
      const base = `http://127.0.0.1:${t.httpPort}`;
      const ih = bytes20(0x77);
      await getBencoded(announceUrl(base, { infoHash: ih, port: 1 }));
      await getBencoded(announceUrl(base, { infoHash: ih, port: 2 }));
      expect(t.rules.store.peerCount).toBe(2);
      // Timeout 2 s, sweep slice every second: gone within ~4 s (bounded wait of 8 s).
      for (let i = 0; i < 80 && t.rules.store.peerCount > 0; i++) await Bun.sleep(100);
      expect(t.rules.store.peerCount).toBe(0);
      const s = await getBencoded(`${base}/scrape?info_hash=${pct(ih)}`);
      const entry = Object.values(s.files)[0] as any;
      expect(entry === undefined ? 0 : entry.incomplete).toBe(0);
    } finally {
      await t.stop();
    }
  }, 15_000);

  test("below --max-load the interval shrinks one step per period, clamped, and the line says so", async () => {
    const lines: string[] = [];
    const config = testConfig([
      "--host", "127.0.0.1", "--interval", "5", "--interval-min", "3", "--interval-max", "5",
      "--interval-step", "1", "--interval-step-period", "1", "--max-load", "1000", "--peer-timeout", "60",
    ], { quiet: false });
    const t = await startTracker(config, { log: (l) => lines.push(l) });
    try {
      expect(lines[0]).toContain(`listening on 127.0.0.1:${t.httpPort} (HTTP + UDP + WebSocket), interval 5 s`);
      for (let i = 0; i < 60 && t.rules.interval > 3; i++) await Bun.sleep(100);
      expect(t.rules.interval).toBe(3);
      const r = await getBencoded(announceUrl(`http://127.0.0.1:${t.httpPort}`, { infoHash: bytes20(1), port: 1 }));
      expect([r.interval, r["min interval"]]).toEqual([3, 3]);
      const steps = lines.filter((l) => / GRBG: /.test(l));
      // The start-up line, then one per period: 5->4, 4->3, then 3->3 (clamped).
      expect(steps[0]).toMatch(/I: {4}5-> {3}5 s/);
      expect(steps.some((l) => /I: {4}5-> {3}4 s/.test(l))).toBe(true);
      expect(steps.some((l) => /I: {4}4-> {3}3 s/.test(l))).toBe(true);
    } finally {
      await t.stop();
    }
  }, 15_000);
});
