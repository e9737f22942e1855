/** The per-address limits (src/rules/address-rate.ts): per minute, bounded, loopback exempt. */
import { describe, expect, test } from "bun:test";
import { AddressRate, isLoopback } from "../src/rules/address-rate.ts";

const T = 1_800_000_000; // a minute boundary: 1_800_000_000 / 60 is whole

describe("AddressRate", () => {
  test("at most perMinute per address in a clock minute; the next minute starts afresh", () => {
    const r = new AddressRate(3);
    expect([1, 2, 3, 4, 5].map(() => r.allow("203.0.113.9", T + 10))).toEqual([true, true, true, false, false]);
    expect(r.allow("203.0.113.10", T + 10)).toBe(true); // another address has its own count
    expect(r.allow("203.0.113.9", T + 59)).toBe(false);
    expect(r.allow("203.0.113.9", T + 60)).toBe(true);
  });

  test("0 is no limit; loopback is never limited", () => {
    const off = new AddressRate(0);
    for (let i = 0; i < 100; i++) expect(off.allow("203.0.113.9", T)).toBe(true);
    const r = new AddressRate(1);
    for (const a of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"]) {
      for (let i = 0; i < 5; i++) expect(r.allow(a, T)).toBe(true);
    }
    expect(r.size).toBe(0);
    expect(["127.0.0.1", "::1", "::ffff:127.1.2.3"].every(isLoopback)).toBe(true);
    expect(["10.0.0.1", "::2", "::ffff:10.0.0.1", "1270::1", "128.0.0.1"].some(isLoopback)).toBe(false);
  });

  test("memory is bounded: past maxAddresses new addresses pass unchecked until the next minute", () => {
    const r = new AddressRate(1, 100);
    for (let i = 0; i < 1000; i++) r.allow(`198.51.100.${i}`, T);
    expect(r.size).toBe(100);
    expect(r.allow("198.51.100.999", T)).toBe(true); // untracked: fails open
    expect(r.allow("198.51.100.999", T)).toBe(true);
    expect(r.allow("198.51.100.5", T)).toBe(false); // tracked ones keep their limit
    r.allow("198.51.100.5", T + 60);
    expect(r.size).toBe(1); // a new minute empties the map
  });
});
