/**
 * The state file: the in-memory store's swarms and downloaded counts, and the announce interval
 * the load rule had reached, kept across restarts.
 *
 * Layout (little-endian):
 *   header   32 B   "SC6STATE" | u32 format version (1) | u32 0 | f64 saved at, Unix s
 *                   | u32 announce interval, s | u32 0
 *   body     torrent records, as MemoryStore.encodeState writes them
 *   trailer  24 B   "SC6S-END" | u32 CRC-32 of header + body | u32 0 | f64 body length
 *
 * Writing never stalls the event loop for long: the body is encoded into a 256 KiB buffer a slice
 * at a time, and each slice is written with an asynchronous write, so requests are served in
 * between (the snapshot is fuzzy by the announces that land meanwhile; restore merges repeats).
 * It goes to a temporary file in the same directory, is fsynced, then renamed over the old one
 * (and the directory fsynced): a crash at any point leaves the old file or the new one, whole.
 *
 * Reading happens once, at start, before the tracker listens. A file that is too short, has
 * another magic or version, a bad checksum or a malformed record is never half-applied and never
 * overwritten: it is renamed aside (PATH.corrupt-<time>) and the tracker starts empty.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { MemoryStore, STATE_PEER4, STATE_PEER6, STATE_RECORD_HEAD, StateCursor, type RestoreReport } from "./memory/memory-store.ts";

const MAGIC = Buffer.from("SC6STATE", "latin1");
const END_MAGIC = Buffer.from("SC6S-END", "latin1");
export const STATE_FORMAT_VERSION = 1;
const HEADER = 32;
const TRAILER = 24;
/**
 * Bytes encoded per slice: ~24k IPv4 peers (measured at sc6's size, bench/state.ts: 1 MiB slices
 * held the loop for up to 28 ms; a quarter of that keeps each under ~10 ms).
 */
const SLICE_BYTES = 256 << 10;

export interface SaveResult {
  bytes: number;
  millis: number;
}

/** Write the state of `store` (and `interval`) to `path` as of `now` (Unix seconds). */
export async function saveState(path: string, store: MemoryStore, interval: number, now: number): Promise<SaveResult> {
  const t0 = performance.now();
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, "w", 0o600);
  try {
    const head = Buffer.alloc(HEADER);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(STATE_FORMAT_VERSION, 8);
    head.writeDoubleLE(now, 16);
    head.writeUInt32LE(interval, 24);
    let crc = Bun.hash.crc32(head);
    await fh.write(head, 0, HEADER);
    const slice = Buffer.allocUnsafe(SLICE_BYTES);
    const cursor = new StateCursor();
    let body = 0;
    while (!cursor.done) {
      const n = store.encodeState(cursor, slice, 0, now);
      if (n === 0) continue; // only dead ids were left: the cursor is done
      crc = Bun.hash.crc32(slice.subarray(0, n), crc);
      await fh.write(slice, 0, n); // the buffer is free again once this resolves
      body += n;
    }
    const tail = Buffer.alloc(TRAILER);
    END_MAGIC.copy(tail, 0);
    tail.writeUInt32LE(crc >>> 0, 8);
    tail.writeDoubleLE(body, 16);
    await fh.write(tail, 0, TRAILER);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
    syncDirectory(path);
    return { bytes: HEADER + body + TRAILER, millis: performance.now() - t0 };
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** Make the rename durable (best effort: some file systems refuse to fsync a directory). */
function syncDirectory(path: string): void {
  try {
    const fd = openSync(dirname(path), "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // the data is synced; only the rename's durability is left to the file system
  }
}

export type RestoreOutcome =
  | { kind: "missing" }
  | { kind: "corrupt"; reason: string; movedTo: string | null }
  | { kind: "restored"; savedAt: number; interval: number; report: RestoreReport; bytes: number };

/**
 * Read `path` into the (empty) `store` at `now`. Never throws for what the file holds: a missing
 * file is "missing", a bad one is moved aside and reported "corrupt".
 */
export function restoreState(path: string, store: MemoryStore, now: number): RestoreOutcome {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "corrupt", reason: `cannot read it (${(e as Error).message})`, movedTo: null };
  }
  const problem = checkFile(buf);
  if (problem !== null) return { kind: "corrupt", reason: problem, movedTo: moveAside(path, now) };
  const end = buf.length - TRAILER;
  // Check every record's framing before applying any: a bad file is never half-applied.
  for (let off = HEADER; off < end; ) {
    const next = recordEnd(buf, off, end);
    if (next < 0) return { kind: "corrupt", reason: `malformed record at byte ${off}`, movedTo: moveAside(path, now) };
    off = next;
  }
  const report: RestoreReport = { torrents: 0, peers: 0, expired: 0, refused: 0 };
  for (let off = HEADER; off < end; ) off = store.restoreRecord(buf, off, end, now, report);
  return { kind: "restored", savedAt: buf.readDoubleLE(16), interval: buf.readUInt32LE(24), report, bytes: buf.length };
}

/** What is wrong with the file's frame (magic, version, length, checksum), or null. */
function checkFile(buf: Buffer): string | null {
  if (buf.length < HEADER + TRAILER) return `too short (${buf.length} bytes)`;
  if (!buf.subarray(0, 8).equals(MAGIC)) return "not a state file (wrong magic)";
  const version = buf.readUInt32LE(8);
  if (version !== STATE_FORMAT_VERSION) return `format version ${version}, this tracker reads ${STATE_FORMAT_VERSION}`;
  const t = buf.length - TRAILER;
  if (!buf.subarray(t, t + 8).equals(END_MAGIC)) return "truncated (no end marker)";
  if (buf.readDoubleLE(t + 16) !== t - HEADER) return "truncated (length does not match)";
  if ((Bun.hash.crc32(buf.subarray(0, t)) >>> 0) !== buf.readUInt32LE(t + 8)) return "checksum mismatch";
  return null;
}

/** The end of the record at off (its framing only), or -1. Mirrors MemoryStore.encodeState. */
function recordEnd(buf: Buffer, off: number, end: number): number {
  if (end - off < STATE_RECORD_HEAD) return -1;
  const size = STATE_RECORD_HEAD + buf.readUInt32LE(off + 28) * STATE_PEER4 + buf.readUInt32LE(off + 32) * STATE_PEER6;
  return size <= end - off ? off + size : -1;
}

/** Rename a bad file aside, keeping it as evidence; the new name, or null if that failed. */
function moveAside(path: string, now: number): string | null {
  const stamp = new Date(now * 1000).toISOString().replace(/[:.]/g, "-");
  const to = `${path}.corrupt-${stamp}`;
  try {
    renameSync(path, to);
    return to;
  } catch {
    return null;
  }
}
