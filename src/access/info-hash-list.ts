/**
 * The info_hash access list (the allow or deny list of torrents): its file format, its parser,
 * and the immutable set that requests are checked against.
 *
 * Format. One info_hash per line, written either as 40 hex characters or as 32 base32
 * characters (RFC 4648 alphabet A-Z 2-7, no padding: the form magnet links use; 32 x 5 bits =
 * 160 bits = 20 bytes), either case. `#` starts a comment, on a line of its own or after the
 * info_hash ("<hash>  # ubuntu iso"). Whitespace around the hash and blank lines are ignored;
 * LF or CRLF line ends; a leading UTF-8 byte order mark is skipped. Anything else on a line
 * makes the whole file invalid: the parser reports the first bad line (1-based) and returns no
 * set, so the caller keeps its old list rather than serving half of a new one. A listed hash
 * may appear several times; it is kept once.
 *
 * Parsing reads the text in place (indexOf for line ends, charCodeAt per character) and decodes
 * each hash straight into one packed Uint8Array: no string per line, no array of lines. A
 * million lines take one pass (bench/access-list.ts) and leave a set of about 34 bytes per key;
 * while parsing, a scratch buffer of at most 20 bytes per 33 characters of text is held besides.
 *
 * Layout of an InfoHashSet: an open-addressing table that holds the keys themselves.
 *   slots[i*20 .. +20]  the key in slot i, if any
 *   used                one bit per slot: 1 = the slot holds a key
 * slotCount = keys the parser saw / MAX_LOAD (not a power of two: the home slot of a key is
 * its 32-bit keyed hash scaled to slotCount, a multiply); linear probing, wrapping at the end.
 * Keys live in the table rather than behind an index so that a lookup costs one trip to
 * memory, not two: with 1,000,000 keys both arrays are far larger than the caches, and the
 * second trip was most of the cost (an announce through the rules with a 1M list: 1,805 ns
 * instead of 1,395 ns with no list, measured before this layout). The set never changes once
 * built (a new list is a new set, swapped in whole): no deletion.
 *
 * Security. The keys come from the operator, but every lookup comes from a client, on every
 * announce. With a predictable hash, an attacker who knows (or guesses) listed hashes could
 * find many info_hashes that probe long runs of the table; with the process's keyed hash
 * (keyed-hash.ts, the store's, tweak 0) bucket positions are unknown outside the process, and
 * a lookup costs one hash and a short probe run whatever the client sends. has() allocates
 * nothing and makes no call but the hash.
 */
import { keyedHash } from "../store/memory/keyed-hash.ts";

const INFO_HASH_LENGTH = 20;
const HEX_LENGTH = 40;
const BASE32_LENGTH = 32;
/** The shortest line that can hold a hash: 32 base32 characters and its "\n". */
const MIN_KEY_LINE = BASE32_LENGTH + 1;
/** Most keys per slot: probe runs stay short (a miss usually stops at an empty slot's bit). */
const MAX_LOAD = 0.6;
const BOM = 0xfeff;
const HASH_SIGN = 0x23; // '#'
/** How much of a bad line the error repeats. */
const CONTENT_LIMIT = 80;
/** Keys hashed ahead of their insertion while a set is built (see fromKeys). */
const HASH_BATCH = 1024;
/** parseLine's answers: a hash was read, a line without one, or why the line is wrong. */
const HASH_LINE = "";
const SKIP_LINE = "#";
const BAD_HASH = "not a 40-character hex or 32-character base32 info_hash";
const TRAILING_TEXT = "text after the info_hash (a comment must start with #)";

/** Character code -> digit value, or -1; codes >= 128 are never digits. */
function digitTable(digits: string): Int8Array {
  const t = new Int8Array(128).fill(-1);
  for (let v = 0; v < digits.length; v++) {
    t[digits.charCodeAt(v)] = v;
    t[digits.toLowerCase().charCodeAt(v)] = v;
  }
  return t;
}
const HEX = digitTable("0123456789ABCDEF");
const BASE32 = digitTable("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");

/** Space, tab, CR (of a CRLF), vertical tab, form feed. */
function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0b || c === 0x0c;
}

/** The digit value of character code `c` in `table`, or -1. */
function digit(table: Int8Array, c: number): number {
  return c < 128 ? table[c]! : -1;
}

/** Decode 40 hex characters of `s` from `at` into out[o..o+20); false on a non-hex character. */
function decodeHex(s: string, at: number, out: Uint8Array, o: number): boolean {
  for (let i = 0; i < INFO_HASH_LENGTH; i++) {
    const hi = digit(HEX, s.charCodeAt(at + 2 * i));
    const lo = digit(HEX, s.charCodeAt(at + 2 * i + 1));
    if ((hi | lo) < 0) return false;
    out[o + i] = (hi << 4) | lo;
  }
  return true;
}

/**
 * Decode 32 base32 characters of `s` from `at` into out[o..o+20); false on a character outside
 * the alphabet. Bits are taken most significant first, 5 per character, 8 per byte.
 */
