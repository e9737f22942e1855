/**
 * HTTP announce (BEP 3, 7, 23, 21) and scrape (BEP 48) query decoding, by hand, from the raw
 * request URL.
 *
 * Why by hand: `info_hash` and `peer_id` are 20 arbitrary bytes, percent-encoded.
 * URLSearchParams and `new URL()` decode them as UTF-8 and replace invalid sequences with
 * U+FFFD, destroying the hash. Here every value is percent-decoded straight into bytes.
 *
 * Decoding rules:
 *   - `%hh` (either case) is the byte hh; a malformed escape ("%G1", "%1" at the end) in a
 *     recognised parameter is an error.
 *   - `+` is the literal byte 0x2B, not a space: tracker clients escape spaces and, more to the
 *     point, a `+` in a hash would otherwise be corrupted.
 *   - Any other character is its own byte. Characters above U+00FF cannot be bytes and are an
 *     error. (Bun itself already re-encodes raw non-ASCII request bytes as %-escapes of UTF-8,
 *     "%EF%BF%BD" for invalid ones, so a client must escape them; all real clients do.)
 *   - `#` is an ordinary byte: a request-target carries no fragment (RFC 9112), and Bun passes
 *     a raw `#` through to req.url.
 *   - Parameters are separated by `&`; names are matched raw and case-sensitively; unknown
 *     parameters are skipped without decoding; a repeated scalar parameter: the last one wins.
 *
 * Nothing here throws or allocates per call: results go into a caller-owned, reused query
 * object and errors are constant strings, meant to be sent back as a bencoded `failure reason`.
 */

import {
  EVENT_COMPLETED,
  EVENT_NONE,
  EVENT_PAUSED,
  EVENT_STARTED,
  EVENT_STOPPED,
  type AnnounceEvent,
} from "./events.ts";

/** numwant above this (including values beyond 2^64-1) is clamped to it; the server caps further. */
export const NUMWANT_CLAMP = 0x7fffffff;

/** One decoded announce. The server keeps one instance and reuses it for every request. */
export class AnnounceQuery {
  /** 20 raw bytes. */
  infoHash = new Uint8Array(20);
  /** 20 raw bytes, valid when hasPeerId (always true after a successful parse: it is required). */
  peerId = new Uint8Array(20);
  hasPeerId = false;
  /** 1..65535. */
  port = 0;
  /**
   * Byte counters, 0 .. 2^64-1, stored as doubles: exact up to 2^53, correctly rounded above
   * (never wrapped; 2^64-1 reads as 18446744073709551616). Use leftIsZero, which is exact, to decide whether the peer is a seeder.
   */
  uploaded = 0;
  downloaded = 0;
  left = 0;
  leftIsZero = true;
  event: AnnounceEvent = EVENT_NONE;
  /** BEP 23; default true. */
  compact = true;
  /** no_peer_id=1: leave `peer id` out of compact=0 answers. */
  noPeerId = false;
  /** -1 when absent (or negative, as opentracker does); else 0..NUMWANT_CLAMP. */
  numwant = -1;

  reset(): void {
    this.hasPeerId = false;
    this.port = 0;
    this.uploaded = 0;
    this.downloaded = 0;
    this.left = 0;
    this.leftIsZero = true;
    this.event = EVENT_NONE;
    this.compact = true;
    this.noPeerId = false;
    this.numwant = -1;
  }
}

/**
 * The info_hashes of one scrape: distinct, sorted by raw bytes ascending, 20 bytes each. The
 * parse keeps at most `maxHashes` of them; how many a client may ask for is the rules' decision
 * (src/rules/), which `asked` lets them make without the parse doing unbounded work.
 */
export class ScrapeQuery {
  /** maxHashes * 20 bytes; hashes[0 .. count*20) are valid. */
  readonly hashes: Uint8Array;
  count = 0;
  /**
   * Distinct hashes asked for: equal to count, or maxHashes + 1 when the query held more (the
   * parse stops there, so a huge query costs no more than a full one).
   */
  asked = 0;
  readonly maxHashes: number;

