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
 * million lines take one pass (about 150 ms, bench/access-list.ts) and leave a set of about
 * 28 bytes per key (keys + table); while parsing, a scratch buffer of at most 20 bytes per 33
 * characters of text is held besides.
 *
 * Layout of an InfoHashSet:
 *   keys[k*20 .. +20]   key k, packed, no gaps, no duplicates (k < size)
 *   table[i]            key index k or -1 (empty); Int32Array, power-of-two length >= 2 x the
 *                       keys the parser saw, so the load stays at or below 1/2
 * Linear probing from keyedHash(key) & mask; the set never changes once built (a new list is a
 * new set, swapped in whole), so there is no insertion or deletion after construction.
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
const EMPTY = -1;
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
    private readonly keys: Uint8Array,
    private readonly table: Int32Array,
    private readonly mask: number,
    /** Distinct keys. */
    readonly size: number,
  ) {}

  /** The set with nothing in it. */
  static empty(): InfoHashSet {
    return new InfoHashSet(new Uint8Array(0), new Int32Array(1).fill(EMPTY), 0, 0);
  }

  /**
   * The set of the first `count` 20-byte keys packed in `packed` (duplicates kept once).
   * `packed` is only read; the set holds its own copy.
   */
  static fromKeys(packed: Uint8Array, count: number): InfoHashSet {
    if (packed.length < count * INFO_HASH_LENGTH) throw new RangeError("fewer keys than count");
    // One native copy, then the keys are deduplicated inside it.
    const keys = packed.slice(0, count * INFO_HASH_LENGTH);
    // Sized for `count`, not for the distinct keys (unknown yet): a file full of duplicates
    // gets a sparser table, never a fuller one.
    let slots = 2;
    while (slots < count * 2) slots *= 2;
    const table = new Int32Array(slots).fill(EMPTY);
    const mask = slots - 1;
    // Hash a batch of keys, then insert them: the probes of a batch, each a likely cache miss
    // in a large table, then overlap instead of waiting behind each key's hash arithmetic
    // (twice as fast at 1,000,000 keys, measured).
    const hashes = new Int32Array(HASH_BATCH);
    let size = 0;
    for (let first = 0; first < count; first += HASH_BATCH) {
      const n = Math.min(HASH_BATCH, count - first);
      for (let h = 0; h < n; h++) hashes[h] = keyedHash(keys, (first + h) * INFO_HASH_LENGTH, INFO_HASH_LENGTH, 0);
      for (let h = 0; h < n; h++) size = insertKey(keys, table, mask, first + h, hashes[h]!, size);
    }
    const exact = size === count ? keys : keys.slice(0, size * INFO_HASH_LENGTH);
    return new InfoHashSet(exact, table, mask, size);
  }

  /**
   * Whether bytes[off..off+20) is in the set. The caller guarantees the 20 bytes are there.
   * Runs on every announce: no allocation, the probe loop and the byte comparison inline.
   */
  has(bytes: Uint8Array, off: number): boolean {
    const table = this.table;
    const mask = this.mask;
    const keys = this.keys;
    let i = keyedHash(bytes, off, INFO_HASH_LENGTH, 0) & mask;
    for (;;) {
      const k = table[i]!;
      if (k < 0) return false;
      const base = k * INFO_HASH_LENGTH;
      let j = 0;
      while (j < INFO_HASH_LENGTH && keys[base + j] === bytes[off + j]) j++;
      if (j === INFO_HASH_LENGTH) return true;
      i = (i + 1) & mask;
    }
  }

  /** Bytes held (keys and table), for /stats. */
  get bytes(): number {
    return this.keys.byteLength + this.table.byteLength;
  }
}

/**
 * One step of a build: keys[0 .. size*20) holds the distinct keys so far, indexed by `table`;
 * key k (k >= size, whose hash is `hash`) joins them unless an equal key is there already.
 * Returns the new size.
 */
function insertKey(keys: Uint8Array, table: Int32Array, mask: number, k: number, hash: number, size: number): number {
  const off = k * INFO_HASH_LENGTH;
  let i = hash & mask;
  for (;;) {
    const q = table[i]!;
    if (q < 0) break;
    const base = q * INFO_HASH_LENGTH;
    let j = 0;
    while (j < INFO_HASH_LENGTH && keys[base + j] === keys[off + j]) j++;
    if (j === INFO_HASH_LENGTH) return size; // a duplicate
    i = (i + 1) & mask;
  }
  // Close the gap duplicates left: positions size..k-1 hold keys already dealt with.
  if (size !== k) keys.copyWithin(size * INFO_HASH_LENGTH, off, off + INFO_HASH_LENGTH);
  table[i] = size;
  return size + 1;
}

export type InfoHashListParse =
  | { ok: true; set: InfoHashSet }
  | { ok: false; line: number; content: string; reason: string };

/**
 * Parse a whole access list file (see the file comment for the format). Returns the set, or
 * the first bad line: its 1-based number, its text (trimmed, at most 80 characters) and why.
 */
export function parseInfoHashList(text: string): InfoHashListParse {
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
    line++;
  }
  return { ok: true, set: InfoHashSet.fromKeys(packed, count) };
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
