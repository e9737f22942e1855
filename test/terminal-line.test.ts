import { describe, expect, test } from "bun:test";
import { formatLocalTime, formatTerminalLine, type TerminalLineInput } from "../src/operator/terminal-line.ts";

// Local-time constructor: the line uses Date's local getters, so these hold in any time zone.
const sep14 = new Date(2020, 8, 14, 13, 17, 19); // Monday 14 September 2020

function input(over: Partial<TerminalLineInput> = {}): TerminalLineInput {
  return {
    now: sep14,
    totalPeers: 313789,
    totalTorrents: 209763,
    maxPeers: 728,
    removedPeers: 0,
    removedTorrents: 1380,
    sweepMicros: 42281,
    load: [0.35, 0.36, 0.31],
    maxLoad: 0.5,
    intervalOld: 299,
    intervalNew: 299,
    rps: 934,
    ...over,
  };
}

describe("formatTerminalLine", () => {
  test("matches sc6's line (without the MT column)", () => {
    expect(formatTerminalLine(input())).toBe(
      "Mon Sep 14 13:17:19 GRBG:  313789 TP  209763 TT     728 MP       0 RP    1380 RT   42281 µs  LA: 0.35 0.36 0.31  ML: 0.50  I:  299-> 299 s  RPS: 934.00",
    );
  });

  test("sc6's first line: all zero", () => {
    const line = formatTerminalLine(
      input({
        now: new Date(2020, 8, 14, 13, 2, 19),
        totalPeers: 0,
        totalTorrents: 0,
        maxPeers: 0,
        removedPeers: 0,
        removedTorrents: 0,
        sweepMicros: 5144,
        load: [0.21, 0.31, 0.29],
        rps: 0,
      }),
    );
    expect(line).toBe(
      "Mon Sep 14 13:02:19 GRBG:       0 TP       0 TT       0 MP       0 RP       0 RT    5144 µs  LA: 0.21 0.31 0.29  ML: 0.50  I:  299-> 299 s  RPS: 0.00",
    );
  });

  test("wide numbers widen the column instead of being cut (printf semantics)", () => {
    const line = formatTerminalLine(
      input({ totalPeers: 50_000_000, sweepMicros: 12_345_678, intervalOld: 1799, intervalNew: 12345, rps: 123456.789 }),
    );
    expect(line).toContain("GRBG: 50000000 TP");
    expect(line).toContain("RT 12345678 µs");
    expect(line).toContain("I: 1799->12345 s");
    expect(line).toEndWith("RPS: 123456.79");
  });

  test("interval change and fractional inputs", () => {
    const line = formatTerminalLine(
      input({ intervalOld: 299, intervalNew: 359, sweepMicros: 41.6, load: [1.005, 2, 10.125], maxLoad: 1.5, rps: 0.125 }),
    );
    expect(line).toContain("RT      42 µs");
    expect(line).toContain("ML: 1.50  I:  299-> 359 s  RPS: 0.13");
    expect(line).toMatch(/LA: \d+\.\d\d \d+\.\d\d \d+\.\d\d {2}/);
  });
});

describe("formatLocalTime", () => {
  test.each([
    [new Date(2020, 8, 4, 3, 2, 1), "Fri Sep  4 03:02:01"], // ctime pads the day with a space
    [new Date(2024, 0, 1, 0, 0, 0), "Mon Jan  1 00:00:00"],
    [new Date(2023, 11, 31, 23, 59, 59), "Sun Dec 31 23:59:59"],
    [new Date(2024, 1, 29, 12, 30, 5), "Thu Feb 29 12:30:05"],
  ] as const)("%p -> %s", (d, expected) => {
    expect(formatLocalTime(d)).toBe(expected);
  });
});