  constructor(maxHashes: number) {
    if (!Number.isInteger(maxHashes) || maxHashes < 0) {
      throw new RangeError(`ScrapeQuery: maxHashes must be a non-negative integer, got ${maxHashes}`);
    }
    this.maxHashes = maxHashes;
    this.hashes = new Uint8Array(maxHashes * 20);
  }
}

// ---------------------------------------------------------------------------------------------
// Error messages (constant strings: no allocation on the error path either).

function invalid(name: string, rule: string): string {
  return `invalid ${name}: ${rule}`;
}
function badEscape(name: string): string {
  return `invalid ${name}: malformed percent-escape`;
}
const U64_RULE = "it must be a decimal number from 0 to 18446744073709551615";

const ERR_INFO_HASH = invalid("info_hash", "it must be 20 bytes, percent-encoded");
const ERR_INFO_HASH_ESCAPE = badEscape("info_hash");
const ERR_INFO_HASH_MISSING = "missing info_hash";
const ERR_PEER_ID = invalid("peer_id", "it must be 20 bytes, percent-encoded");
const ERR_PEER_ID_ESCAPE = badEscape("peer_id");
const ERR_PEER_ID_MISSING = "missing peer_id";
const ERR_PORT = invalid("port", "it must be a decimal number from 1 to 65535");
const ERR_PORT_ESCAPE = badEscape("port");
const ERR_PORT_MISSING = "missing port";
const ERR_UPLOADED = invalid("uploaded", U64_RULE);
const ERR_UPLOADED_ESCAPE = badEscape("uploaded");
const ERR_DOWNLOADED = invalid("downloaded", U64_RULE);
const ERR_DOWNLOADED_ESCAPE = badEscape("downloaded");
const ERR_LEFT = invalid("left", U64_RULE);
const ERR_LEFT_ESCAPE = badEscape("left");
const ERR_EVENT = invalid("event", "it must be started, completed, stopped, paused or empty");
const ERR_EVENT_ESCAPE = badEscape("event");
const ERR_COMPACT = invalid("compact", "it must be 0 or 1");
const ERR_COMPACT_ESCAPE = badEscape("compact");
const ERR_NO_PEER_ID_ESCAPE = badEscape("no_peer_id");
const ERR_NUMWANT = invalid("numwant", "it must be a decimal number");
const ERR_NUMWANT_ESCAPE = badEscape("numwant");

// ---------------------------------------------------------------------------------------------
// Byte reader. `pos` is module state so that readByte needs no object; every parse is
// synchronous, so nothing can interleave.

const END = -1; // end of the value
const BAD_ESCAPE = -2; // '%' not followed by two hex digits
const BAD_CHAR = -3; // a character above U+00FF

let pos = 0;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1; // also for NaN (charCodeAt past the end)
}

/** The next decoded byte of url[pos..end), or END / BAD_ESCAPE / BAD_CHAR. */
function readByte(url: string, end: number): number {
  if (pos >= end) return END;
  const c = url.charCodeAt(pos);
  if (c !== 37 /* % */) {
    pos++;
    return c <= 0xff ? c : BAD_CHAR;
  }
  if (pos + 3 > end) return BAD_ESCAPE;
  const hi = hexValue(url.charCodeAt(pos + 1));
  const lo = hexValue(url.charCodeAt(pos + 2));
  if (hi < 0 || lo < 0) return BAD_ESCAPE;
  pos += 3;
  return (hi << 4) | lo;
}

/**
 * Decodes url[start..end) into dst[dOff ..]. Returns the decoded length, or cap + 1 as soon as
 * it exceeds cap (nothing beyond cap is written), or BAD_ESCAPE / BAD_CHAR.
 */
function decodeInto(url: string, start: number, end: number, dst: Uint8Array, dOff: number, cap: number): number {
  pos = start;
  let n = 0;
  for (;;) {
    const b = readByte(url, end);
    if (b === END) return n;
    if (b < 0) return b;
    if (n === cap) return cap + 1;
    dst[dOff + n++] = b;
  }
}

