/** Requests per second (src/operator/stats/rate-window.ts), on a fake clock. */
import { describe, expect, test } from "bun:test";
import { RateWindow } from "../src/operator/stats/rate-window.ts";

describe("RateWindow", () => {
  test("averages the growth of the total over the window", () => {
    let now = 0;
    let total = 0;
    const w = new RateWindow(() => total, 10, () => now);
    // 5 requests a second for 30 s, sampled every second.
    for (let s = 1; s <= 30; s++) {
      now = s * 1000;
      total += 5;
      w.sample();
    }
    expect(w.rate()).toBeCloseTo(5, 6);
    // A burst of 100 in the current second counts over the 10 s window.
    total += 100;
    expect(w.rate()).toBeCloseTo(5 + 100 / 10, 6);
    // Then quiet for 20 s: the burst leaves the window.
    for (let s = 31; s <= 50; s++) {
      now = s * 1000;
      w.sample();
    }
    expect(w.rate()).toBe(0);
  });

  test("early in life it divides by at least one second", () => {
    let now = 0;
    let total = 0;
    const w = new RateWindow(() => total, 60, () => now);
    total = 7;
    now = 5; // 7 requests in 5 ms
    expect(w.rate()).toBe(7);
    now = 4000;
    expect(w.rate()).toBeCloseTo(7 / 4, 6);
  });
});
