/** The --stats-allow rule (src/operator/stats/access.ts). */
import { describe, expect, test } from "bun:test";
import { canonicalAddress, statsAccess } from "../src/operator/stats/access.ts";

describe("statsAllow addresses", () => {
  test.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:127.0.0.1", "127.0.0.1"], // an IPv4 client of a dual-stack socket
    ["::FFFF:7f00:1", "127.0.0.1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:DB8:0:0::1", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["", null],
    ["localhost", null],
    ["1.2.3", null],
  ])("canonicalAddress(%p) = %p", (ip, want) => {
    expect(canonicalAddress(ip)).toBe(want);
  });

  test("an empty list lets everyone in, even an unreadable address", () => {
    const ok = statsAccess([]);
    expect(ok("203.0.113.9")).toBe(true);
    expect(ok("")).toBe(true);
  });

  test("a list admits its addresses in any spelling and nothing else", () => {
    const ok = statsAccess(["127.0.0.1", "::1", "::ffff:10.0.0.7"]);
    expect(ok("127.0.0.1")).toBe(true);
    expect(ok("::ffff:127.0.0.1")).toBe(true);
    expect(ok("0::1")).toBe(true);
    expect(ok("10.0.0.7")).toBe(true);
    expect(ok("127.0.0.2")).toBe(false);
    expect(ok("::2")).toBe(false);
    expect(ok("")).toBe(false); // server.requestIP gave nothing: refuse
  });
});
