import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { InfoHashSet, infoHashFromText, parseInfoHashList, parseInfoHashListSliced } from "../src/access/info-hash-list.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));

/** A magnet link's info_hash in both spellings (base32 made with Python's base64.b32encode). */
const MAGNET_HEX = "dd8255ecdc7ca55fb0bbf81323d87062db1f6d1c";
const MAGNET_BASE32 = "3WBFL3G4PSSV7MF37AJSHWDQMLNR63I4";
const A = "0123456789abcdef0123456789abcdef01234567";
const B = "ffeeddccbbaa99887766554433221100ffeeddcc";

/** RFC 4648 base32 of 20 bytes, bit by bit: a reference independent of the parser's decoder. */
function base32(bytes: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = Array.from(bytes, (b) => b.toString(2).padStart(8, "0")).join("");
  let out = "";
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

/** The set a list must parse to (fails the test with the parser's complaint otherwise). */
function parsed(text: string): InfoHashSet {
  const r = parseInfoHashList(text);
  if (!r.ok) throw new Error(`line ${r.line}: ${r.reason}: ${r.content}`);
  return r.set;
}

function contains(set: InfoHashSet, h: string): boolean {
  return set.has(fromHex(h), 0);
}

describe("infoHashFromText", () => {
  test.each([
    [A, A],
    [A.toUpperCase(), A],
    [MAGNET_HEX, MAGNET_HEX],
    [MAGNET_BASE32, MAGNET_HEX],
    [MAGNET_BASE32.toLowerCase(), MAGNET_HEX],
    ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "00".repeat(20)],
    ["77777777777777777777777777777777", "ff".repeat(20)],
    ["AERUKZ4JVPG66AJDIVTYTK6N54ASGRLH", A],
  ])("%p -> %p", (text, bytes) => {
    expect(hex(infoHashFromText(text)!)).toBe(bytes);
  });

  test.each([
    ["", "empty"],
    [A.slice(1), "39 hex characters"],
    [A + "0", "41 characters"],
    [A.slice(1) + "g", "a non-hex character"],
    [" " + A.slice(1), "a space"],
    [MAGNET_BASE32.slice(1), "31 base32 characters"],
    [MAGNET_BASE32.slice(1) + "1", "base32 with '1'"],
    [MAGNET_BASE32.slice(1) + "8", "base32 with '8'"],
    [MAGNET_BASE32.slice(1) + "=", "base32 padding"],
    [A.slice(1) + "\u00e9", "a non-ASCII character"],
  ])("%p (%s) is refused", (text) => {
    expect(infoHashFromText(text)).toBeNull();
  });

  test("property: base32 and hex of the same 20 bytes decode to those bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), (bytes) => {
        expect(hex(infoHashFromText(hex(bytes))!)).toBe(hex(bytes));
        expect(hex(infoHashFromText(base32(bytes))!)).toBe(hex(bytes));
        expect(hex(infoHashFromText(base32(bytes).toLowerCase())!)).toBe(hex(bytes));
      }),
      { numRuns: 1000, seed: 20240601 },
    );
  });
});

