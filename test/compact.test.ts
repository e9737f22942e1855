import { describe, expect, test } from "bun:test";
import { isIP } from "node:net";
import fc from "fast-check";
import { formatAddress, parseAddress, writePort } from "../src/protocol/compact.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** parseAddress into a poisoned buffer at offset 3; returns family and the written bytes. */
function parse(text: string): { family: number; bytes: string; untouched: boolean } {
  const out = new Uint8Array(24).fill(0xee);
  const family = parseAddress(text, out, 3);
  const n = family === 4 ? 4 : family === 6 ? 16 : 0;
  let untouched = out[2] === 0xee;
  for (let k = 3 + n; k < 24; k++) if (out[k] !== 0xee) untouched = false;
  return { family, bytes: hex(out.subarray(3, 3 + n)), untouched };
}

describe("parseAddress: IPv4", () => {
  test.each([
    ["1.2.3.4", "01020304"],
    ["0.0.0.0", "00000000"],
    ["255.255.255.255", "ffffffff"],
    ["127.0.0.1", "7f000001"],
    ["10.200.30.9", "0ac81e09"],
  ])("%p -> %p", (text, bytes) => {
    expect(parse(text)).toEqual({ family: 4, bytes, untouched: true });
  });

  test.each([
    "",
    "1.2.3.256",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.",
    ".1.2.3",
    "1..2.3",
    "01.2.3.4", // leading zero: octal to some parsers, refused like inet_pton
    "1.2.3.0004",
    "1.2.3.4 ",
    " 1.2.3.4",
    "1.2.3.-4",
    "1.2.3.4%eth0",
    "a.b.c.d",
    "localhost",
    "1234",
    "[1.2.3.4]",
  ])("%p is refused and nothing is written", (text) => {
    expect(parse(text)).toEqual({ family: 0, bytes: "", untouched: true });
  });
});

describe("parseAddress: IPv6", () => {
  test.each([
    ["::", "00000000000000000000000000000000"],
    ["::1", "00000000000000000000000000000001"],
    ["1::", "00010000000000000000000000000000"],
    ["2001:db8::1", "20010db8000000000000000000000001"],
    ["2001:DB8::ABCD", "20010db800000000000000000000abcd"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffffffffffffffffffffffffffffffff"],
    ["0001:0002:0003:0004:0005:0006:0007:0008", "00010002000300040005000600070008"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000"], // "::" for one group is valid input
    ["::2:3:4:5:6:7:8", "00000002000300040005000600070008"],
    ["1:2:3::6:7:8", "00010002000300000000000600070008"],
    ["fe80::1%eth0", "fe800000000000000000000000000001"], // zone dropped
    ["fe80::1%25", "fe800000000000000000000000000001"],
    ["::1.2.3.4", "00000000000000000000000001020304"], // IPv4-compatible (deprecated) stays IPv6
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221"],
    ["1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"],
    ["::ffff:0:1.2.3.4", "0000000000000000ffff000001020304"], // IPv4-translated: not mapped
  ])("%p -> %p", (text, bytes) => {
    expect(parse(text)).toEqual({ family: 6, bytes, untouched: true });
  });

  test.each([
    ["::ffff:1.2.3.4", "01020304"],
    ["::FFFF:127.0.0.1", "7f000001"],
    ["::ffff:102:304", "01020304"], // the same address in hex
    ["0:0:0:0:0:ffff:a00:1", "0a000001"],
    ["::ffff:1.2.3.4%eth0", "01020304"],
  ])("IPv4-mapped %p yields the 4 IPv4 bytes", (text, bytes) => {
    expect(parse(text)).toEqual({ family: 4, bytes, untouched: true });
  });

  test.each([
    ":",
    ":::",
    ":1::",
    "1:",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7",
    "12345::",
    "g::1",
    "::1%",
    "%eth0",
    "::ffff:1.2.3.256",
    "::ffff:1.2.3",
    "::ffff:01.2.3.4",
    "::1.2.3.4:5",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::1.2.3.4.5",
    "[::1]",
    " ::1",
    "::1 ",
    "1.2.3.4::",
  ])("%p is refused and nothing is written", (text) => {
    expect(parse(text)).toEqual({ family: 0, bytes: "", untouched: true });
  });

  test("property: agrees with node:net isIP on random strings over an address-like alphabet", () => {
    const chars = fc.constantFrom(..."0123456789abcdefABCDEFg:.%xe");
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 45 }), (s) => {
        const family = parseAddress(s, new Uint8Array(16), 0);
        // Zones: isIP allows only [0-9a-zA-Z-.:] after '%'; parseAddress drops any non-empty
        // zone unchecked (Linux interface names may hold other characters, e.g. '_').
        const z = s.indexOf("%");
        const expected = z < 0 ? isIP(s) : z === s.length - 1 ? 0 : isIP(s.slice(0, z) + "%eth0");
        // isIP says 6 for IPv4-mapped text; parseAddress folds those to 4.
        expect(family === 0 ? 0 : family === 4 && s.includes(":") ? 6 : family).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });

  test("property: never throws, returns 0|4|6 on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
        expect([0, 4, 6]).toContain(parseAddress(s, new Uint8Array(16), 0));
      }),
      { numRuns: 2000 },
    );
  });

  test("non-string input returns 0", () => {
    expect(parseAddress(undefined as unknown as string, new Uint8Array(16), 0)).toBe(0);
  });
});

