/**
 * The peers of one address family (IPv4 or IPv6), packed in typed arrays.
 *
 * Layout. Every peer occupies one arena slot `p`; its columns are
 *   rec[p*stride .. +stride]  the wire record: 4 (or 16) address bytes then the port, big-endian.
 *                             A compact answer is a straight copy of a range of this array.
 *   owner[p]                  the torrent id + 1, or NO_OWNER (0) when the slot is free: zero
 *                             is what a freshly grown column holds, so growth writes nothing
 *   seen[p]                   16 bits: the last announce in the store's 14-bit ticks (see
 *                             MemoryStore.tick; SEEN_TICKS masks them) | FLAG_SEEDER | FLAG_COUNTED
 *                             (its `completed` was counted). Two bits of flags folded into the
 *                             tick column save a byte per peer (~0.9 MB at sc6's 760k peers).
 *   peerId[p*20 .. +20]       the client's peer_id, only read for compact=0 answers. The column
 *                             is empty (pidLen 0) until enablePeerIds(): a tracker whose clients
 *                             all ask for compact answers never pays 20 bytes per peer for it.
 *                             All-zero = not known (the peer has not announced since).
 *
 * The peers of one torrent sit in one contiguous run of slots [off, off+len) whose capacity is
 * a power of two (size class c holds 1 << c slots). A full run moves to the next class; a run
 * that falls to a quarter of its capacity moves down one. Freed runs go to per-class free lists
 * and are reused before the arena grows. Removal is swap-with-last inside the run, so runs stay
 * dense and an answer is at most two copies (a window that wraps once). A full run first tries
 * to grow in place, into the free run of its own class just after or just before it (tagged in
 * the owner column, see FREE_TAG) or into the space at the arena's top; a run that shrinks
 * keeps its lower half and frees the upper one. That keeps the holes that peers leave usable.
 *
 * The index. A peer is identified inside its torrent by (address, port) — never by peer_id,
 * which anyone can send. Runs of fewer than 2^INDEX_MIN_CLASS slots are simply scanned: at most
 * 8 records, one or two cache lines, cheaper than a hash and a random access into an index, and
 * most torrents are that small (sc6's figure: 1.46 peers per torrent). Peers of larger runs are
 * in `index`, an open-addressing table (open-index.ts) mapping hash(torrent id, record) to the
 * peer's slot, so an announce into a 100k-peer swarm costs about the same as into a 2-peer one.
 * The store (memory-store.ts) decides which runs are indexed (by size class) and tells every
 * method here whether the slot it touches is; when an indexed peer moves (swap-removal, run
 * growth) its entry is rewritten.
 */
import { growableBuffer, growBuffer, growsInPlace, nextCapacity } from "./growable.ts";
import { keyedHash } from "./keyed-hash.ts";
import { OpenIndex } from "./open-index.ts";

export const NO_OWNER = 0;
/**
 * The owner column of the FIRST slot of a free run holds FREE_TAG + its size class (the other
 * slots hold NO_OWNER). Torrent ids + 1 stay below 2^31, so the tags never meet a real owner.
 */
const FREE_TAG = 0xffffff00;
/** Temporary owner value of a free run's head while its list is compacted (see compactFree). */
const FREE_MARK = 0xffffff80;
/** The tick bits of `seen`, and its two flag bits. */
export const SEEN_TICKS = 0x3fff;
export const FLAG_SEEDER = 0x4000;
export const FLAG_COUNTED = 0x8000;
export const PEER_ID_LENGTH = 20;
/** Largest size class: 2^26 slots = 64M peers in one swarm, beyond any real torrent. */
export const MAX_CLASS = 26;
/** Runs of this size class and above (16+ slots) are indexed; smaller ones are scanned. */
export const INDEX_MIN_CLASS = 4;

export class PeerArena {
  readonly stride: number;
  /** Slots allocated in the columns, and the bump pointer below which runs have been carved. */
  capacity: number;
  top = 0;
  /** Live peers in this family. */
  count = 0;