function decodeBase32(s: string, at: number, out: Uint8Array, o: number): boolean {
  let bits = 0;
  let count = 0;
  for (let i = 0; i < BASE32_LENGTH; i++) {
    const v = digit(BASE32, s.charCodeAt(at + i));
    if (v < 0) return false;
    bits = (bits << 5) | v;
    count += 5;
    if (count >= 8) {
      count -= 8;
      out[o++] = bits >>> count;
      bits &= (1 << count) - 1;
    }
  }
  return true;
}

/** The 20 bytes of an info_hash written as 40 hex or 32 base32 characters (no spaces), or null. */
export function infoHashFromText(s: string): Uint8Array | null {
  const out = new Uint8Array(INFO_HASH_LENGTH);
  if (s.length === HEX_LENGTH) return decodeHex(s, 0, out, 0) ? out : null;
  if (s.length === BASE32_LENGTH) return decodeBase32(s, 0, out, 0) ? out : null;
  return null;
}

/** An immutable set of 20-byte info_hashes (see the file comment for the layout). */
export class InfoHashSet {
  private constructor(
    /** slots * 20 bytes: the key living in each slot (meaningful where `used` says so). */
    private readonly slots: Uint8Array,
    /** One bit per slot: 1 = holds a key. */
    private readonly used: Uint32Array,
    /** slots / 2^32: a 32-bit hash times this, truncated, is the home slot. */
    private readonly scale: number,
    private readonly slotCount: number,
    /** Distinct keys. */
    readonly size: number,
  ) {}

  /** The set with nothing in it. */
  static empty(): InfoHashSet {
    return InfoHashSet.fromKeys(new Uint8Array(0), 0);
  }

  /**
   * The set of the first `count` 20-byte keys packed in `packed` (duplicates kept once).
   * `packed` is only read; the set holds its own copy.
   */
  static fromKeys(packed: Uint8Array, count: number): InfoHashSet {
    return drain(InfoHashSet.build(packed, count, Infinity));
  }

  /** fromKeys in steps: yields after every `slice` keys inserted (see parseInfoHashListSliced). */
  static *build(packed: Uint8Array, count: number, slice: number): Generator<void, InfoHashSet> {
    if (packed.length < count * INFO_HASH_LENGTH) throw new RangeError("fewer keys than count");
    // Sized for `count`, not for the distinct keys (unknown yet): a file full of duplicates
    // gets a sparser table, never a fuller one.
    const slotCount = Math.max(1, Math.ceil(count / MAX_LOAD));
    const slots = new Uint8Array(slotCount * INFO_HASH_LENGTH);
    const used = new Uint32Array((slotCount + 31) >>> 5);
    const scale = slotCount / 2 ** 32;
    // Hash a batch of keys, then insert them: the probes of a batch, each a likely cache miss
    // in a large table, then overlap instead of waiting behind each key's hash arithmetic
    // (twice as fast at 1,000,000 keys, measured).
    const homes = new Int32Array(HASH_BATCH);
    let size = 0;
    let sinceYield = 0;
    for (let first = 0; first < count; first += HASH_BATCH) {
      if (first > 0 && (sinceYield += HASH_BATCH) > slice) {
        sinceYield = 0;
        yield;
      }
      const n = Math.min(HASH_BATCH, count - first);
      for (let h = 0; h < n; h++) homes[h] = (keyedHash(packed, (first + h) * INFO_HASH_LENGTH, INFO_HASH_LENGTH, 0) * scale) | 0;
      for (let h = 0; h < n; h++) {
        if (insertKey(slots, used, slotCount, packed, (first + h) * INFO_HASH_LENGTH, homes[h]!)) size++;
      }
    }
    return new InfoHashSet(slots, used, scale, slotCount, size);
  }

  /**
   * Whether bytes[off..off+20) is in the set. The caller guarantees the 20 bytes are there.
   * Runs on every announce: no allocation, the probe loop and the byte comparison inline. A
   * probe reads the occupancy bit (the bitmap is small enough to stay in cache) and only then
   * the slot, where the key itself lies: a hit costs one trip to memory, and a miss often none.
   */
  has(bytes: Uint8Array, off: number): boolean {
    const slots = this.slots;
    const used = this.used;
    const slotCount = this.slotCount;
    let i = (keyedHash(bytes, off, INFO_HASH_LENGTH, 0) * this.scale) | 0;
    for (;;) {
      if ((used[i >>> 5]! & (1 << (i & 31))) === 0) return false;
      const base = i * INFO_HASH_LENGTH;
      let j = 0;
      while (j < INFO_HASH_LENGTH && slots[base + j] === bytes[off + j]) j++;
      if (j === INFO_HASH_LENGTH) return true;
      if (++i === slotCount) i = 0;
    }
  }

  /** Bytes held (slots and bitmap), for /stats. */
  get bytes(): number {
    return this.slots.byteLength + this.used.byteLength;
  }
}