describe("writePort", () => {
  test.each([
    [0, "0000"],
    [1, "0001"],
    [6969, "1b39"],
    [65535, "ffff"],
  ])("%p -> %p big-endian", (port, bytes) => {
    const out = new Uint8Array(8).fill(0xee);
    writePort(out, 4, port);
    expect(hex(out)).toBe(`eeeeeeee${bytes}eeee`);
  });
});

describe("formatAddress", () => {
  test("IPv4", () => {
    expect(formatAddress(new Uint8Array([9, 1, 2, 3, 4, 9]), 1, 4)).toBe("1.2.3.4");
    expect(formatAddress(new Uint8Array([255, 0, 0, 255]), 0, 4)).toBe("255.0.0.255");
  });

  const v6 = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
  test.each([
    ["00000000000000000000000000000000", "::"],
    ["00000000000000000000000000000001", "::1"],
    ["00010000000000000000000000000000", "1::"],
    ["20010db8000000000000000000000001", "2001:db8::1"],
    ["00010002000300040005000600070008", "1:2:3:4:5:6:7:8"],
    ["20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
    ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"], // tie: the first run
    ["00010000000100000000000000010001", "1:0:1::1:1"], // the longest run
    ["ABCD0000000000000000000000000000".toLowerCase(), "abcd::"],
    ["00000000000000000000ffff01020304", "::ffff:1.2.3.4"], // RFC 5952 section 5
  ])("%p -> %p", (bytes, text) => {
    expect(formatAddress(v6(bytes), 0, 6)).toBe(text);
  });

  test("property: IPv6 text round-trips and matches the WHATWG URL serializer (RFC 5952)", () => {
    // Bias towards zero groups so runs of zeros are common.
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const rec = new Uint8Array(16);
        groups.forEach((g, k) => {
          rec[2 * k] = g >>> 8;
          rec[2 * k + 1] = g & 0xff;
        });
        const text = formatAddress(rec, 0, 6);
        const out = new Uint8Array(16);
        const family = parseAddress(text, out, 0);
        const mapped = hex(rec).startsWith("00000000000000000000ffff");
        if (mapped) {
          expect(family).toBe(4);
          expect(hex(out.subarray(0, 4))).toBe(hex(rec.subarray(12)));
        } else {
          expect(family).toBe(6);
          expect(hex(out)).toBe(hex(rec));
          expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
          // The uncompressed, zero-padded form parses to the same bytes.
          const full = groups.map((g) => g.toString(16).padStart(4, "0")).join(":");
          expect(parseAddress(full, out, 0)).toBe(6);
          expect(hex(out)).toBe(hex(rec));
        }
      }),
      { numRuns: 3000 },
    );
  });

  test("property: IPv4 text round-trips", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (rec) => {
        const out = new Uint8Array(4);
        expect(parseAddress(formatAddress(rec, 0, 4), out, 0)).toBe(4);
        expect(out).toEqual(rec);
      }),
    );
  });
});