  /**
   * Buffers, not plain Uint8Arrays, for `Buffer#copy`: a native copy into any Uint8Array that
   * allocates nothing (subarray() + set() allocates a view per call; measured 27 ns and 0 bytes
   * vs 77 ns and a view object for a 300-byte answer).
   */
  rec: Buffer;
  owner: Uint32Array;
  seen: Uint16Array;
  peerId: Buffer;

  /** Free runs per size class: a stack of run offsets each. */
  private freeRuns: Int32Array[] = [];
  private freeCount: Int32Array = new Int32Array(MAX_CLASS + 1);

  /** (torrent, record) -> arena slot, for the peers of indexed runs. */
  readonly index: PeerIndex = new PeerIndex(this);

  private recBuf: ArrayBuffer;
  private ownerBuf: ArrayBuffer;
  private seenBuf: ArrayBuffer;
  private peerIdBuf: ArrayBuffer;
  /** Slots worth of address space to reserve per column (see growable.ts). */
  private readonly reserveSlots: number;

  /** Bytes of peer_id kept per slot: PEER_ID_LENGTH once enablePeerIds() ran, else 0. */
  pidLen = 0;

  constructor(stride: number, initialCapacity = 1024, reserveSlots = 1 << 20) {
    this.stride = stride;
    this.capacity = initialCapacity;
    this.reserveSlots = Math.max(reserveSlots, initialCapacity);
    const r = this.reserveSlots;
    this.recBuf = growableBuffer(initialCapacity * stride, r * stride);
    this.ownerBuf = growableBuffer(initialCapacity * 4, r * 4);
    this.seenBuf = growableBuffer(initialCapacity * 2, r * 2);
    this.peerIdBuf = new ArrayBuffer(0);
    this.rec = Buffer.from(this.recBuf);
    this.owner = new Uint32Array(this.ownerBuf);
    this.seen = new Uint16Array(this.seenBuf);
    this.peerId = Buffer.from(this.peerIdBuf);
    for (let c = 0; c <= MAX_CLASS; c++) this.freeRuns.push(new Int32Array(4));
  }

  // ---- runs -------------------------------------------------------------------------------

  /**
   * Carve a run of class `cls` (1 << cls slots); returns its first slot. A free run of that
   * class first; else the smallest larger free run, split (its upper halves go back to the free
   * lists); else fresh space at the top.
   */
  allocRun(cls: number): number {
    const off = this.popFree(cls);
    if (off >= 0) return off;
    for (let c = cls + 1; c <= MAX_CLASS; c++) {
      const big = this.popFree(c);
      if (big < 0) continue;
      for (let k = cls; k < c; k++) this.pushFree(big + (1 << k), k);
      return big;
    }
    const size = 1 << cls;
    if (this.top + size > this.capacity) this.grow(this.top + size);
    const start = this.top;
    this.top += size;
    return start;
  }

  /**
   * Give back the run of class `cls` at `off` (its slots already hold no peer). It merges with
   * a free run of the same class right after or right before it (repeatedly), and a run that
   * ends at the top lowers the top instead of going to a free list.
   */
  freeRun(off: number, cls: number): void {
    const owner = this.owner;
    while (cls < MAX_CLASS) {
      const size = 1 << cls;
      const tag = FREE_TAG + cls;
      if (off + size < this.top && owner[off + size] === tag) {
        owner[off + size] = NO_OWNER;
      } else if (off >= size && owner[off - size] === tag) {
        off -= size;
        owner[off] = NO_OWNER;
      } else break;
      cls++;
    }
    if (off + (1 << cls) === this.top) {
      this.lowerTop(off);
      return;
    }
    this.pushFree(off, cls);
  }

  /** Move the top down to `at`, then past every free run that now ends at the top. */
  private lowerTop(at: number): void {
    const owner = this.owner;
    let top = at;
    for (let c = 0; c <= MAX_CLASS && top > 0; c++) {
      const head = top - (1 << c);
      if (head >= 0 && owner[head] === FREE_TAG + c) {
        owner[head] = NO_OWNER; // its list entry goes stale
        top = head;
        c = -1; // look again from the smallest class
      }
    }
    this.top = top;
  }