describe("parseInfoHashList: accepted files", () => {
  test("hex in either case and base32 in either case", () => {
    const set = parsed([A.toUpperCase(), B, MAGNET_BASE32.toLowerCase()].join("\n"));
    expect(set.size).toBe(3);
    for (const h of [A, B, MAGNET_HEX]) expect(contains(set, h)).toBe(true);
  });

  test("whole-line and trailing comments, blank lines, surrounding whitespace", () => {
    const text = [
      "# the allow list",
      "",
      `  ${A}  # ubuntu iso`,
      `\t${B}#no space before the comment`,
      "   ",
      `${MAGNET_BASE32}\t# a magnet link's hash`,
      "# " + "0".repeat(40) + " commented out",
      "",
    ].join("\n");
    const set = parsed(text);
    expect(set.size).toBe(3);
    for (const h of [A, B, MAGNET_HEX]) expect(contains(set, h)).toBe(true);
    expect(contains(set, "0".repeat(40))).toBe(false);
  });

  test("CRLF line ends, with or without a final line end", () => {
    for (const text of [`${A}\r\n${B}\r\n`, `${A}\r\n${B}`, `# c\r\n\r\n${A} # x\r\n${B}`]) {
      const set = parsed(text);
      expect(set.size).toBe(2);
      expect(contains(set, A) && contains(set, B)).toBe(true);
    }
  });

  test("a leading UTF-8 byte order mark is skipped", () => {
    const set = parsed(`\ufeff${A}\n${B}\n`);
    expect(set.size).toBe(2);
    expect(contains(set, A)).toBe(true);
    // As decoded from the file's bytes.
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${B}\n`)]);
    expect(contains(parsed(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)), B)).toBe(true);
  });

  test("duplicates, in any spelling, are kept once", () => {
    const set = parsed([A, B, A.toUpperCase(), MAGNET_HEX, MAGNET_BASE32, B, A].join("\n"));
    expect(set.size).toBe(3);
    for (const h of [A, B, MAGNET_HEX]) expect(contains(set, h)).toBe(true);
    // The table is sized for the 7 hash lines read: 7 / 0.6 -> 12 slots of 20 bytes, and one
    // 32-bit word of occupancy bits.
    expect(set.bytes).toBe(12 * 20 + 4);
  });

  test("the densest file: base32 lines, bare LF, no final line end", () => {
    const keys = Array.from({ length: 1000 }, (_, k) => {
      const b = new Uint8Array(20);
      new DataView(b.buffer).setUint32(16, k);
      return b;
    });
    const set = parsed(keys.map(base32).join("\n"));
    expect(set.size).toBe(1000);
    for (const k of keys) expect(set.has(k, 0)).toBe(true);
  });

  test.each(["", "\n", "\n\n\n", "# nothing yet\n", "\ufeff", "  \r\n\t\r\n"])("%p gives an empty set", (text) => {
    const set = parsed(text);
    expect(set.size).toBe(0);
    expect(contains(set, A)).toBe(false);
    expect(contains(set, "00".repeat(20))).toBe(false);
  });
});

describe("parseInfoHashList: refused files", () => {
  test.each([
    [`${A}\n${A.slice(1)}\n${B}`, 2, A.slice(1), "39 hex characters"],
    [`${A}\n${B}\n${A}0`, 3, `${A}0`, "41 characters"],
    [`# c\n\n${A.slice(1)}g # why`, 3, `${A.slice(1)}g # why`, "a non-hex character"],
    [`${MAGNET_BASE32.slice(1)}1`, 1, `${MAGNET_BASE32.slice(1)}1`, "base32 with '1'"],
    [`${A}\r\n${MAGNET_BASE32.slice(1)}8\r\n`, 2, `${MAGNET_BASE32.slice(1)}8`, "base32 with '8'"],
    [`${A}\n  hello  \n`, 2, "hello", "a word"],
    [`${A}\n${A.slice(0, 20)} ${A.slice(20)}`, 2, `${A.slice(0, 20)} ${A.slice(20)}`, "a space inside"],
    [`\ufeff${A.slice(1)}`, 1, A.slice(1), "a bad first line after a BOM"],
    [`${A}\n\ufeff${B}`, 2, `\ufeff${B}`, "a BOM that does not lead the file"],
    [`${A}\n//${B}`, 2, `//${B}`, "another comment syntax"],
  ])("%p: line %p is reported (%s)", (text, line, content) => {
    expect(parseInfoHashList(text)).toEqual({
      ok: false,
      line,
      content,
      reason: "not a 40-character hex or 32-character base32 info_hash",
    });
  });

  test("text after a valid hash that is not a comment", () => {
    expect(parseInfoHashList(`${B}\n${A} ubuntu iso\n`)).toEqual({
      ok: false,
      line: 2,
      content: `${A} ubuntu iso`,
      reason: "text after the info_hash (a comment must start with #)",
    });
  });

  test("the content is trimmed and cut to 80 characters; the first bad line is the one reported", () => {
    const long = "x".repeat(200);
    const r = parseInfoHashList(`${A}\n\n   ${long}  \r\nalso bad\n`);
    expect(r).toEqual({ ok: false, line: 3, content: "x".repeat(80), reason: expect.any(String) });
  });
});

