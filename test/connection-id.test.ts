import { describe, expect, test } from "bun:test";
import { CONNECTION_ID_BUCKET_SECONDS, ConnectionIds, SipHash24 } from "../src/server/connection-id.ts";

// SipHash-2-4 reference vectors (Aumasson & Bernstein, vectors.h of the reference
// implementation): key = 00 01 .. 0f, message i = 00 01 .. (i-1), output as 8 bytes.
const SIPHASH_VECTORS = [
  "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",
  "b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",
  "6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",
  "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",
  "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",
  "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",
  "94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",
  "a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",
  "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",
  "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",
  "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",
  "f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",
  "51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",
  "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",
  "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
  "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",
];

describe("SipHash-2-4", () => {
  test("reference vectors, message lengths 0..63", () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    const msg = Uint8Array.from({ length: 64 }, (_, i) => i);
    const sip = new SipHash24(key);
    const got: string[] = [];
    const out = Buffer.alloc(8);
    for (let i = 0; i < 64; i++) {
      sip.hash(msg, 0, i);
      out.writeUInt32LE(sip.lo, 0);
      out.writeUInt32LE(sip.hi, 4);
      got.push(out.toString("hex"));
    }
    expect(got).toEqual(SIPHASH_VECTORS);
  });

  test("hashes a window at an offset", () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i);
    const shifted = Uint8Array.from({ length: 40 }, (_, i) => (i - 5) & 0xff); // message starts at 5
    const sip = new SipHash24(key);
    sip.hash(shifted, 5, 15);
    const out = Buffer.alloc(8);
    out.writeUInt32LE(sip.lo, 0);
    out.writeUInt32LE(sip.hi, 4);
    expect(out.toString("hex")).toBe(SIPHASH_VECTORS[15]!);
  });

  test("the key must be 16 bytes", () => {
    expect(() => new SipHash24(new Uint8Array(32))).toThrow();
  });
});

const V4 = Uint8Array.from([192, 0, 2, 33]);
const V4_OTHER = Uint8Array.from([192, 0, 2, 34]);
const V6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21]);
const V6_OTHER = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22]);
const V4_MAPPED = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 33]);

const B = CONNECTION_ID_BUCKET_SECONDS;
const T0 = 1_700_000_040; // start of a bucket (divisible by 120)

function idFor(ids: ConnectionIds, addr: Uint8Array, now: number): [number, number] {
  ids.make(addr, 0, addr.length, now);
  return [ids.hi, ids.lo];
}

