import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  encodeAscii,
  writeAscii,
  writeBytes,
  writeFailure,
  writeInt,
  writeRaw,
  writeUint,
} from "../src/protocol/bencode.ts";

// npm `bencode` ships no type declarations; a non-literal specifier keeps tsc from looking.
const bencodeSpecifier: string = "bencode";
type Bencode = {
  decode: ((data: Uint8Array) => unknown) & { position: number };
  encode: (value: unknown) => Uint8Array<ArrayBuffer>;
};
const bencode = (await import(bencodeSpecifier)).default as Bencode;

const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
const buf = new Uint8Array(1 << 16);

/** Decodes buf[0..end) with the reference decoder and checks it consumed exactly end bytes. */
function decodeExact(end: number): unknown {
  const value = bencode.decode(buf.subarray(0, end));
  expect(bencode.decode.position).toBe(end);
  return value;
}

describe("writeUint / writeInt", () => {
  test.each([
    [0, "0"],
    [1, "1"],
    [9, "9"],
    [10, "10"],
    [99, "99"],
    [100, "100"],
    [65535, "65535"],
    [4294967296, "4294967296"],
    [999999999999999, "999999999999999"],
    [1000000000000000, "1000000000000000"],
    [Number.MAX_SAFE_INTEGER, "9007199254740991"],
  ])("writeUint(%p) = %p", (n, text) => {
    const end = writeUint(buf, 3, n);
    expect(end).toBe(3 + text.length);
    expect(latin1(buf.subarray(3, end))).toBe(text);
  });

  test.each([
    [0, "i0e"],
    [-0, "i0e"],
    [7, "i7e"],
    [-1, "i-1e"],
    [-10, "i-10e"],
    [1800, "i1800e"],
    [Number.MAX_SAFE_INTEGER, "i9007199254740991e"],
    [-Number.MAX_SAFE_INTEGER, "i-9007199254740991e"],
  ])("writeInt(%p) = %p", (n, text) => {
    const end = writeInt(buf, 0, n);
    expect(latin1(buf.subarray(0, end))).toBe(text);
  });

  test("property: any safe integer round-trips through the reference decoder", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.maxSafeInteger(), fc.integer(), fc.constantFrom(0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER)),
        fc.nat(100),
        (n, off) => {
          const end = writeInt(buf, off, n);
          expect(latin1(buf.subarray(off, end))).toBe(`i${n}e`);
          const value = bencode.decode(buf.subarray(off, end));
          expect(bencode.decode.position).toBe(end - off);
          expect(value).toBe(n);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("property: writeUint matches String(n) for non-negative safe integers", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        const end = writeUint(buf, 0, n);
        expect(latin1(buf.subarray(0, end))).toBe(String(n));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("writeBytes / writeAscii / writeRaw", () => {
  test("every byte value 0x00-0xFF survives, short (loop copy) and long (set copy)", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    for (const [start, end] of [
      [0, 256],
      [0, 20],
      [236, 256],
      [100, 100],
    ] as const) {
      const e = writeBytes(buf, 0, all, start, end);
      expect(latin1(buf.subarray(0, e))).toBe(`${end - start}:${latin1(all.subarray(start, end))}`);
      expect(decodeExact(e)).toEqual(all.slice(start, end));
    }
  });

  test("the empty string is 0:", () => {
    const e = writeBytes(buf, 0, new Uint8Array(0), 0, 0);
    expect(latin1(buf.subarray(0, e))).toBe("0:");
    expect(decodeExact(e)).toEqual(new Uint8Array(0));
    expect(latin1(buf.subarray(0, writeAscii(buf, 0, "")))).toBe("0:");
  });

  test("property: random byte strings (any byte, any sub-range) round-trip", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 600 }).chain((bytes) =>
          fc.tuple(fc.constant(bytes), fc.nat(bytes.length), fc.nat(bytes.length), fc.nat(50)),
        ),
        ([bytes, a, b, off]) => {
          const start = Math.min(a, b);
          const end = Math.max(a, b);
          const e = writeBytes(buf, off, bytes, start, end);
          const value = bencode.decode(buf.subarray(off, e));
          expect(bencode.decode.position).toBe(e - off);
          expect(value).toEqual(bytes.slice(start, end));
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("property: writeAscii equals bencode.encode of the string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary-ascii", maxLength: 300 }), (s) => {
        const e = writeAscii(buf, 0, s);
        expect(buf.slice(0, e)).toEqual(bencode.encode(s));
      }),
      { numRuns: 1000 },
    );
  });

  test("writeRaw copies chunks of any size verbatim and returns the new offset", () => {
    for (const size of [0, 1, 12, 96, 97, 1000]) {
      const chunk = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 0xff);
      buf.fill(0xaa);
      const e = writeRaw(buf, 5, chunk);
      expect(e).toBe(5 + size);
      expect(buf.slice(5, e)).toEqual(chunk);
      expect(buf[4]).toBe(0xaa);
      expect(buf[e]).toBe(0xaa);
    }
  });

  test("encodeAscii encodes ASCII and refuses anything else at start-up", () => {
    expect(encodeAscii("d8:completei")).toEqual(new Uint8Array([...Buffer.from("d8:completei")]));
    expect(encodeAscii("")).toEqual(new Uint8Array(0));
    expect(() => encodeAscii("é")).toThrow(RangeError);
  });
});

