/** The /stats text page (src/operator/stats/text.ts): number formatting and the sc6 layout. */
import { describe, expect, test } from "bun:test";
import { formatUptime, renderStatsText, thousands } from "../src/operator/stats/text.ts";
import { sampleSnapshot } from "./stats-support.ts";

describe("formatting", () => {
  test.each([
    [0, "0"],
    [999, "999"],
    [1000, "1,000"],
    [14674338, "14,674,338"],
    [-1234567, "-1,234,567"],
    [1e15, "1,000,000,000,000,000"],
  ])("thousands(%p) = %p", (n, s) => {
    expect(thousands(n)).toBe(s);
  });

  test.each([
    [0, "0 d 00:00:00"],
    [59, "0 d 00:00:59"],
    [3661, "0 d 01:01:01"],
    [93784, "1 d 02:03:04"],
  ])("formatUptime(%p) = %p", (n, s) => {
    expect(formatUptime(n)).toBe(s);
  });
});

describe("text renderer", () => {
  const snapshot = sampleSnapshot();

  test("text: sc6-style aligned lines", () => {
    const text = renderStatsText(snapshot);
    expect(text).toMatch(/^start_time = \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/m);
    expect(text).toMatch(/^Load Avg = \d+\.\d\d \d+\.\d\d \d+\.\d\d$/m);
    expect(text).toContain("Open HTTP requests: 3\n");
    expect(text).toContain("Request per second ~ 12.50");
    expect(text).toContain("stats.http_200 =    1,234,567\n");
    expect(text).toMatch(/^peers_ipv6 += +1$/m);
    // The sweep's stall: the longest slice of the cycle and since the start.
    expect(text).toMatch(/^sweep\.longest_slice_micros += +\d+ \(holding the loop at once\)$/m);
    expect(text).toMatch(/^sweep\.longest_slice_micros_ever += +\d+ \(since start\)$/m);
    // Within a block the '=' signs line up.
    const block = text.split("\n\n").find((b) => b.includes("stats.http_200"))!;
    const columns = new Set(block.trim().split("\n").map((l) => l.indexOf("=")));
    expect(columns.size).toBe(1);
  });

  test("text leaves out open requests when they are unknown", () => {
    expect(renderStatsText({ ...snapshot, openHttpRequests: null })).not.toContain("Open HTTP requests");
  });
});