// Unsigned decimal parsing with an exact 2^64-1 bound. Results in module state.
const DEC_OK = 0;
const DEC_BAD = 1; // empty, a sign, a non-digit
const DEC_TOO_BIG = 2; // only digits, but > 2^64-1
const DEC_BAD_ESCAPE = 3;

const U64_MAX_DIGITS = [1, 8, 4, 4, 6, 7, 4, 4, 0, 7, 3, 7, 0, 9, 5, 5, 1, 6, 1, 5]; // 18446744073709551615
const sigDigits = new Uint8Array(20);
let decValue = 0;
let decIsZero = true;

/**
 * Parses url[start..end) (percent-decoded) as an unsigned decimal. Leading zeros are allowed.
 * The value goes to decValue as a double (exact up to 2^53, correctly rounded above); decIsZero
 * is exact. The 2^64-1 bound is checked on the significant digits, not on the double, so
 * 18446744073709551616 (which rounds to the same double as 2^64-1) is refused.
 */
function parseDecimal(url: string, start: number, end: number): number {
  pos = start;
  let any = false;
  let sig = 0;
  // The value as an exact 64-bit integer in two halves (each step is exact in doubles:
  // lo * 10 + 9 < 2^36). Combining them once at the end rounds once, so values above 2^53 come
  // out correctly rounded, as Number(BigInt(text)) would, instead of drifting digit by digit.
  let lo = 0;
  let hi = 0;
  for (;;) {
    const b = readByte(url, end);
    if (b === END) break;
    if (b === BAD_ESCAPE) return DEC_BAD_ESCAPE;
    if (b < 48 || b > 57) return DEC_BAD; // also BAD_CHAR
    any = true;
    const d = b - 48;
    if (sig === 0 && d === 0) continue; // leading zero
    if (sig < 20) sigDigits[sig] = d;
    sig++;
    const t = lo * 10 + d;
    const carry = Math.floor(t / 4294967296);
    lo = t - carry * 4294967296;
    hi = hi * 10 + carry;
  }
  if (!any) return DEC_BAD;
  if (sig > 20) return DEC_TOO_BIG;
  if (sig === 20) {
    for (let k = 0; k < 20; k++) {
      const d = sigDigits[k]!;
      const m = U64_MAX_DIGITS[k]!;
      if (d !== m) {
        if (d > m) return DEC_TOO_BIG;
        break;
      }
    }
  }
  decValue = hi * 4294967296 + lo;
  decIsZero = sig === 0;
  return DEC_OK;
}

// Small values (event, compact, no_peer_id) are decoded into this scratch.
const small = new Uint8Array(9); // "completed" is the longest accepted value