describe("failure answers", () => {
  test("writeFailure is the exact BEP 3 dict", () => {
    const e = writeFailure(buf, 0, "invalid info_hash");
    expect(latin1(buf.subarray(0, e))).toBe("d14:failure reason17:invalid info_hashe");
    const d = decodeExact(e) as Record<string, Uint8Array>;
    expect(latin1(d["failure reason"]!)).toBe("invalid info_hash");
  });

  test("writeFailure with retry in adds BEP 31 `retry in` after `failure reason` (sorted keys)", () => {
    const e = writeFailure(buf, 0, "tracker is full", 1800);
    expect(latin1(buf.subarray(0, e))).toBe("d14:failure reason15:tracker is full8:retry ini1800ee");
    expect(buf.slice(0, e)).toEqual(bencode.encode({ "failure reason": "tracker is full", "retry in": 1800 }));
  });

  test("property: any ASCII reason, any retry-in", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary-ascii", maxLength: 200 }), fc.maxSafeNat(), (reason, retry) => {
        let e = writeFailure(buf, 0, reason);
        expect(buf.slice(0, e)).toEqual(bencode.encode({ "failure reason": reason }));
        e = writeFailure(buf, 0, reason, retry);
        expect(buf.slice(0, e)).toEqual(bencode.encode({ "failure reason": reason, "retry in": retry }));
      }),
      { numRuns: 500 },
    );
  });
});

describe("nested structures assembled with the writer", () => {
  type Value = number | Uint8Array | Value[] | { [key: string]: Value };

  const valueArb = fc.letrec<{ value: Value }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.maxSafeInteger().map((n) => (n === 0 ? 0 : n)), // no -0: JS keeps it, bencode does not
      fc.uint8Array({ maxLength: 40 }),
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(fc.string({ unit: "grapheme-ascii", maxLength: 12 }), tie("value"), {
        maxKeys: 5,
        noNullPrototype: true,
      }),
    ),
  })).value;

  const D = encodeAscii("d");
  const L = encodeAscii("l");
  const E = encodeAscii("e");

  function write(v: Value, off: number): number {
    if (typeof v === "number") return writeInt(buf, off, v);
    if (v instanceof Uint8Array) return writeBytes(buf, off, v, 0, v.length);
    if (Array.isArray(v)) {
      off = writeRaw(buf, off, L);
      for (const item of v) off = write(item, off);
      return writeRaw(buf, off, E);
    }
    off = writeRaw(buf, off, D);
    // Keys are ASCII here, so UTF-16 order is raw-byte order.
    for (const key of Object.keys(v).sort()) {
      off = writeAscii(buf, off, key);
      off = write(v[key]!, off);
    }
    return writeRaw(buf, off, E);
  }

  test("property: decode(writer output) equals the structure, and the bytes equal bencode.encode", () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const end = write(v, 0);
        expect(decodeExact(end)).toEqual(v);
        expect(buf.slice(0, end)).toEqual(bencode.encode(v));
      }),
      { numRuns: 1000 },
    );
  });

  test("a typical announce answer decodes as expected", () => {
    const peers = new Uint8Array(50 * 6).map((_, i) => (i * 31) & 0xff);
    let o = writeRaw(buf, 0, encodeAscii("d8:complete"));
    o = writeInt(buf, o, 12);
    o = writeRaw(buf, o, encodeAscii("10:downloaded"));
    o = writeInt(buf, o, 340);
    o = writeRaw(buf, o, encodeAscii("10:incomplete"));
    o = writeInt(buf, o, 7);
    o = writeRaw(buf, o, encodeAscii("8:interval"));
    o = writeInt(buf, o, 1800);
    o = writeRaw(buf, o, encodeAscii("12:min interval"));
    o = writeInt(buf, o, 900);
    o = writeRaw(buf, o, encodeAscii("5:peers"));
    o = writeBytes(buf, o, peers, 0, peers.length);
    o = writeRaw(buf, o, E);
    expect(decodeExact(o)).toEqual({
      complete: 12,
      downloaded: 340,
      incomplete: 7,
      interval: 1800,
      "min interval": 900,
      peers,
    });
  });
});
