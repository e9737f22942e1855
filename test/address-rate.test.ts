/**
 * The per-address limits (src/rules/address-rate.ts): per minute, per address, constant memory
 * (a count-min sketch), loopback exempt.
 */
import { describe, expect, test } from "bun:test";
import { AddressRate, isLoopback } from "../src/rules/address-rate.ts";

const T = 1_800_000_000; // a minute boundary: 1_800_000_000 / 60 is whole
const v4 = (a: number, b: number, c: number, d: number) => new Uint8Array([a, b, c, d]);
const v6 = (last: number, first = 0x20) => {
  const b = new Uint8Array(16);
  b[0] = first;
  b[15] = last;
  return b;
};

describe("AddressRate", () => {
  test("at most perMinute per address in a clock minute; the next minute starts afresh", () => {
    const r = new AddressRate(3);
    const a = v4(203, 0, 113, 9);
    expect([1, 2, 3, 4, 5].map(() => r.allow(a, 0, 4, T + 10))).toEqual([true, true, true, false, false]);
    expect(r.allow(v4(203, 0, 113, 10), 0, 4, T + 10)).toBe(true); // another address has its own count
    expect(r.allow(a, 0, 4, T + 59)).toBe(false);
    expect(r.allow(a, 0, 4, T + 60)).toBe(true);
    const six = v6(9);
    expect([1, 2, 3, 4].map(() => r.allow(six, 0, 16, T + 60))).toEqual([true, true, true, false]);
  });

  test("many addresses at once: ordinary ones keep their allowance, a heavy one is stopped", () => {
    // 100,000 addresses making three requests each in one minute, against a limit of 60 (the
    // smallest default): shared slots add up, but nowhere near the limit.
    const r = new AddressRate(60);
    let refused = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 100_000; i++) if (!r.allow(v4(10, (i >> 16) & 255, (i >> 8) & 255, i & 255), 0, 4, T)) refused++;
    }
    expect(refused).toBe(0);
    const heavy = v4(198, 51, 100, 7);
    let allowed = 0;
    for (let k = 0; k < 1000; k++) if (r.allow(heavy, 0, 4, T)) allowed++;
    expect(allowed).toBeLessThanOrEqual(60);
    expect(allowed).toBeGreaterThan(30); // its slots carried others' counts, but not most of them
  });

  test("0 is no limit; loopback is never limited", () => {
    const off = new AddressRate(0);
    for (let i = 0; i < 100; i++) expect(off.allow(v4(203, 0, 113, 9), 0, 4, T)).toBe(true);
    const r = new AddressRate(1);
    for (const [a, len] of [[v4(127, 0, 0, 1), 4], [v4(127, 9, 9, 9), 4], [v6(1, 0), 16]] as const) {
      for (let i = 0; i < 5; i++) expect(r.allow(a, 0, len, T)).toBe(true);
    }
    expect(isLoopback(v4(127, 1, 2, 3), 0, 4)).toBe(true);
    expect(isLoopback(v6(1, 0), 0, 16)).toBe(true);
    expect(isLoopback(v4(128, 0, 0, 1), 0, 4) || isLoopback(v6(2, 0), 0, 16) || isLoopback(v6(1), 0, 16)).toBe(false);
  });
});
