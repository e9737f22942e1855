/**
 * What the rules answer: caller-owned result objects, reused from request to request (the
 * adapters keep one each), filled by the rules and the store, read by the encoders.
 */

/**
 * The peers chosen for one address family, as a window of a store's wire-format records:
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

/** The answer to one announce. */
export class AnnounceResult {
  /** Null when served; else the refusal, for a `failure reason` or an error packet. */
  refusal: string | null = null;
  /** With a refusal: seconds after which a retry may succeed (BEP 31 `retry in`), or -1. */
  retryIn = -1;
  /** Seeders and leechers of the torrent after this announce; downloads counted. */
  complete = 0;
  incomplete = 0;
  downloaded = 0;
  /** Seconds until the next regular announce, and the least a client must wait. */
  interval = 0;
  minInterval = 0;
  /** The chosen peers of each family (the announcer's own family only, unless both asked). */
  readonly peers4 = new PeerWindow(4);
  readonly peers6 = new PeerWindow(6);
  /**
   * Every chosen peer's id is known (meaningful when the request wanted ids). An answer that
   * lists peers as dictionaries (BEP 3, HTTP compact=0) needs them; without them the adapter
   * answers in the compact form, which BEP 23 allows whatever was asked.
   */
  peerIdsKnown = false;

  reset(): void {
    this.refusal = null;
    this.retryIn = -1;
    this.complete = this.incomplete = this.downloaded = 0;
    this.peers4.clear();
    this.peers6.clear();
    this.peerIdsKnown = false;
  }

  /** The window of `family`. */
  peers(family: 4 | 6): PeerWindow {
    return family === 4 ? this.peers4 : this.peers6;
  }
}

/** The answer to one scrape: counts per asked torrent, in the order asked. */
export class ScrapeResult {
  /** Null when served; else the refusal. */
  refusal: string | null = null;
  /** The request asked for every torrent (no info_hash) and full scrape is on. */
  full = false;
  count = 0;
  readonly complete: Float64Array;
  readonly downloaded: Float64Array;
  readonly incomplete: Float64Array;

  constructor(capacity: number) {
    this.complete = new Float64Array(capacity);
    this.downloaded = new Float64Array(capacity);
    this.incomplete = new Float64Array(capacity);
  }

  reset(): void {
    this.refusal = null;
    this.full = false;
    this.count = 0;
  }
}