describe("InfoHashSet.has", () => {
  test("listed keys are found; a key differing in one byte (the last, the first) is not", () => {
    const set = parsed(`${A}\n${B}\n`);
    expect(contains(set, A)).toBe(true);
    expect(contains(set, B)).toBe(true);
    expect(contains(set, A.slice(0, 38) + "68")).toBe(false);
    expect(contains(set, "00" + B.slice(2))).toBe(false);
    expect(contains(set, MAGNET_HEX)).toBe(false);
  });

  test("reads the key at a non-zero offset, and only those 20 bytes", () => {
    const set = parsed(`${A}\n`);
    const buf = new Uint8Array(47).fill(0xaa);
    buf.set(fromHex(A), 13);
    expect(set.has(buf, 13)).toBe(true);
    expect(set.has(buf, 12)).toBe(false);
    expect(set.has(buf, 14)).toBe(false);
  });

  test("InfoHashSet.empty() holds nothing", () => {
    const set = InfoHashSet.empty();
    expect(set.size).toBe(0);
    expect(set.has(fromHex(A), 0)).toBe(false);
    expect(set.has(new Uint8Array(20), 0)).toBe(false);
  });

  test("fromKeys copies its input and drops duplicates", () => {
    const packed = new Uint8Array(60);
    packed.set(fromHex(A), 0);
    packed.set(fromHex(B), 20);
    packed.set(fromHex(A), 40);
    const set = InfoHashSet.fromKeys(packed, 3);
    packed.fill(0);
    expect(set.size).toBe(2);
    expect(contains(set, A) && contains(set, B)).toBe(true);
    expect(set.has(packed, 0)).toBe(false);
  });

  test("property: every listed key is found, unlisted keys are not", () => {
    const key = fc.uint8Array({ minLength: 20, maxLength: 20 });
    fc.assert(
      fc.property(fc.array(key, { maxLength: 300 }), fc.array(key, { maxLength: 50 }), (listed, others) => {
        // Lists written in both spellings, with duplicates and comments.
        const lines = listed.map((k, i) => (i % 3 === 0 ? base32(k) : i % 3 === 1 ? hex(k).toUpperCase() + " # c" : hex(k)));
        const set = parsed(["# list", ...lines, ...lines.slice(0, 5)].join("\n"));
        const distinct = new Set(listed.map(hex));
        expect(set.size).toBe(distinct.size);
        const buf = new Uint8Array(25);
        for (const k of listed) {
          buf.set(k, 5);
          expect(set.has(buf, 5)).toBe(true);
        }
        for (const k of others) expect(set.has(k, 0)).toBe(distinct.has(hex(k)));
        // Every listed key with its last byte changed is a miss unless that too is listed.
        for (const k of listed) {
          const near = k.slice();
          near[19] = near[19]! ^ 1;
          expect(set.has(near, 0)).toBe(distinct.has(hex(near)));
        }
      }),
      { numRuns: 200, seed: 20240602 },
    );
  });

  test("a large list: 100,000 keys found, as many others not", () => {
    const n = 100_000;
    // Deterministic distinct keys: a counter in the first 4 bytes, a fixed pattern after.
    const keys = new Uint8Array(2 * n * 20);
    const view = new DataView(keys.buffer);
    for (let k = 0; k < 2 * n; k++) {
      view.setUint32(k * 20, k * 2654435761);
      for (let j = 4; j < 20; j++) keys[k * 20 + j] = (k * 31 + j * 7) & 255;
    }
    const lines: string[] = [];
    for (let k = 0; k < n; k++) lines.push(hex(keys.subarray(k * 20, k * 20 + 20)));
    const set = parsed(lines.join("\n"));
    expect(set.size).toBe(n);
    let found = 0;
    let falsePositives = 0;
    for (let k = 0; k < n; k++) if (set.has(keys, k * 20)) found++;
    for (let k = n; k < 2 * n; k++) if (set.has(keys, k * 20)) falsePositives++;
    expect(found).toBe(n);
    expect(falsePositives).toBe(0);
    // Load at most 1/2: the table has at least 2n slots of 4 bytes.
    expect(set.bytes).toBeGreaterThanOrEqual(n * 20 + 2 * n * 4);
  });
});

describe("parseInfoHashListSliced", () => {
  const hexOf = (k: number) => k.toString(16).padStart(40, "0");

  test("gives the same set as the one-go parse, pausing between slices of lines and keys", async () => {
    const text = Array.from({ length: 1000 }, (_, k) => hexOf(k)).join("\n");
    let pauses = 0;
    const r = await parseInfoHashListSliced(text, 100, async () => void pauses++);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.set.size).toBe(1000);
    for (let k = 0; k < 1000; k++) expect(contains(r.set, hexOf(k))).toBe(true);
    expect(contains(r.set, hexOf(1000))).toBe(false);
    // 1,000 lines in slices of 100: a pause between slices; the 1,000 keys go in one batch.
    expect(pauses).toBe(9);
    let buildPauses = 0;
    await parseInfoHashListSliced(Array.from({ length: 3000 }, (_, k) => hexOf(k)).join("\n"), 1_000_000, async () => void buildPauses++);
    expect(buildPauses).toBe(0); // one slice of lines; 3,000 keys in batches of 1,024 within one slice
    let smallSlices = 0;
    await parseInfoHashListSliced(Array.from({ length: 3000 }, (_, k) => hexOf(k)).join("\n"), 1500, async () => void smallSlices++);
    expect(smallSlices).toBe(1 + 1); // lines: after 1,500; keys: between batches once 1,500 passed
  });

  test("a bad line is reported as by the one-go parse", async () => {
    const text = [hexOf(1), hexOf(2), "nope", hexOf(3)].join("\n");
    expect(await parseInfoHashListSliced(text, 1, async () => {})).toEqual(parseInfoHashList(text));
  });
});