/**
 * One step of a build: put the key at packed[off..off+20) into the first free slot from
 * `home` on, unless an equal key is met first. True when it was added (false: a duplicate).
 */
function insertKey(slots: Uint8Array, used: Uint32Array, slotCount: number, packed: Uint8Array, off: number, home: number): boolean {
  let i = home;
  for (;;) {
    if ((used[i >>> 5]! & (1 << (i & 31))) === 0) break;
    const base = i * INFO_HASH_LENGTH;
    let j = 0;
    while (j < INFO_HASH_LENGTH && slots[base + j] === packed[off + j]) j++;
    if (j === INFO_HASH_LENGTH) return false;
    if (++i === slotCount) i = 0;
  }
  const base = i * INFO_HASH_LENGTH;
  for (let j = 0; j < INFO_HASH_LENGTH; j++) slots[base + j] = packed[off + j]!;
  used[i >>> 5]! |= 1 << (i & 31);
  return true;
}

export type InfoHashListParse =
  | { ok: true; set: InfoHashSet }
  | { ok: false; line: number; content: string; reason: string };

/**
 * Parse a whole access list file (see the file comment for the format). Returns the set, or
 * the first bad line: its 1-based number, its text (trimmed, at most 80 characters) and why.
 */
export function parseInfoHashList(text: string): InfoHashListParse {
  return drain(parseSteps(text, Infinity));
}

/** Lines parsed (and keys inserted) between two turns of the event loop in the sliced parse. */
export const PARSE_SLICE = 8_192;

/**
 * parseInfoHashList without holding the event loop: the work is cut into slices of PARSE_SLICE
 * lines (then keys), with a turn of the loop in between (a 1,000,000-line list took ~0.3 s in
 * one go). The result is the same; the caller swaps it in only once it is whole.
 */
export async function parseInfoHashListSliced(
  text: string, slice = PARSE_SLICE, pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<InfoHashListParse> {
  const steps = parseSteps(text, slice);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}

/** Run a stepped computation to its end at once. */
function drain<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The parse, yielding after every `slice` lines and then during the set's build. */
function* parseSteps(text: string, slice: number): Generator<void, InfoHashListParse> {
  const n = text.length;
  // Every hash line but the last ends in "\n", so this bounds the keys: one allocation.
  const packed = new Uint8Array(Math.floor((n + 1) / MIN_KEY_LINE) * INFO_HASH_LENGTH);
  let count = 0;
  let line = 1;
  let start = text.charCodeAt(0) === BOM ? 1 : 0;
  while (start <= n) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = n;
    const reason = parseLine(text, start, end, packed, count * INFO_HASH_LENGTH);
    if (reason === HASH_LINE) count++;
    else if (reason !== SKIP_LINE) return { ok: false, line, content: lineContent(text, start, end), reason };
    start = end + 1;
    if (line++ % slice === 0 && start <= n) yield;
  }
  return { ok: true, set: yield* InfoHashSet.build(packed, count, slice) };
}

/**
 * Read the line s[start..end) (no "\n"): HASH_LINE after decoding its hash into out[o..o+20),
 * SKIP_LINE for a blank or comment line, otherwise the reason it is wrong.
 *
 * The hash is the run of characters up to a blank, a '#' or the line end. Rather than find
 * that run and then decode it (two passes over every character), try the two lengths it may
 * have: a run of 40 (or 32) is one that ends there and whose characters all decode.
 */
function parseLine(s: string, start: number, end: number, out: Uint8Array, o: number): string {
  let p = start;
  while (p < end && isBlank(s.charCodeAt(p))) p++;
  if (p === end || s.charCodeAt(p) === HASH_SIGN) return SKIP_LINE;
  let after: number;
  if (endsRun(s, p + HEX_LENGTH, end) && decodeHex(s, p, out, o)) after = p + HEX_LENGTH;
  else if (endsRun(s, p + BASE32_LENGTH, end) && decodeBase32(s, p, out, o)) after = p + BASE32_LENGTH;
  else return BAD_HASH;
  while (after < end && isBlank(s.charCodeAt(after))) after++;
  return after === end || s.charCodeAt(after) === HASH_SIGN ? HASH_LINE : TRAILING_TEXT;
}

/**
 * s[start..end) without its surrounding blanks, cut to CONTENT_LIMIT characters: for an error.
 * Only the blanks the parser skips are trimmed (String.trim would also drop, say, a stray
 * U+FEFF, and the line shown would look valid).
 */
function lineContent(s: string, start: number, end: number): string {
  while (start < end && isBlank(s.charCodeAt(start))) start++;
  while (end > start && isBlank(s.charCodeAt(end - 1))) end--;
  return s.slice(start, Math.min(end, start + CONTENT_LIMIT));
}

/** Whether a run of hash characters stops at s[q] (a blank, a '#', or the line end `end`). */
function endsRun(s: string, q: number, end: number): boolean {
  if (q >= end) return q === end;
  const c = s.charCodeAt(q);
  return isBlank(c) || c === HASH_SIGN;
}