function smallIs(n: number, word: string): boolean {
  if (n !== word.length) return false;
  for (let k = 0; k < n; k++) if (small[k] !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * A u64 counter (uploaded, downloaded, left): null with the value in decValue / decIsZero, or
 * the parameter's error message.
 */
function parseCounter(url: string, start: number, end: number, errEscape: string, errBad: string): string | null {
  const r = parseDecimal(url, start, end);
  if (r === DEC_BAD_ESCAPE) return errEscape;
  return r === DEC_OK ? null : errBad;
}

/**
 * Where the last scanSegment found its `name[=value]` segment: the name is
 * url[start .. nameEnd), the value url[valueStart .. end) (empty without '='), and `end` is the
 * '&' or the end of the string. One reused object: no allocation.
 */
const seg = { start: 0, nameEnd: 0, valueStart: 0, end: 0 };

/** Scan the segment starting at url[i] into `seg`; returns where the next segment starts. */
function scanSegment(url: string, i: number, len: number): number {
  seg.start = i;
  let eq = -1;
  while (i < len) {
    const c = url.charCodeAt(i);
    if (c === 38 /* & */) break;
    if (c === 61 /* = */ && eq < 0) eq = i;
    i++;
  }
  seg.end = i;
  seg.nameEnd = eq < 0 ? i : eq;
  seg.valueStart = eq < 0 ? i : eq + 1;
  return i + 1;
}

/**
 * Decodes an announce query into q (after q.reset()). queryStart is the index just after '?'
 * in url (url.length if there is none). Returns null on success, else a person-readable error
 * message for a bencoded `failure reason`. Never throws.
 *
 * Required: info_hash, peer_id (20 bytes each), port (1..65535). Optional: uploaded,
 * downloaded, left (0..2^64-1, default 0), event, compact (0|1), no_peer_id, numwant.
 * Everything else (ip, key, trackerid, supportcrypto, corrupt, ...) is ignored: a peer is its
 * address and port here, so BEP 7's `key` has nothing to identify.
 */
export function parseAnnounceQuery(url: string, queryStart: number, q: AnnounceQuery): string | null {
  q.reset();
  let seenInfoHash = false;
  let seenPort = false;
  const len = url.length;
  let i = queryStart >= 0 ? queryStart : len;
  while (i < len) {
    i = scanSegment(url, i, len);
    const segStart = seg.start;
    const segEnd = seg.end;
    const vs = seg.valueStart;
    const nameLen = seg.nameEnd - segStart;

    switch (nameLen) {
      case 4:
        if (url.startsWith("port", segStart)) {
          const r = parseDecimal(url, vs, segEnd);
          if (r === DEC_BAD_ESCAPE) return ERR_PORT_ESCAPE;
          if (r !== DEC_OK || decValue < 1 || decValue > 65535) return ERR_PORT;
          q.port = decValue;
          seenPort = true;
        } else if (url.startsWith("left", segStart)) {
          const e = parseCounter(url, vs, segEnd, ERR_LEFT_ESCAPE, ERR_LEFT);
          if (e !== null) return e;
          q.left = decValue;
          q.leftIsZero = decIsZero;
        }
        break;
      case 5:
        if (url.startsWith("event", segStart)) {
          const n = decodeInto(url, vs, segEnd, small, 0, small.length);
          if (n === BAD_ESCAPE) return ERR_EVENT_ESCAPE;
          if (n === 0) q.event = EVENT_NONE;
          else if (smallIs(n, "started")) q.event = EVENT_STARTED;
          else if (smallIs(n, "completed")) q.event = EVENT_COMPLETED;
          else if (smallIs(n, "stopped")) q.event = EVENT_STOPPED;
          else if (smallIs(n, "paused")) q.event = EVENT_PAUSED;
          else return ERR_EVENT;
        }
        break;
      case 7:
        if (url.startsWith("peer_id", segStart)) {
          const n = decodeInto(url, vs, segEnd, q.peerId, 0, 20);
          if (n === BAD_ESCAPE) return ERR_PEER_ID_ESCAPE;
          if (n !== 20) {
            q.hasPeerId = false;
            return ERR_PEER_ID;
          }
          q.hasPeerId = true;
        } else if (url.startsWith("compact", segStart)) {
          const n = decodeInto(url, vs, segEnd, small, 0, small.length);
          if (n === BAD_ESCAPE) return ERR_COMPACT_ESCAPE;
          if (smallIs(n, "1")) q.compact = true;
          else if (smallIs(n, "0")) q.compact = false;
          else return ERR_COMPACT;
        } else if (url.startsWith("numwant", segStart)) {
          // opentracker treats a negative numwant as "use the default"; so do we.
          const negative = url.charCodeAt(vs) === 45 /* - */ && vs < segEnd;
          const r = parseDecimal(url, negative ? vs + 1 : vs, segEnd);
          if (r === DEC_BAD_ESCAPE) return ERR_NUMWANT_ESCAPE;
          if (r === DEC_BAD) return ERR_NUMWANT;
          if (negative) q.numwant = -1;
          else if (r === DEC_TOO_BIG || decValue > NUMWANT_CLAMP) q.numwant = NUMWANT_CLAMP;
          else q.numwant = decValue;
        }
        break;
      case 8:
        if (url.startsWith("uploaded", segStart)) {
          const e = parseCounter(url, vs, segEnd, ERR_UPLOADED_ESCAPE, ERR_UPLOADED);
          if (e !== null) return e;
          q.uploaded = decValue;
        }
        break;
      case 9:
        if (url.startsWith("info_hash", segStart)) {
          const n = decodeInto(url, vs, segEnd, q.infoHash, 0, 20);
          if (n === BAD_ESCAPE) return ERR_INFO_HASH_ESCAPE;
          if (n !== 20) return ERR_INFO_HASH;
          seenInfoHash = true;
        }
        break;
      case 10:
        if (url.startsWith("downloaded", segStart)) {
          const e = parseCounter(url, vs, segEnd, ERR_DOWNLOADED_ESCAPE, ERR_DOWNLOADED);
          if (e !== null) return e;
          q.downloaded = decValue;
        } else if (url.startsWith("no_peer_id", segStart)) {
          const n = decodeInto(url, vs, segEnd, small, 0, small.length);
          if (n === BAD_ESCAPE) return ERR_NO_PEER_ID_ESCAPE;
          q.noPeerId = smallIs(n, "1");
        }
        break;
    }
  }
  if (!seenInfoHash) return ERR_INFO_HASH_MISSING;
  if (!q.hasPeerId) return ERR_PEER_ID_MISSING;
  if (!seenPort) return ERR_PORT_MISSING;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Scrape

const scrapeScratch = new Uint8Array(20);

/** Compares scrapeScratch with hashes[at..at+20): <0, 0, >0 like a comparator. */
function compareWithScratch(hashes: Uint8Array, at: number): number {
  for (let k = 0; k < 20; k++) {
    const d = scrapeScratch[k]! - hashes[at + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Decodes a scrape query into q: every info_hash (20 bytes each), de-duplicated and sorted by
 * raw bytes ascending (the answer's `files` dict needs sorted keys), so the server can write
 * them out in order. Other parameters are ignored. Zero hashes gives q.count = 0 and null: the
 * rules decide whether a full scrape is allowed. More than q.maxHashes distinct hashes stops the
 * parse with q.asked = maxHashes + 1 (not an error here: the rules refuse it). Returns null or
 * an error message for a malformed hash; never throws.
 *
 * Insertion into the sorted array is a binary search plus a memmove (copyWithin): O(n^2) bytes
 * moved in the worst case, which for the few dozen hashes a scrape is capped at is nothing.
 */
export function parseScrapeQuery(url: string, queryStart: number, q: ScrapeQuery): string | null {
  q.count = 0;
  q.asked = 0;
  const hashes = q.hashes;
  const len = url.length;
  let i = queryStart >= 0 ? queryStart : len;
  while (i < len) {
    i = scanSegment(url, i, len);
    if (seg.nameEnd - seg.start !== 9 || !url.startsWith("info_hash", seg.start)) continue;

    const n = decodeInto(url, seg.valueStart, seg.end, scrapeScratch, 0, 20);
    if (n === BAD_ESCAPE) return ERR_INFO_HASH_ESCAPE;
    if (n !== 20) return ERR_INFO_HASH;

    // Binary search for the insertion point among q.count sorted hashes.
    let lo = 0;
    let hi = q.count;
    let duplicate = false;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareWithScratch(hashes, mid * 20);
      if (c === 0) {
        duplicate = true;
        break;
      }
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    if (duplicate) continue;
    if (q.count >= q.maxHashes) {
      q.asked = q.maxHashes + 1;
      return null;
    }
    hashes.copyWithin((lo + 1) * 20, lo * 20, q.count * 20);
    for (let k = 0; k < 20; k++) hashes[lo * 20 + k] = scrapeScratch[k]!;
    q.count++;
  }
  q.asked = q.count;
  return null;
}