  /** Pop a free run of class `cls` from its list, skipping stale entries; -1 if none. */
  private popFree(cls: number): number {
    const stack = this.freeRuns[cls]!;
    const tag = FREE_TAG + cls;
    let n = this.freeCount[cls]!;
    // An entry is stale when its run was since taken by a neighbour growing in place, merged
    // into a bigger free run, or given back to the top: its head no longer carries the tag.
    while (n > 0) {
      const off = stack[--n]!;
      if (off < this.top && this.owner[off] === tag) {
        this.freeCount[cls] = n;
        this.owner[off] = NO_OWNER;
        return off;
      }
    }
    this.freeCount[cls] = 0;
    return -1;
  }

  private pushFree(off: number, cls: number): void {
    let stack = this.freeRuns[cls]!;
    let n = this.freeCount[cls]!;
    if (n === stack.length) {
      // Stale entries are only dropped when popped, and a list whose top entry is valid is never
      // popped past it: under churn they pile up below (measured: +2 entries a second, without
      // end, in a 71k-peer simulation). So a full list is compacted first, and only doubles when
      // more than 3/4 of it is still valid: its length stays under 8/3 of its live entries at
      // their most, and each compaction is paid for by the 1/4 of a list pushed since the last.
      n = this.compactFree(cls);
      if (n * 4 > stack.length * 3) {
        const bigger = new Int32Array(stack.length * 2);
        bigger.set(stack.subarray(0, n));
        this.freeRuns[cls] = stack = bigger;
      }
    }
    stack[n] = off;
    this.freeCount[cls] = n + 1;
    this.owner[off] = FREE_TAG + cls;
  }

