import { describe, expect, test } from "bun:test";
import { nextInterval } from "../src/operator/load-interval.ts";

// nextInterval(current, load15, maxLoad, step, min, max) with sc6's bounds 239..1799, step 60.
describe("nextInterval", () => {
  test.each([
    // [what, current, load15, maxLoad, expected]
    ["below maxLoad shrinks by one step", 299, 0.2, 0.5, 239],
    ["just below maxLoad shrinks", 600, 0.49, 0.5, 540],
    ["exactly maxLoad grows (>= grows)", 299, 0.5, 0.5, 359],
    ["above maxLoad grows by one step", 299, 0.9, 0.5, 359],
    ["at min and idle stays at min", 239, 0, 0.5, 239],
    ["one step would undershoot min: clamped to min", 270, 0, 0.5, 239],
    ["lands exactly on min", 299, 0, 0.5, 239],
    ["at max and busy stays at max", 1799, 4, 0.5, 1799],
    ["one step would overshoot max: clamped to max", 1780, 4, 0.5, 1799],
    ["lands exactly on max", 1739, 4, 0.5, 1799],
    ["at max and idle comes down", 1799, 0, 0.5, 1739],
    ["at min and busy goes up", 239, 4, 0.5, 299],
    ["NaN load counts as busy (conservative)", 299, NaN, 0.5, 359],
    ["start below min is pulled up to min", 100, 0, 0.5, 239],
    ["start above max is pulled down to max", 5000, 4, 0.5, 1799],
  ] as const)("%s", (_what, current, load15, maxLoad, expected) => {
    expect(nextInterval(current, load15, maxLoad, 60, 239, 1799)).toBe(expected);
  });

  test("step 0 keeps the interval fixed", () => {
    expect(nextInterval(299, 0, 0.5, 0, 239, 1799)).toBe(299);
    expect(nextInterval(299, 9, 0.5, 0, 239, 1799)).toBe(299);
  });

  test("min == max pins the interval", () => {
    expect(nextInterval(600, 0, 0.5, 60, 600, 600)).toBe(600);
    expect(nextInterval(600, 9, 0.5, 60, 600, 600)).toBe(600);
  });

  test("a sustained load walks the interval to max and back to min, one step per period", () => {
    let i = 299;
    const seen: number[] = [];
    for (let k = 0; k < 30; k++) seen.push((i = nextInterval(i, 2, 1.5, 60, 239, 1799)));
    expect(seen[0]).toBe(359);
    expect(i).toBe(1799);
    for (let k = 0; k < 30; k++) i = nextInterval(i, 1, 1.5, 60, 239, 1799);
    expect(i).toBe(239);
  });
});