describe("ConnectionIds", () => {
  const ids = new ConnectionIds("");

  test("the bucket is 2 minutes", () => {
    expect(B).toBe(120);
    expect(T0 % B).toBe(0);
  });

  test("round trip, IPv4 and IPv6", () => {
    for (const addr of [V4, V6]) {
      const [hi, lo] = idFor(ids, addr, T0 + 5);
      expect(hi).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(0xffffffff);
      expect(lo).toBeLessThanOrEqual(0xffffffff);
      expect(ids.check(addr, 0, addr.length, hi, lo, T0 + 5)).toBe(true);
    }
  });

  test("the address may sit at an offset in a larger buffer", () => {
    const big = new Uint8Array(30);
    big.set(V6, 7);
    const [hi, lo] = idFor(ids, V6, T0);
    expect(ids.check(big, 7, 16, hi, lo, T0 + 1)).toBe(true);
  });

  test("make is deterministic within a bucket and changes across buckets", () => {
    const a = idFor(ids, V4, T0);
    expect(idFor(ids, V4, T0 + B - 1)).toEqual(a);
    expect(idFor(ids, V4, T0 + B)).not.toEqual(a);
  });

  // Whatever the moment of issue within a bucket, an id is good for at least 2 minutes
  // and dead after 4.
  test.each([0, 1, 60, 119])("issued %d s into a bucket: valid for 120 s, dead at 240 s", (into) => {
    const issued = T0 + into;
    const [hi, lo] = idFor(ids, V4, issued);
    for (const dt of [0, 1, 59, 119, 120]) expect(ids.check(V4, 0, 4, hi, lo, issued + dt)).toBe(true);
    const firstDead = T0 + 2 * B; // the start of the bucket after next
    expect(ids.check(V4, 0, 4, hi, lo, firstDead - 1)).toBe(true);
    expect(ids.check(V4, 0, 4, hi, lo, firstDead)).toBe(false);
    expect(ids.check(V4, 0, 4, hi, lo, issued + 240)).toBe(false);
    expect(ids.check(V4, 0, 4, hi, lo, issued + 3600)).toBe(false);
  });

  test("rejected from another address (IPv4 and IPv6), and across families", () => {
    const [hi4, lo4] = idFor(ids, V4, T0);
    expect(ids.check(V4_OTHER, 0, 4, hi4, lo4, T0)).toBe(false);
    expect(ids.check(V6, 0, 16, hi4, lo4, T0)).toBe(false);
    const [hi6, lo6] = idFor(ids, V6, T0);
    expect(ids.check(V6_OTHER, 0, 16, hi6, lo6, T0)).toBe(false);
    expect(ids.check(V4, 0, 4, hi6, lo6, T0)).toBe(false);
  });

  test("an IPv4-mapped IPv6 address is the same client as its IPv4 address", () => {
    const [hi, lo] = idFor(ids, V4, T0);
    expect(ids.check(V4_MAPPED, 0, 16, hi, lo, T0)).toBe(true);
  });

  test("any single flipped bit is rejected (in this and in the previous bucket)", () => {
    for (const now of [T0, T0 + B]) {
      const [hi, lo] = idFor(ids, V4, T0);
      for (let bit = 0; bit < 32; bit++) {
        expect(ids.check(V4, 0, 4, (hi ^ (1 << bit)) >>> 0, lo, now)).toBe(false);
        expect(ids.check(V4, 0, 4, hi, (lo ^ (1 << bit)) >>> 0, now)).toBe(false);
      }
    }
  });

  test("the protocol id and zero are not accepted as connection ids", () => {
    expect(ids.check(V4, 0, 4, 0x417, 0x27101980, T0)).toBe(false);
    expect(ids.check(V4, 0, 4, 0, 0, T0)).toBe(false);
  });

  test("ids of different clients look unrelated", () => {
    const seen = new Set<string>();
    const addr = new Uint8Array(4);
    for (let i = 0; i < 1000; i++) {
      addr[0] = 10;
      addr[2] = i >> 8;
      addr[3] = i & 0xff;
      const [hi, lo] = idFor(ids, addr, T0);
      seen.add(`${hi}:${lo}`);
    }
    expect(seen.size).toBe(1000);
  });

  test("a shared secret: two instances (two processes) agree", () => {
    const a = new ConnectionIds("correct horse battery staple 0123456789abcdef");
    const b = new ConnectionIds("correct horse battery staple 0123456789abcdef");
    const [hi, lo] = idFor(a, V6, T0);
    expect(idFor(b, V6, T0)).toEqual([hi, lo]);
    expect(b.check(V6, 0, 16, hi, lo, T0 + B)).toBe(true);
  });

  test("different secrets disagree", () => {
    const a = new ConnectionIds("secret-one");
    const b = new ConnectionIds("secret-two");
    const [hi, lo] = idFor(a, V4, T0);
    expect(b.check(V4, 0, 4, hi, lo, T0)).toBe(false);
  });

  test("random keys: two instances disagree", () => {
    const a = new ConnectionIds("");
    const b = new ConnectionIds("");
    const [hi, lo] = idFor(a, V4, T0);
    expect(a.check(V4, 0, 4, hi, lo, T0)).toBe(true);
    expect(b.check(V4, 0, 4, hi, lo, T0)).toBe(false);
    expect(idFor(b, V4, T0)).not.toEqual([hi, lo]);
  });

  test("odd inputs never throw", () => {
    const short = new Uint8Array(3);
    expect(() => ids.make(short, 0, 16, T0)).not.toThrow();
    expect(() => ids.check(short, 2, 4, 1, 2, T0)).not.toThrow();
    expect(() => ids.make(V6, 0, 40, Number.NaN)).not.toThrow();
  });
});
