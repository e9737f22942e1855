/**
 * A validating walk over a bencoded tracker answer that allocates nothing: it checks the
 * whole value is well-formed and notes the few keys the load generator cares about.
 * (The npm `bencode` decoder would build objects and strings for every answer.)
 */

/** What summarizeTrackerDict found; reused between calls. */
export interface TrackerDictSummary {
  /** `interval` value, or -1 if absent. */
  interval: number;
  /** Number of peers in `peers` (compact: bytes / 6; list: entries), -1 if absent/unusable. */
  peers: number;
  /** Number of entries in `files` (scrape), -1 if absent. */
  files: number;
  /** Byte range of the `failure reason` string, start -1 if absent. */
  failureStart: number;
  failureEnd: number;
}

export function newSummary(): TrackerDictSummary {
  return { interval: -1, peers: -1, files: -1, failureStart: -1, failureEnd: -1 };
}

const MAX_DEPTH = 16;
const D = 0x64; // d
const L = 0x6c; // l
const I = 0x69; // i
const E = 0x65; // e
const COLON = 0x3a;

const KEY_INTERVAL = bytes("interval");
const KEY_PEERS = bytes("peers");
const KEY_FILES = bytes("files");
const KEY_FAILURE = bytes("failure reason");

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

// Set by parseStringAt: the string's content range.
let strStart = 0;
let strEnd = 0;
// Set by parseIntAt.
let intValue = 0;

/** Parses "<len>:<bytes>" at pos; returns the end or -1. */
function parseStringAt(b: Uint8Array, pos: number, end: number): number {
  let len = 0;
  let p = pos;
  if (p >= end || b[p]! < 0x30 || b[p]! > 0x39) return -1;
  while (p < end && b[p]! >= 0x30 && b[p]! <= 0x39) {
    len = len * 10 + (b[p]! - 0x30);
    if (len > end) return -1;
    p++;
    if (p - pos > 10) return -1;
  }
  if (p >= end || b[p] !== COLON) return -1;
  p++;
  if (p + len > end) return -1;
  strStart = p;
  strEnd = p + len;
  return p + len;
}

/** Parses "i<digits>e" at pos; returns the end or -1. */
function parseIntAt(b: Uint8Array, pos: number, end: number): number {
  let p = pos + 1;
  let negative = false;
  if (p < end && b[p] === 0x2d) {
    negative = true;
    p++;
  }
  const digitsStart = p;
  let v = 0;
  while (p < end && b[p]! >= 0x30 && b[p]! <= 0x39) {
    v = v * 10 + (b[p]! - 0x30);
    p++;
  }
  if (p === digitsStart || p >= end || b[p] !== E || p - digitsStart > 20) return -1;
  intValue = negative ? -v : v;
  return p + 1;
}

/** Skips one value at pos; returns its end or -1. Counts list/dict entries into `entries`. */
let entries = 0;
function skipValue(b: Uint8Array, pos: number, end: number, depth: number): number {
  if (pos >= end || depth > MAX_DEPTH) return -1;
  const c = b[pos]!;
  if (c === I) return parseIntAt(b, pos, end);
  if (c === L || c === D) {
    let p = pos + 1;
    let n = 0;
    while (p < end && b[p] !== E) {
      if (c === D) {
        p = parseStringAt(b, p, end);
        if (p < 0) return -1;
      }
      p = skipValue(b, p, end, depth + 1);
      if (p < 0) return -1;
      n++;
    }
    if (p >= end) return -1;
    entries = n;
    return p + 1;
  }
  return parseStringAt(b, pos, end);
}

function keyIs(b: Uint8Array, start: number, end: number, key: Uint8Array): boolean {
  if (end - start !== key.length) return false;
  for (let i = 0; i < key.length; i++) if (b[start + i] !== key[i]) return false;
  return true;
}

/**
 * Walks the dict occupying exactly b[start, end); fills `out`. Returns false if the bytes
 * are not exactly one well-formed bencoded dict.
 */
export function summarizeTrackerDict(b: Uint8Array, start: number, end: number, out: TrackerDictSummary): boolean {
  out.interval = -1;
  out.peers = -1;
  out.files = -1;
  out.failureStart = -1;
  out.failureEnd = -1;
  if (start >= end || b[start] !== D) return false;
  let p = start + 1;
  while (p < end && b[p] !== E) {
    p = parseStringAt(b, p, end);
    if (p < 0) return false;
    const ks = strStart;
    const ke = strEnd;
    const valueStart = p;
    p = skipValue(b, p, end, 1);
    if (p < 0) return false;
    const c = b[valueStart]!;
    if (keyIs(b, ks, ke, KEY_INTERVAL)) {
      if (c === I) out.interval = intValue;
    } else if (keyIs(b, ks, ke, KEY_PEERS)) {
      if (c === L) out.peers = entries;
      else if (c !== I && c !== D) out.peers = (strEnd - strStart) % 6 === 0 ? (strEnd - strStart) / 6 : -1;
    } else if (keyIs(b, ks, ke, KEY_FILES)) {
      if (c === D) out.files = entries;
    } else if (keyIs(b, ks, ke, KEY_FAILURE)) {
      if (c !== I && c !== L && c !== D) {
        out.failureStart = strStart;
        out.failureEnd = strEnd;
      }
    }
  }
  return p === end - 1;
}