  /**
   * Drop the stale entries of class `cls`'s free list, and duplicates (a run freed, taken by a
   * growing neighbour, then freed again is listed twice): each valid head is marked while it is
   * kept, so its second entry no longer matches the tag. Returns the new length.
   */
  private compactFree(cls: number): number {
    const stack = this.freeRuns[cls]!;
    const n = this.freeCount[cls]!;
    const owner = this.owner;
    const tag = FREE_TAG + cls;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const off = stack[i]!;
      if (off < this.top && owner[off] === tag) {
        owner[off] = FREE_MARK + cls;
        stack[k++] = off;
      }
    }
    for (let i = 0; i < k; i++) owner[stack[i]!] = tag;
    this.freeCount[cls] = k;
    return k;
  }

  /** Free runs of class `cls` that really are free (for tests: walks the arena). */
  validFreeRuns(cls: number): number {
    let n = 0;
    for (let p = 0; p < this.top; p++) if (this.owner[p] === FREE_TAG + cls) n++;
    return n;
  }

  /**
   * Take the free run of class `cls` that starts at `at`, if there is one, or the space at the
   * arena's top: so a run can grow in place into its neighbour (no copy, no index update) and
   * the hole a neighbour left is reused. Its stack entry goes stale (allocRun skips it).
   */
  takeRunAt(at: number, cls: number): boolean {
    const size = 1 << cls;
    if (at === this.top) {
      if (at + size > this.capacity) this.grow(at + size);
      this.top += size;
      return true;
    }
    if (at >= 0 && at < this.top && this.owner[at] === FREE_TAG + cls) {
      this.owner[at] = NO_OWNER;
      return true;
    }
    return false;
  }

  /** Free-list entries per class, stale ones included (for tests). */
  freeRunCount(cls: number): number {
    return this.freeCount[cls]!;
  }

  /**
   * Grow every column to hold at least `need` slots, in small steps (see nextCapacity).
   */
  private grow(need: number): void {
    let cap = this.capacity;
    cap = nextCapacity(cap, need, growsInPlace(this.ownerBuf, need * 4));
    const r = Math.max(this.reserveSlots, cap);
    const s = this.stride;
    this.recBuf = growBuffer(this.recBuf, cap * s, r * s);
    this.ownerBuf = growBuffer(this.ownerBuf, cap * 4, r * 4);
    this.seenBuf = growBuffer(this.seenBuf, cap * 2, r * 2);
    this.peerIdBuf = growBuffer(this.peerIdBuf, cap * this.pidLen, r * this.pidLen);
    // Length-tracking views follow an in-place resize; a copied buffer needs new ones.
    this.rec = Buffer.from(this.recBuf);
    this.owner = new Uint32Array(this.ownerBuf);
    this.seen = new Uint16Array(this.seenBuf);
    this.peerId = Buffer.from(this.peerIdBuf);
    this.capacity = cap;
  }

  /**
   * Start keeping peer_ids: a zeroed column for every slot (each id is then known from its
   * peer's next announce). Idempotent.
   */
  enablePeerIds(): void {
    if (this.pidLen !== 0) return;
    this.pidLen = PEER_ID_LENGTH;
    const r = Math.max(this.reserveSlots, this.capacity);
    this.peerIdBuf = growableBuffer(this.capacity * PEER_ID_LENGTH, r * PEER_ID_LENGTH);
    this.peerId = Buffer.from(this.peerIdBuf);
  }

  /** Whether slot p's peer_id is known (kept and not all zero). */
  hasPeerId(p: number): boolean {
    const l = this.pidLen;
    if (l === 0) return false;
    const id = this.peerId;
    for (let i = p * l, end = i + l; i < end; i++) if (id[i] !== 0) return true;
    return false;
  }

  /** Copy every column of slot `from` to slot `to` (and its index entry, if `indexed`). */
  moveSlot(from: number, to: number, indexed: boolean): void {
    const s = this.stride;
    this.rec.copyWithin(to * s, from * s, from * s + s);
    const l = this.pidLen;
    if (l !== 0) this.peerId.copyWithin(to * l, from * l, from * l + l);
    this.owner[to] = this.owner[from]!;
    this.seen[to] = this.seen[from]!;
    this.owner[from] = NO_OWNER;
    if (indexed) this.index.rename(from, to);
  }

  // ---- the (torrent, address, port) index ---------------------------------------------------

  /** Entries in the index (the peers of indexed runs). */
  get indexed(): number {
    return this.index.size;
  }

  /**
   * Find the peer of run [off, off+len) whose record equals key[keyOff .. +stride], by scanning
   * (for runs that are not indexed). Returns its slot or -1.
   */
  scan(off: number, len: number, key: Uint8Array, keyOff: number): number {
    const s = this.stride;
    const rec = this.rec;
    const k0 = key[keyOff]!;
    for (let p = off, end = off + len; p < end; p++) {
      const base = p * s;
      if (rec[base] !== k0) continue;
      let j = 1;
      while (j < s && rec[base + j] === key[keyOff + j]) j++;
      if (j === s) return p;
    }
    return -1;
  }

  /**
   * Find the peer of torrent `tid` whose record equals key[keyOff .. +stride] in the index.
   * Returns its slot, or -1.
   */
  find(tid: number, key: Uint8Array, keyOff: number): number {
    const ownerTag = tid + 1; // what the owner column stores
    const s = this.stride;
    const rec = this.rec;
    const owner = this.owner;
    const table = this.index.table;
    const mask = this.index.mask;
    let i = keyedHash(key, keyOff, s, ownerTag) & mask;
    for (;;) {
      const p = table[i]!;
      if (p < 0) return -1;
      if (owner[p] === ownerTag) {
        const base = p * s;
        let j = 0;
        while (j < s && rec[base + j] === key[keyOff + j]) j++;
        if (j === s) return p;
      }
      i = (i + 1) & mask;
    }
  }

  /** Add live slot `p` (record and owner written) to the index. */
  addToIndex(p: number): void {
    this.index.insert(p);
  }

  /** Delete the index entry of live slot `p`. */
  unindex(p: number): void {
    this.index.remove(p);
  }

  /** Bytes held by this family's columns (for /stats and the memory benchmark). */
  bytes(): number {
    let free = 0;
    for (const s of this.freeRuns) free += s.byteLength;
    return this.capacity * (this.stride + 4 + 2 + this.pidLen) + this.index.bytes() + free;
  }
}

/** The peer index: entries are arena slots, keyed by (owner torrent, wire record). */
class PeerIndex extends OpenIndex {
  constructor(private readonly arena: PeerArena) {
    super(2048);
  }

  protected hashOf(p: number): number {
    const a = this.arena;
    return keyedHash(a.rec, p * a.stride, a.stride, a.owner[p]!);
  }
}
