/**
 * The peers a store chose for one address family, handed to the encoders without a copy (part
 * of the store contract, store.ts: every store fills it, every adapter reads it). A window of
 * the store's wire-format records:
 * `count` records read cyclically from record `start` of the run [runOff, runOff + runLen) of
 * `rec`. So the window is at most two contiguous copies (it wraps once), and a store whose
 * reply is already packed (a remote store) gives runOff 0, runLen count, start 0.
 *
 *   rec[slot * stride .. +stride]   the record: address (4 or 16 bytes) then port, big-endian
 *   ids[slot * 20 .. +20]           its peer_id, when the store keeps them (idLength 20; all
 *                                   zero = not known); idLength 0 when it keeps none
 */
export class PeerWindow {
  readonly family: 4 | 6;
  /** Bytes per record: 6 (IPv4) or 18 (IPv6). */
  readonly stride: number;
  count = 0;
  start = 0;
  runOff = 0;
  runLen = 0;
  /**
   * Buffers, not plain Uint8Arrays, for `Buffer#copy`: a native copy into any Uint8Array that
   * allocates nothing (subarray() + set() allocates a view per call; measured 27 ns and 0 bytes
   * vs 77 ns and a view object for a 300-byte answer).
   */
  rec: Buffer = EMPTY;
  ids: Buffer = EMPTY;
  idLength = 0;

  constructor(family: 4 | 6) {
    this.family = family;
    this.stride = family === 4 ? 6 : 18;
  }

  clear(): void {
    this.count = 0;
  }

  /** Point the window at `count` records of a run, from index `start` (0 <= start < runLen). */
  set(rec: Buffer, ids: Buffer, idLength: number, runOff: number, runLen: number, start: number, count: number): void {
    this.rec = rec;
    this.ids = ids;
    this.idLength = idLength;
    this.runOff = runOff;
    this.runLen = runLen;
    this.start = start;
    this.count = count;
  }

  /** The slot (record index in `rec`) of the k-th chosen peer, 0 <= k < count. */
  slot(k: number): number {
    return this.runOff + ((this.start + k) % this.runLen);
  }

  /** Copy the chosen records into out at off; returns the new offset. At most two native copies. */
  writeCompact(out: Uint8Array, off: number): number {
    const count = this.count;
    if (count === 0) return off;
    const s = this.stride;
    const first = Math.min(count, this.runLen - this.start);
    const a = (this.runOff + this.start) * s;
    off += this.rec.copy(out, off, a, a + first * s);
    if (first < count) off += this.rec.copy(out, off, this.runOff * s, (this.runOff + count - first) * s);
    return off;
  }

  /** Whether the k-th chosen peer's id is known. */
  hasId(k: number): boolean {
    const l = this.idLength;
    if (l === 0) return false;
    const ids = this.ids;
    for (let i = this.slot(k) * l, end = i + l; i < end; i++) if (ids[i] !== 0) return true;
    return false;
  }

  /** Whether every chosen peer's id is known (true for an empty window). */
  allIdsKnown(): boolean {
    for (let k = 0; k < this.count; k++) if (!this.hasId(k)) return false;
    return true;
  }
}

const EMPTY = Buffer.alloc(0);
