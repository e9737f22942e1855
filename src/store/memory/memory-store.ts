/**
 * The in-memory swarm store (the default SwarmStore): every torrent and peer the tracker knows,
 * in typed arrays. No I/O, no clock (the caller passes `now` in seconds), no per-peer or
 * per-torrent JS objects, nothing allocated per announce.
 *
 * Torrents. A torrent id `t` indexes the per-torrent columns:
 *   hash[t*20 .. +20]  info_hash (its keyed hash is recomputed when the index needs it: on a
 *                      rebuild or a delete, rare enough not to pay 4 bytes per torrent for)
 *   seeders[t]         seeders, both families (leechers = peers - seeders)
 *   downloaded[t]      `completed` events counted (once per peer)
 *   active[t]          last announce, in 16-bit torrent ticks (see torrentTick); a torrent
 *                      with no peers but a downloaded count is kept until active + retention
 *                      (so the count survives quiet spells)
 * and, per address family (FamilyRuns: runs4 for IPv4, runs6 for IPv6), where its peers sit in
 * that family's arena:
 *   off[t] / len[t] / cls[t]   its run: first slot, peers, size class (NO_RUN = none)
 * The IPv6 run columns are only allocated once the first IPv6 peer announces (has6): an
 * IPv4-only tracker does not pay 9 bytes per torrent for them. A torrent id is live unless
 * runs4.cls[t] is DEAD (freed or never handed out): no separate column. `tindex` maps
 * info_hash -> torrent id (open-index.ts). Freed ids are reused from a stack.
 *
 * The answer to an announce is chosen before a new announcer is inserted; for a known one, the
 * window is taken from the others in cyclic order after it, so a peer never gets itself back.
 * The window starts at a random offset and wraps at most once; it is handed to the caller as a
 * PeerWindow over the arena's records, which the adapter copies with one or two native copies.
 */
import {
  type AnnounceCounts, type ScrapeCounts, STORE_FULL_PEERS, STORE_FULL_TORRENTS, STORE_OK, STORE_REFUSED_TORRENT,
  type PeerIdState, type StoreAnnounce, type StoreFigures, type StoreHealth, type StoreStatus, type SweepReport, type SwarmStore,
  type TopTorrent, type TorrentOrder,
} from "../store.ts";
import { growBuffer, growsInPlace, nextCapacity } from "./growable.ts";
import { keyedHash } from "./keyed-hash.ts";
import { OpenIndex } from "./open-index.ts";
import { FLAG_COUNTED, FLAG_SEEDER, INDEX_MIN_CLASS, MAX_CLASS, NO_OWNER, PeerArena, SEEN_TICKS } from "./peer-arena.ts";
import { TopSwarms } from "./top-swarms.ts";

export const INFO_HASH_LENGTH = 20;
/** Torrents' worth of work between two yields of orderTorrents (a few ms). */
const ORDER_SLICE = 65_536;
const NO_RUN = 255;
/** runs4.cls of a torrent id that is not in use. */
const DEAD = 254;
/** Reserve address space for at most this many torrents per column (see growable.ts). */
const MAX_TORRENT_RESERVE = 1 << 26;
/** The sweep walks every torrent about once per this many seconds, a slice per second. */
const SWEEP_CYCLE_SECONDS = 60;
const SWEEP_MIN_BUDGET = 4096;
/**
 * Peers one sweep slice may look at. Looking costs a few ns a peer, removing one a few hundred
 * ns in a huge indexed swarm. Measured with bench/sweep.ts (5M expired peers in 3 torrents):
 * slices of 32k peers took 10.5 ms (median) and up to 18; of 16k, 6.2 and up to 19; of 8k, 2.4
 * and at most 5.1, the whole backlog gone in 1.6 s. A cycle that needs more runs more slices,
 * not longer ones.
 */
export const SWEEP_SLICE_PEERS = 8_192;
/** The largest swarms each sweep cycle notes (topTorrents' most). */
export const TOP_SWARMS = 10;
/**
 * A sweep cycle notes the dashboard's figures (peers, seeders, the largest swarms) if it starts
 * at least this long after the last cycle that did. Past ~500k peers the sweep's slices are cut
 * short by their peer budget and a whole cycle runs back to back, every second: noting each one
 * would add ~6 ns a torrent to each (measured with 2M one-peer torrents).
 */
export const NOTE_EVERY_SECONDS = 5;

export interface MemoryStoreLimits {
  maxTorrents: number;
  maxPeers: number;
  /** Peers silent for longer than this are swept (seconds). */
  peerTimeout: number;
  /** A torrent with no peers keeps its downloaded count this long (seconds). */
  torrentRetention: number;
  /** Keep peer_ids (once a client asks for them); default true. */
  peerIds?: boolean;
}

/** State file records (see MemoryStore.encodeState): head and per-peer sizes, flag bits. */
export const STATE_RECORD_HEAD = 20 + 4 + 4 + 4 + 4;
export const STATE_PEER4 = 6 + 4 + 1;
export const STATE_PEER6 = 18 + 4 + 1;
const STATE_SEEDER = 1;
const STATE_COUNTED = 2;

/** Where a state encoding stands: the torrent id, and the family and peer index inside it. */
export class StateCursor {
  t = 0;
  family: 4 | 6 = 4;
  k = 0;
  done = false;
}

/** What a restore did. */
export interface RestoreReport {
  torrents: number;
  peers: number;
  /** Peers that went quiet for longer than the peer timeout while the tracker was down. */
  expired: number;
  /** Peers (and torrents' peers) left out by the capacity limits. */
  refused: number;
}

/** Copy n bytes (n <= 20: a loop beats a native call and allocates nothing). */
function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/**
 * A per-torrent column's backing store, grown to `cap` elements: in place where its reservation
 * allows (growable.ts), else copied (the first time: from the empty initial view into a buffer
 * that reserves `reserve` elements). New elements are zero.
 */
function growColumn(view: Uint8Array | Uint16Array | Uint32Array, cap: number, reserve: number): ArrayBuffer {
  const width = view.BYTES_PER_ELEMENT;
  return growBuffer(view.buffer as ArrayBuffer, cap * width, reserve * width);
}

/** One address family's side of the store: its arena, and each torrent's run in it. */
class FamilyRuns {
  readonly arena: PeerArena;
  off = new Uint32Array(0);
  len = new Uint32Array(0);
  cls = new Uint8Array(0);

  constructor(stride: number, reservePeers: number) {
    this.arena = new PeerArena(stride, 1024, reservePeers);
  }

  /** Grow the run columns from `old` to `cap` torrents; the new ids have no run. */
  grow(old: number, cap: number, reserve: number): void {
    // Views made without a length follow an in-place resize; a copied buffer needs new ones.
    this.off = new Uint32Array(growColumn(this.off, cap, reserve));
    this.len = new Uint32Array(growColumn(this.len, cap, reserve));
    this.cls = new Uint8Array(growColumn(this.cls, cap, reserve));
    this.cls.fill(NO_RUN, old, cap);
  }

  /** The slot of torrent t's peer whose record is key[keyOff ..], or -1: indexed or scanned. */
  find(t: number, key: Uint8Array, keyOff: number): number {
    const cls = this.cls[t]!;
    if (cls === NO_RUN) return -1;
    return cls >= INDEX_MIN_CLASS ? this.arena.find(t, key, keyOff) : this.arena.scan(this.off[t]!, this.len[t]!, key, keyOff);
  }

  /** Give back torrent t's run, if it has one. */
  freeRunOf(t: number): void {
    const cls = this.cls[t]!;
    if (cls !== NO_RUN) this.arena.freeRun(this.off[t]!, cls);
    this.cls[t] = NO_RUN;
  }

  /** Bytes per torrent of the run columns. */
  static readonly BYTES_PER_TORRENT = 4 + 4 + 1;
}

/** The torrent index: entries are torrent ids, keyed by their info_hash in the hash column. */
class TorrentIndex extends OpenIndex {
  constructor(private readonly hashColumn: () => Uint8Array) {
    super(1024);
  }

  protected hashOf(t: number): number {
    return keyedHash(this.hashColumn(), t * INFO_HASH_LENGTH, INFO_HASH_LENGTH, 0);
  }
}

const MEMORY_HEALTH: StoreHealth = { kind: "memory", where: "", up: true, rttMs: 0, unavailable: 0, disconnects: 0 };

export class MemoryStore implements SwarmStore {
  readonly async = false;
  readonly webrtcDirectory = null;
  readonly runs4: FamilyRuns;
  readonly runs6: FamilyRuns;
  readonly limits: MemoryStoreLimits;

  // ---- torrent columns ----
  private tcap = 0;
  /** One past the highest torrent id ever handed out. */
  private ttop = 0;
  torrentCount = 0;
  private hash = new Uint8Array(0);
  private seeders = new Uint32Array(0);
  private downloaded = new Uint32Array(0);
  private active = new Uint16Array(0);
  /** Whether an IPv6 peer has ever announced, i.e. whether runs6's columns exist. */
  private has6 = false;
  private freeIds = new Int32Array(256);
  private freeIdCount = 0;
  private readonly tindex = new TorrentIndex(() => this.hash);

  // ---- sweep state ----
  private sweepCursor = 0;
  /** The torrent filter (setTorrentFilter); null: every torrent is kept. */
  private keepTorrent: ((infoHash: Uint8Array, off: number) => boolean) | null = null;
  /**
   * With a filter: per torrent, the filter generation that last said yes to it (0: never), so a
   * known torrent is asked about once per filter, not once per announce. Allocated only while a
   * filter is set (2 bytes per torrent).
   */
  private keptIn: Uint16Array | null = null;
  private filterGeneration = 0;
  /** Inside a torrent left half-swept: the run index to resume at (-1: none), and whether in IPv6. */
  private sweepResumeAt = -1;
  private sweepResume6 = -1;
  private sweepPeersLeft = 0;
  private sweepCutShort = false;
  private cycleRemovedPeers = 0;
  private cycleRemovedTorrents = 0;
  private cycleMaxPeers = 0;
  private cycleMicros = 0;
  private cycleLongestSlice = 0;
  private cyclePeers = 0;
  private cycleSeeders = 0;
  /** Whether the cycle under way notes the dashboard's figures, and when the last one began. */
  private noting = true;
  private notedAt = -Infinity;
  /** The largest swarms: being noted by the cycle under way, and as the last cycle saw them. */
  private topCycle = new TopSwarms(TOP_SWARMS);
  private topLast = new TopSwarms(TOP_SWARMS);
  private longestSliceEver = 0;
  lastSweep: SweepReport = { removedPeers: 0, removedTorrents: 0, maxPeers: 0, micros: 0, longestSliceMicros: 0 };

  /**
   * Last-seen is kept in 14 bits of the arena's 16-bit `seen` column (2 bytes per peer with its
   * flags, not 4 + 1): in ticks of 1/256 of the peer timeout (at least a second), so a peer
   * expires at most one tick (~10 s at the default 2700 s) late, and 2^14 ticks (64 timeouts)
   * pass before the counter wraps.
   */
  private readonly tickSeconds: number;
  private readonly maxAgeTicks: number;

  private tick(now: number): number {
    return Math.floor(now / this.tickSeconds) & SEEN_TICKS;
  }

  private readonly torrentTickSeconds: number;
  private readonly retentionTicks: number;

  private torrentTick(now: number): number {
    return Math.floor(now / this.torrentTickSeconds) & 0xffff;
  }

  constructor(limits: MemoryStoreLimits, initialTorrents = 1024) {
    this.limits = limits;
    this.tickSeconds = Math.max(1, Math.floor(limits.peerTimeout / 256));
    this.maxAgeTicks = Math.ceil(limits.peerTimeout / this.tickSeconds);
    // Reserve address space (not memory) for what the limits allow, with room for run slack.
    const reservePeers = Math.min(limits.maxPeers * 2, 1 << 27);
    this.runs4 = new FamilyRuns(6, reservePeers);
    this.runs6 = new FamilyRuns(18, reservePeers);
    // Torrent ages are taken modulo 2^16 torrent ticks; no live torrent gets older than the
    // longer of the two timeouts plus a sweep cycle, which this keeps under 2^14 ticks.
    this.torrentTickSeconds = Math.max(1, Math.ceil(Math.max(limits.torrentRetention, limits.peerTimeout) / 16_384));
    this.retentionTicks = Math.ceil(limits.torrentRetention / this.torrentTickSeconds);
    this.growTorrents(initialTorrents);
  }

  get peerCount(): number {
    return this.runs4.arena.count + this.runs6.arena.count;
  }

  // ---- torrents -----------------------------------------------------------------------------

  private torrentReserve(cap: number): number {
    return Math.max(cap, Math.min(this.limits.maxTorrents, MAX_TORRENT_RESERVE));
  }

  private growTorrents(need: number): void {
    const old = this.tcap;
    // The first allocation reserves address space, so it steps like an in-place growth.
    const inPlace = old === 0 || growsInPlace(this.hash.buffer as ArrayBuffer, need * INFO_HASH_LENGTH);
    const cap = nextCapacity(Math.max(old, 64), need, inPlace);
    const reserve = this.torrentReserve(cap);
    // The hash column holds 20 bytes per torrent: grown as bytes.
    this.hash = new Uint8Array(growBuffer(this.hash.buffer as ArrayBuffer, cap * INFO_HASH_LENGTH, reserve * INFO_HASH_LENGTH));
    this.seeders = new Uint32Array(growColumn(this.seeders, cap, reserve));
    this.downloaded = new Uint32Array(growColumn(this.downloaded, cap, reserve));
    this.active = new Uint16Array(growColumn(this.active, cap, reserve));
    if (this.keptIn !== null) this.keptIn = new Uint16Array(growColumn(this.keptIn, cap, reserve));
    this.runs4.grow(old, cap, reserve);
    // A torrent id past the old capacity is not in use.
    this.runs4.cls.fill(DEAD, old, cap);
    if (this.has6) this.runs6.grow(old, cap, reserve);
    this.tcap = cap;
  }

  /** The first IPv6 peer: give every torrent (past and future) empty IPv6 run columns. */
  private enable6(): void {
    this.has6 = true;
    this.runs6.grow(0, this.tcap, this.torrentReserve(this.tcap));
  }

  /** Peers of torrent t, both families. */
  private peersOf(t: number): number {
    return this.has6 ? this.runs4.len[t]! + this.runs6.len[t]! : this.runs4.len[t]!;
  }

  /** The torrent id for an info_hash, or -1. */
  findTorrent(ih: Uint8Array, ihOff: number): number {
    const table = this.tindex.table;
    const mask = this.tindex.mask;
    const hash = this.hash;
    let i = keyedHash(ih, ihOff, INFO_HASH_LENGTH, 0) & mask;
    for (;;) {
      const t = table[i]!;
      if (t < 0) return -1;
      const base = t * INFO_HASH_LENGTH;
      let j = 0;
      while (j < INFO_HASH_LENGTH && hash[base + j] === ih[ihOff + j]) j++;
      if (j === INFO_HASH_LENGTH) return t;
      i = (i + 1) & mask;
    }
  }

  private createTorrent(ih: Uint8Array, ihOff: number, now: number): number {
    let t: number;
    if (this.freeIdCount > 0) t = this.freeIds[--this.freeIdCount]!;
    else {
      if (this.ttop === this.tcap) this.growTorrents(this.ttop + 1);
      t = this.ttop++;
    }
    copyBytes(ih, ihOff, this.hash, t * INFO_HASH_LENGTH, INFO_HASH_LENGTH);
    this.runs4.len[t] = 0;
    this.runs4.cls[t] = NO_RUN;
    if (this.has6) {
      this.runs6.len[t] = 0;
      this.runs6.cls[t] = NO_RUN;
    }
    this.seeders[t] = 0;
    this.downloaded[t] = 0;
    this.active[t] = this.torrentTick(now);
    if (this.keptIn !== null) this.keptIn[t] = this.filterGeneration; // created: the filter said yes
    this.tindex.insert(t);
    this.torrentCount++;
    return t;
  }

  private deleteTorrent(t: number): void {
    this.runs4.freeRunOf(t);
    if (this.has6) this.runs6.freeRunOf(t);
    this.tindex.remove(t);
    this.runs4.cls[t] = DEAD;
    if (this.freeIdCount === this.freeIds.length) {
      const bigger = new Int32Array(this.freeIds.length * 2);
      bigger.set(this.freeIds);
      this.freeIds = bigger;
    }
    this.freeIds[this.freeIdCount++] = t;
    this.torrentCount--;
  }

  private isLive(t: number): boolean {
    return this.runs4.cls[t] !== DEAD;
  }

  // ---- announce -----------------------------------------------------------------------------

  health(): StoreHealth {
    return MEMORY_HEALTH;
  }

  close(): void {}

  announce(a: StoreAnnounce, res: AnnounceCounts): StoreStatus {
    const family = a.family;
    if (family === 6 && !this.has6) this.enable6();
    const runs = family === 4 ? this.runs4 : this.runs6;
    const arena = runs.arena;
    const rec = a.record;
    const recOff = a.recordOff;
    const now = a.now;
    let t = this.findTorrent(a.infoHash, a.infoHashOff);
    if (this.keepTorrent !== null && (t < 0 || this.keptIn![t] !== this.filterGeneration)) {
      if (!this.keepTorrent(a.infoHash, a.infoHashOff)) return STORE_REFUSED_TORRENT;
      if (t >= 0) this.keptIn![t] = this.filterGeneration;
    }
    if (t < 0) {
      if (a.leaving) return STORE_OK; // nothing to leave: counts stay zero, nothing is created
      if (this.torrentCount >= this.limits.maxTorrents) return STORE_FULL_TORRENTS;
      // A new torrent brings a new peer: refuse before creating an empty torrent.
      if (this.peerCount >= this.limits.maxPeers) return STORE_FULL_PEERS;
      t = this.createTorrent(a.infoHash, a.infoHashOff, now);
    }
    let p = runs.find(t, rec, recOff);

    if (a.leaving) {
      this.active[t] = this.torrentTick(now);
      if (p >= 0) this.removePeer(t, runs, p);
      this.writeCounts(t, res);
      if (this.peersOf(t) === 0 && this.downloaded[t] === 0) this.deleteTorrent(t);
      return STORE_OK;
    }
    if (p < 0 && (this.peerCount >= this.limits.maxPeers || runs.len[t]! >= 1 << MAX_CLASS)) return STORE_FULL_PEERS;
    this.active[t] = this.torrentTick(now);

    // Choose the answer: a window of the run, read cyclically from a random start. A new peer
    // is not in the run yet. For a known one at index s, the window is taken from the n - 1
    // others in cyclic order after it (s+1, s+2, ..., s-1), so it never contains the announcer
    // and is still at most two copies; nothing has to move.
    const runLen = runs.len[t]!;
    const others = p >= 0 ? runLen - 1 : runLen;
    let want = a.numwant;
    const mine = others < want ? others : want;
    let start = 0;
    if (mine > 0) {
      if (p < 0) start = runLen > mine ? Math.floor(Math.random() * runLen) : 0;
      else start = (p - runs.off[t]! + 1 + Math.floor(Math.random() * (others - mine + 1))) % runLen;
    }
    want -= mine;

    // Insert or update the announcer. A new one goes at index runLen, just past the window.
    if (p < 0) {
      p = this.appendPeer(t, runs, rec, recOff);
      arena.seen[p] = 0;
    }
    // Read the run's place and the arena's columns only now: the append may have moved the
    // run (growth) or reallocated the columns. The peers keep their order, so `start` holds.
    res.peers(family).set(arena.rec, arena.peerId, arena.pidLen, runs.off[t]!, runLen, start, mine);
    if (a.bothFamilies && want > 0 && this.has6) {
      const other = family === 4 ? this.runs6 : this.runs4;
      const oLen = other.len[t]!;
      const theirs = oLen < want ? oLen : want;
      const oStart = theirs > 0 && oLen > theirs ? Math.floor(Math.random() * oLen) : 0;
      const o = other.arena;
      res.peers(family === 4 ? 6 : 4).set(o.rec, o.peerId, o.pidLen, other.off[t]!, oLen, oStart, theirs);
    }

    copyBytes(a.peerId, a.peerIdOff, arena.peerId, p * arena.pidLen, arena.pidLen);
    let f = arena.seen[p]! & ~SEEN_TICKS;
    if (a.seeder !== ((f & FLAG_SEEDER) !== 0)) {
      if (a.seeder) {
        this.seeders[t]!++;
        f |= FLAG_SEEDER;
      } else {
        this.seeders[t]!--;
        f &= ~FLAG_SEEDER;
      }
    }
    if (a.completed && (f & FLAG_COUNTED) === 0) {
      f |= FLAG_COUNTED;
      this.downloaded[t]!++;
    }
    arena.seen[p] = f | this.tick(now);
    this.writeCounts(t, res);
    return STORE_OK;
  }

  private writeCounts(t: number, res: AnnounceCounts): void {
    const s = this.seeders[t]!;
    res.complete = s;
    res.incomplete = this.peersOf(t) - s;
    res.downloaded = this.downloaded[t]!;
  }

  /** Append a new peer to torrent t's run (growing the run); returns its slot. */
  private appendPeer(t: number, runs: FamilyRuns, rec: Uint8Array, recOff: number): number {
    const arena = runs.arena;
    const cls = runs.cls[t]!;
    const len = runs.len[t]!;
    if (cls === NO_RUN) {
      runs.off[t] = arena.allocRun(0);
      runs.cls[t] = 0;
    } else if (len === 1 << cls) {
      if (cls >= MAX_CLASS) throw new Error("swarm larger than the largest size class");
      if (!this.growInPlace(t, runs, len, cls)) this.moveRun(t, runs, len, cls + 1);
    }
    const p = runs.off[t]! + len;
    copyBytes(rec, recOff, arena.rec, p * arena.stride, arena.stride);
    arena.owner[p] = t + 1;
    if (runs.cls[t]! >= INDEX_MIN_CLASS) arena.addToIndex(p);
    runs.len[t] = len + 1;
    arena.count++;
    return p;
  }

  /**
   * Double torrent t's full run (class `cls`, `len` peers) without a new run: take the free run
   * of the same class right after it (or the arena's top), and nothing moves; or the one right
   * before it, and the peers move down into it. False when neither neighbour is free.
   */
  private growInPlace(t: number, runs: FamilyRuns, len: number, cls: number): boolean {
    const arena = runs.arena;
    const off = runs.off[t]!;
    const size = 1 << cls;
    const wasIndexed = cls >= INDEX_MIN_CLASS;
    let newOff: number;
    if (arena.takeRunAt(off + size, cls)) newOff = off;
    else if (off >= size && arena.takeRunAt(off - size, cls)) {
      newOff = off - size;
      for (let i = 0; i < len; i++) arena.moveSlot(off + i, newOff + i, wasIndexed);
    } else return false;
    runs.off[t] = newOff;
    runs.cls[t] = cls + 1;
    if (!wasIndexed && cls + 1 >= INDEX_MIN_CLASS) for (let i = 0; i < len; i++) arena.addToIndex(newOff + i);
    return true;
  }

  /** Move torrent t's run to a fresh run of class `cls`, keeping its `len` peers. */
  private moveRun(t: number, runs: FamilyRuns, len: number, cls: number): void {
    const arena = runs.arena;
    const oldOff = runs.off[t]!;
    const oldCls = runs.cls[t]!;
    const wasIndexed = oldCls >= INDEX_MIN_CLASS;
    const willBeIndexed = cls >= INDEX_MIN_CLASS;
    // Crossing the indexing threshold: take the peers out of the index at their old places, or
    // put them in at their new ones.
    if (wasIndexed && !willBeIndexed) for (let i = 0; i < len; i++) arena.unindex(oldOff + i);
    const newOff = arena.allocRun(cls); // may grow the arena's columns: read them afterwards
    for (let i = 0; i < len; i++) arena.moveSlot(oldOff + i, newOff + i, wasIndexed && willBeIndexed);
    if (willBeIndexed && !wasIndexed) for (let i = 0; i < len; i++) arena.addToIndex(newOff + i);
    arena.freeRun(oldOff, oldCls);
    runs.off[t] = newOff;
    runs.cls[t] = cls;
  }

  /** Remove the peer in slot p of torrent t: swap the run's last peer into its place. */
  private removePeer(t: number, runs: FamilyRuns, p: number): void {
    const arena = runs.arena;
    if ((arena.seen[p]! & FLAG_SEEDER) !== 0) this.seeders[t]!--;
    const cls = runs.cls[t]!;
    const indexed = cls >= INDEX_MIN_CLASS;
    if (indexed) arena.unindex(p);
    const off = runs.off[t]!;
    const len = runs.len[t]! - 1;
    const last = off + len;
    if (p !== last) arena.moveSlot(last, p, indexed);
    else arena.owner[p] = NO_OWNER;
    runs.len[t] = len;
    arena.count--;
    if (len === 0) {
      arena.freeRun(off, cls);
      runs.cls[t] = NO_RUN;
    } else if (cls >= 2 && len <= 1 << (cls - 2)) {
      // A quarter full: halve in place, so a swarm that shrank does not pin a large run. The
      // peers sit in the lower half already; the upper half becomes a free run.
      const half = cls - 1;
      if (cls >= INDEX_MIN_CLASS && half < INDEX_MIN_CLASS) for (let i = 0; i < len; i++) arena.unindex(off + i);
      runs.cls[t] = half;
      arena.freeRun(off + (1 << half), half);
    }
  }

  // ---- scrape ---------------------------------------------------------------------------------

  scrape(hashes: Uint8Array, off: number, count: number, res: ScrapeCounts): void {
    for (let i = 0; i < count; i++) {
      const t = this.findTorrent(hashes, off + i * INFO_HASH_LENGTH);
      if (t < 0) {
        res.complete[i] = res.downloaded[i] = res.incomplete[i] = 0;
      } else {
        const s = this.seeders[t]!;
        res.complete[i] = s;
        res.downloaded[i] = this.downloaded[t]!;
        res.incomplete[i] = this.peersOf(t) - s;
      }
    }
  }

  /** The first 4 bytes of torrent t's info_hash, big-endian. */
  private hashPrefix(t: number): number {
    const h = this.hash;
    const b = t * INFO_HASH_LENGTH;
    return ((h[b]! << 24) | (h[b + 1]! << 16) | (h[b + 2]! << 8) | h[b + 3]!) >>> 0;
  }

  /**
   * Live torrent ids ordered by their info_hash bytes, ascending (full scrape), with each one's
   * first 4 hash bytes (its sort key, kept so a later slice can tell a reused id). A generator:
   * it yields after about `slice` torrents' worth of work, so the caller can let the event loop
   * turn (10,000,000 torrents took 0.8-1.5 s in one go); torrents may come and go in between.
   *
   *  1. live ids below the top of the moment, each with its 4-byte prefix noted then, counted
   *     per bucket of the prefix's first 16 bits;
   *  2. a BigUint64 key per id (high 32 bits the noted prefix, low 32 its position in step 1),
   *     scattered to its bucket: no BigInt objects, written through a Uint32Array view;
   *  3. each bucket sorted natively (typed-array sort, ~150 keys a bucket at 10M torrents);
   *  4. the ids read off in order; runs sharing the 4-byte prefix (about n^2 / 2^33 pairs: ~12k at
   *     10M torrents) ordered by their full 20 bytes.
   * A torrent whose id was reused meanwhile keeps the prefix noted in step 1: the visit skips it.
   */
  private *sortTorrents(slice: number): Generator<void, { ids: Uint32Array; prefixes: Uint32Array }> {
    const top = this.ttop;
    const found = new Uint32Array(top);
    const noted = new Uint32Array(top);
    const bucketStart = new Uint32Array(65_537);
    let n = 0;
    for (let t = 0; t < top; t++) {
      if (t % slice === slice - 1) yield;
      if (t >= this.ttop || !this.isLive(t)) continue;
      const prefix = this.hashPrefix(t);
      found[n] = t;
      noted[n++] = prefix;
      bucketStart[(prefix >>> 16) + 1]!++;
    }
    for (let b = 1; b <= 65_536; b++) bucketStart[b]! += bucketStart[b - 1]!;
    const keys = new BigUint64Array(n);
    const halves = new Uint32Array(keys.buffer);
    // Which half of a 64-bit lane is the high one depends on the host's byte order.
    const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    const hi = little ? 1 : 0;
    const lo = 1 - hi;
    const next = bucketStart.slice(0, 65_536);
    for (let i = 0; i < n; i++) {
      if (i % slice === slice - 1) yield;
      const at = next[noted[i]! >>> 16]!++;
      halves[2 * at + hi] = noted[i]!;
      halves[2 * at + lo] = i;
    }
    let sortedSinceYield = 0;
    for (let b = 0; b < 65_536; b++) {
      const from = bucketStart[b]!;
      const to = bucketStart[b + 1]!;
      if (to - from > 1) keys.subarray(from, to).sort();
      if ((sortedSinceYield += to - from) >= slice) {
        sortedSinceYield = 0;
        yield;
      }
    }
    const ids = new Uint32Array(n);
    const prefixes = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      // Random reads of `found`: slow per element at this size, so sliced like the rest.
      if (i % slice === slice - 1) yield;
      ids[i] = found[halves[2 * i + lo]!]!;
      prefixes[i] = halves[2 * i + hi]!;
    }
    const compare = (a: number, b: number): number => {
      const hash = this.hash;
      const x = a * INFO_HASH_LENGTH;
      const y = b * INFO_HASH_LENGTH;
      for (let k = 4; k < INFO_HASH_LENGTH; k++) {
        const d = hash[x + k]! - hash[y + k]!;
        if (d !== 0) return d;
      }
      return 0;
    };
    let runStart = 0;
    for (let i = 1; i <= n; i++) {
      if (i % slice === slice - 1) yield;
      if (i < n && prefixes[i] === prefixes[runStart]) continue;
      if (i - runStart > 1) ids.subarray(runStart, i).sort(compare);
      runStart = i;
    }
    return { ids, prefixes };
  }

  torrentsInHashOrder(): TorrentOrder {
    const steps = this.orderTorrents(Infinity);
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  *orderTorrents(slice = ORDER_SLICE): Generator<void, TorrentOrder> {
    const { ids, prefixes } = yield* this.sortTorrents(slice);
    // Between two slices a torrent id may be freed and handed to another torrent. Each entry's
    // first 4 hash bytes, noted by the sort, tell a different torrent on the same id (skipped:
    // it was not there when the order was taken, and visiting it could push `last` past
    // torrents still to come); `last`, the hash visited last, keeps the rare one whose 4 bytes
    // agree from breaking the ascending order.
    const last = new Uint8Array(INFO_HASH_LENGTH);
    let visitedAny = false;
    return {
      count: ids.length,
      visit: (from, to, visit) => {
        const hash = this.hash;
        for (let i = from; i < to && i < ids.length; i++) {
          const t = ids[i]!;
          if (!this.isLive(t) || this.hashPrefix(t) !== prefixes[i]) continue;
          const base = t * INFO_HASH_LENGTH;
          if (this.keepTorrent !== null && !this.keepTorrent(hash, base)) continue;
          if (visitedAny) {
            let k = 0;
            while (k < INFO_HASH_LENGTH && hash[base + k] === last[k]) k++;
            if (k === INFO_HASH_LENGTH || hash[base + k]! < last[k]!) continue; // not after the last one
          }
          copyBytes(hash, base, last, 0, INFO_HASH_LENGTH);
          visitedAny = true;
          const s = this.seeders[t]!;
          visit(hash, base, s, this.downloaded[t]!, this.peersOf(t) - s);
        }
      },
    };
  }

  // ---- sweep ----------------------------------------------------------------------------------

  get longestSweepSliceMicros(): number {
    return Math.round(this.longestSliceEver);
  }

  /**
   * One slice of the sweep, sized so that a cycle over every torrent takes about a minute, and
   * cut short after SWEEP_SLICE_PEERS peers whatever the torrents' sizes. Returns true when it
   * was cut short: there is more to sweep now, and the caller should run another slice soon
   * (after letting I/O through).
   */
  setTorrentFilter(keep: ((infoHash: Uint8Array, off: number) => boolean) | null): void {
    this.keepTorrent = keep;
    if (keep === null) {
      this.keptIn = null;
      return;
    }
    // A new generation forgets every verdict; at the wrap, the column starts over.
    if (this.keptIn === null || this.filterGeneration === 0xffff) {
      this.keptIn = new Uint16Array(growColumn(new Uint16Array(0), this.tcap, this.torrentReserve(this.tcap)));
      this.filterGeneration = 0;
    }
    this.filterGeneration++;
  }

  sweepStep(now: number): boolean {
    this.sweepSlice(now, Math.max(SWEEP_MIN_BUDGET, Math.ceil(this.ttop / SWEEP_CYCLE_SECONDS)));
    return this.sweepCutShort;
  }

  /**
   * Sweep up to `budget` torrent ids from where the last slice stopped, looking at no more than
   * `peerBudget` peers: remove peers not seen for limits.peerTimeout, free torrents with no peers
   * (once their downloaded count has been kept for limits.torrentRetention). A slice that runs
   * out of peers stops inside the torrent it is in, and the next one resumes there (so one
   * torrent of millions of expired peers is swept in many short slices, never in one long one).
   * Returns true when this slice finished a full cycle (then lastSweep holds the cycle's report).
   */
  sweepSlice(now: number, budget: number, peerBudget = SWEEP_SLICE_PEERS): boolean {
    const t0 = performance.now();
    const nowTick = this.tick(now);
    const nowTorrentTick = this.torrentTick(now);
    const retention = this.retentionTicks;
    this.sweepPeersLeft = peerBudget;
    let t = this.sweepCursor;
    const end = Math.min(this.ttop, t + budget);
    let cut = false;
    const from = t;
    if (t === 0 && this.sweepResumeAt < 0 && this.sweepResume6 < 0) {
      // A cycle begins.
      this.noting = now - this.notedAt >= NOTE_EVERY_SECONDS;
      if (this.noting) this.notedAt = now;
    }
    for (; t < end; t++) {
      if (!this.isLive(t)) {
        this.sweepResumeAt = this.sweepResume6 = -1; // the half-swept torrent has gone meanwhile
        continue;
      }
      // A torrent the filter refuses loses every peer, and then itself, downloaded count too.
      const refused = this.keepTorrent !== null && !this.keepTorrent(this.hash, t * INFO_HASH_LENGTH);
      // A torrent left half-swept by the last slice resumes in the family it was in.
      if (this.sweepResume6 < 0 && !this.expireRun(t, this.runs4, nowTick, refused)) {
        cut = true;
        break;
      }
      if (this.has6 && !this.expireRun(t, this.runs6, nowTick, refused)) {
        this.sweepResume6 = 1;
        cut = true;
        break;
      }
      this.sweepResume6 = -1;
      const n = this.peersOf(t);
      if (n > this.cycleMaxPeers) this.cycleMaxPeers = n;
      if (n === 0 && (refused || this.downloaded[t] === 0 || ((nowTorrentTick - this.active[t]!) & 0xffff) > retention)) {
        this.deleteTorrent(t);
        this.cycleRemovedTorrents++;
      }
    }
    if (this.noting) this.noteSwarms(from, t);
    const micros = (performance.now() - t0) * 1000;
    this.cycleMicros += micros;
    if (micros > this.cycleLongestSlice) this.cycleLongestSlice = micros;
    if (micros > this.longestSliceEver) this.longestSliceEver = micros;
    this.sweepCutShort = cut;
    if (t < this.ttop) {
      this.sweepCursor = t;
      return false;
    }
    // A full cycle. Dead ids below ttop are not given back: the free stack hands them out again.
    this.sweepCursor = 0;
    this.lastSweep = {
      removedPeers: this.cycleRemovedPeers,
      removedTorrents: this.cycleRemovedTorrents,
      maxPeers: this.cycleMaxPeers,
      micros: Math.round(this.cycleMicros),
      longestSliceMicros: Math.round(this.cycleLongestSlice),
      // A cycle that did not note them passes on the last figures that were noted.
      peers: this.noting ? this.cyclePeers : this.lastSweep.peers,
      seeders: this.noting ? this.cycleSeeders : this.lastSweep.seeders,
    };
    this.cycleRemovedPeers = this.cycleRemovedTorrents = this.cycleMaxPeers = this.cycleMicros = this.cycleLongestSlice = 0;
    if (this.noting) {
      this.cyclePeers = this.cycleSeeders = 0;
      const top = this.topLast;
      this.topLast = this.topCycle;
      this.topCycle = top;
      top.clear();
    }
    return true;
  }

  /**
   * The dashboard's figures, noted by the sweep on its way (see topTorrents): peers, seeders and
   * the largest swarms among the torrents [from, to) a slice has just swept (each torrent once a
   * cycle: a torrent a slice was cut short in is noted by the slice that finishes it). A loop of
   * its own over columns the slice has just read (folded into the sweep's loop it cost more:
   * measured with 2M one-peer torrents), and only every NOTE_EVERY_SECONDS.
   */
  private noteSwarms(from: number, to: number): void {
    const seeders = this.seeders;
    const top = this.topCycle;
    let floor = top.floor;
    let peerSum = 0;
    let seederSum = 0;
    for (let t = from; t < to; t++) {
      if (!this.isLive(t)) continue;
      const n = this.peersOf(t);
      peerSum += n;
      seederSum += seeders[t]!;
      if (n > floor) {
        top.offer(t, n, this.hash, t * INFO_HASH_LENGTH);
        floor = top.floor;
      }
    }
    this.cyclePeers += peerSum;
    this.cycleSeeders += seederSum;
  }

  /**
   * Remove torrent t's expired peers of one family (every one with `all`), walking its run from
   * the end (a removal swaps the run's last peer, already looked at, into the hole), resuming
   * where a cut-short slice left off. False when the slice's peer budget ran out first.
   */
  private expireRun(t: number, runs: FamilyRuns, nowTick: number, all: boolean): boolean {
    const maxAge = this.maxAgeTicks;
    const seen = runs.arena.seen;
    const len = runs.len[t]!;
    // Announces since the cut may have shrunk the run: resume within it. Peers that moved are
    // looked at in a later cycle at the latest.
    let k = this.sweepResumeAt >= 0 && this.sweepResumeAt < len ? this.sweepResumeAt : len - 1;
    this.sweepResumeAt = -1;
    let left = this.sweepPeersLeft;
    for (; k >= 0; k--) {
      if (left === 0) {
        this.sweepResumeAt = k;
        this.sweepPeersLeft = 0;
        return false;
      }
      left--;
      const p = runs.off[t]! + k; // a shrink may move the run
      // Ages are taken modulo 2^14 ticks: right as long as every peer is swept within 64
      // timeouts, and a sweep cycle takes about a minute.
      if (all || ((nowTick - seen[p]!) & SEEN_TICKS) > maxAge) {
        this.removePeer(t, runs, p);
        this.cycleRemovedPeers++;
      }
    }
    this.sweepPeersLeft = left;
    return true;
  }

  // ---- state file: snapshot and restore (the format is state-file.ts's; records here) -------

  /**
   * Write torrent records from `c` into out[off ..] until the next one would not fit or every
   * torrent is written (then c.done); returns the new offset. A record (all little-endian):
   *
   *   20 B info_hash | u32 downloaded | u32 last announce, Unix s | u32 n4 | u32 n6
   *   n4 x (6 B IPv4 record | u32 last seen, Unix s | u8 flags)
   *   n6 x (18 B IPv6 record | u32 last seen, Unix s | u8 flags)        flags: 1 seeder, 2 counted
   *
   * A swarm too big for what is left of `out` goes on in the next record, under the same hash:
   * so the caller can write the file in bounded slices, letting requests through in between.
   * The store may change between slices (the snapshot is then fuzzy by those announces; restore
   * merges records of the same torrent). Times are written as Unix seconds from the ticks.
   */
  encodeState(c: StateCursor, out: Buffer, off: number, now: number): number {
    const nowTick = this.tick(now);
    const nowTorrentTick = this.torrentTick(now);
    while (!c.done) {
      const t = c.t;
      if (t >= this.ttop) {
        c.done = true;
        break;
      }
      if (!this.isLive(t)) {
        c.t++;
        c.k = 0;
        c.family = 4;
        continue;
      }
      const len4 = this.runs4.len[t]!;
      const len6 = this.has6 ? this.runs6.len[t]! : 0;
      const from4 = c.family === 4 ? Math.min(c.k, len4) : len4;
      const from6 = c.family === 6 ? Math.min(c.k, len6) : 0;
      let space = out.length - off - STATE_RECORD_HEAD;
      if (space < STATE_PEER6) break; // not even one peer of each kind: the next slice
      const n4 = Math.min(len4 - from4, Math.floor(space / STATE_PEER4));
      space -= n4 * STATE_PEER4;
      const n6 = from4 + n4 < len4 ? 0 : Math.min(len6 - from6, Math.floor(space / STATE_PEER6));
      copyBytes(this.hash, t * INFO_HASH_LENGTH, out, off, INFO_HASH_LENGTH);
      off = out.writeUInt32LE(this.downloaded[t]!, off + INFO_HASH_LENGTH);
      const idle = ((nowTorrentTick - this.active[t]!) & 0xffff) * this.torrentTickSeconds;
      off = out.writeUInt32LE(Math.max(0, now - idle), off);
      off = out.writeUInt32LE(n4, off);
      off = out.writeUInt32LE(n6, off);
      off = this.encodePeers(this.runs4, t, from4, n4, out, off, now, nowTick);
      off = this.encodePeers(this.runs6, t, from6, n6, out, off, now, nowTick);
      if (from4 + n4 < len4) {
        c.family = 4;
        c.k = from4 + n4;
      } else if (from6 + n6 < len6) {
        c.family = 6;
        c.k = from6 + n6;
      } else {
        c.t++;
        c.k = 0;
        c.family = 4;
      }
    }
    return off;
  }

  private encodePeers(runs: FamilyRuns, t: number, from: number, n: number, out: Buffer, off: number, now: number, nowTick: number): number {
    const arena = runs.arena;
    const stride = arena.stride;
    for (let k = from; k < from + n; k++) {
      const p = runs.off[t]! + k;
      off += arena.rec.copy(out, off, p * stride, p * stride + stride);
      const seen = arena.seen[p]!;
      const age = ((nowTick - seen) & SEEN_TICKS) * this.tickSeconds;
      off = out.writeUInt32LE(Math.max(0, now - age), off);
      out[off++] = ((seen & FLAG_SEEDER) !== 0 ? STATE_SEEDER : 0) | ((seen & FLAG_COUNTED) !== 0 ? STATE_COUNTED : 0);
    }
    return off;
  }

  /**
   * Apply one record from buf[off .. end) (see encodeState) at time `now`: its torrent is found
   * or created, its downloaded count kept (the larger, when records repeat a torrent), its peers
   * added unless they went quiet for longer than the peer timeout meanwhile or are there already.
   * Capacity limits hold: what does not fit is counted in `r`, not added. Returns the offset
   * after the record, or -1 when the record is malformed (the caller stops there).
   */
  restoreRecord(buf: Buffer, off: number, end: number, now: number, r: RestoreReport): number {
    if (end - off < STATE_RECORD_HEAD) return -1;
    const downloaded = buf.readUInt32LE(off + 20);
    const lastActive = buf.readUInt32LE(off + 24);
    const n4 = buf.readUInt32LE(off + 28);
    const n6 = buf.readUInt32LE(off + 32);
    const size = STATE_RECORD_HEAD + n4 * STATE_PEER4 + n6 * STATE_PEER6;
    if (size > end - off) return -1;
    let t = this.findTorrent(buf, off);
    if (t < 0) {
      if (this.torrentCount >= this.limits.maxTorrents) {
        r.refused += n4 + n6;
        return off + size;
      }
      t = this.createTorrent(buf, off, lastActive);
      r.torrents++;
    }
    if (downloaded > this.downloaded[t]!) this.downloaded[t] = downloaded;
    this.active[t] = this.torrentTick(Math.min(lastActive, now));
    let p = off + STATE_RECORD_HEAD;
    p = this.restorePeers(t, 4, buf, p, n4, now, r);
    p = this.restorePeers(t, 6, buf, p, n6, now, r);
    // A torrent that came back empty is kept only for its count, within the retention.
    if (this.peersOf(t) === 0 && (this.downloaded[t] === 0 || now - lastActive > this.limits.torrentRetention)) {
      this.deleteTorrent(t);
      r.torrents--;
    }
    return p;
  }

  private restorePeers(t: number, family: 4 | 6, buf: Buffer, p: number, n: number, now: number, r: RestoreReport): number {
    if (n > 0 && family === 6 && !this.has6) this.enable6();
    const runs = family === 4 ? this.runs4 : this.runs6;
    const arena = runs.arena;
    const stride = arena.stride;
    for (let i = 0; i < n; i++, p += stride + 5) {
      const lastSeen = buf.readUInt32LE(p + stride);
      const flags = buf[p + stride + 4]!;
      if (lastSeen > now || now - lastSeen > this.limits.peerTimeout) {
        r.expired++;
        continue;
      }
      if (runs.find(t, buf, p) >= 0) continue; // a record repeated by a fuzzy snapshot
      if (this.peerCount >= this.limits.maxPeers || runs.len[t]! >= 1 << MAX_CLASS) {
        r.refused++;
        continue;
      }
      const slot = this.appendPeer(t, runs, buf, p);
      let f = 0;
      if ((flags & STATE_SEEDER) !== 0) {
        f |= FLAG_SEEDER;
        this.seeders[t]!++;
      }
      if ((flags & STATE_COUNTED) !== 0) f |= FLAG_COUNTED;
      arena.seen[slot] = f | this.tick(lastSeen);
      r.peers++;
    }
    return p;
  }

  // ---- figures --------------------------------------------------------------------------------

  figures(): StoreFigures {
    return {
      torrents: this.torrentCount,
      peers: this.peerCount,
      peersIPv4: this.runs4.arena.count,
      peersIPv6: this.runs6.arena.count,
      seeders: this.countSeeders(),
      bytes: this.bytes(),
      peerIdBytes: this.runs4.arena.peerId.byteLength + this.runs6.arena.peerId.byteLength,
      peerIdState: this.peerIdState(),
    };
  }

  /**
   * The largest swarms as the last sweep cycle found them, with their counts now, largest first
   * (at most TOP_SWARMS). A torrent gone since (or its id reused: the kept hash tells) or empty
   * now is left out. At most TOP_SWARMS lookups: no walk over the torrents.
   */
  topTorrents(limit = TOP_SWARMS): TopTorrent[] {
    const top = this.topLast;
    const out: TopTorrent[] = [];
    for (let i = 0; i < top.count; i++) {
      const t = top.ids[i]!;
      if (t >= this.ttop || !this.isLive(t) || !top.sameHash(i, this.hash, t * INFO_HASH_LENGTH)) continue;
      const peers = this.peersOf(t);
      if (peers === 0) continue;
      const seeders = this.seeders[t]!;
      out.push({ infoHash: top.hexHash(i), seeders, leechers: peers - seeders, downloaded: this.downloaded[t]! });
    }
    out.sort((a, b) => b.seeders + b.leechers - (a.seeders + a.leechers));
    return out.length > limit ? out.slice(0, Math.max(0, limit)) : out;
  }

  /** Seeders across all torrents (a walk over the torrent columns: not per request). */
  private countSeeders(): number {
    let s = 0;
    for (let t = 0; t < this.ttop; t++) if (this.isLive(t)) s += this.seeders[t]!;
    return s;
  }

  peerIdState(): PeerIdState {
    if (this.runs4.arena.pidLen !== 0) return "kept";
    return this.limits.peerIds === false ? "off" : "unused";
  }

  /**
   * Keep peer_ids from now on (for compact=0 answers), if the operator allows it; until the
   * first client asks, no memory is spent on them.
   */
  usePeerIds(): void {
    if (this.runs4.arena.pidLen !== 0 || this.limits.peerIds === false) return;
    this.runs4.arena.enablePeerIds();
    this.runs6.arena.enablePeerIds();
  }

  /** Bytes held in typed arrays (torrent columns, the torrent index, both arenas). */
  bytes(): number {
    const perTorrent = INFO_HASH_LENGTH + 4 + 4 + 2 + FamilyRuns.BYTES_PER_TORRENT * (this.has6 ? 2 : 1);
    return this.tcap * perTorrent + this.tindex.bytes() + this.freeIds.byteLength
      + this.runs4.arena.bytes() + this.runs6.arena.bytes();
  }

  // ---- consistency (tests) --------------------------------------------------------------------

  /**
   * Consistency check for tests: every live peer is found again by the path announce uses, the
   * index holds exactly the peers of indexed runs, seeder counts match the flags, runs do not
   * overlap. Returns a description of the first problem, or null.
   */
  verify(): string | null {
    const families = this.has6 ? [this.runs4, this.runs6] : [this.runs4];
    // Run capacities must not overlap, and no slot of a live run may look like a free run.
    for (const runs of families) {
      const arena = runs.arena;
      const claimed = new Uint8Array(arena.top);
      for (let t = 0; t < this.ttop; t++) {
        const cls = runs.cls[t]!;
        if (!this.isLive(t) || cls === NO_RUN) continue;
        const off = runs.off[t]!;
        if (off + (1 << cls) > arena.top) return `torrent ${t} run past the arena top`;
        for (let p = off; p < off + (1 << cls); p++) {
          if (claimed[p] !== 0) return `slot ${p} claimed by two runs`;
          claimed[p] = 1;
          if (arena.owner[p]! >= 0xffffff00) return `slot ${p} of torrent ${t}'s run is tagged free`;
        }
      }
    }
    const peers = [0, 0];
    const indexed = [0, 0];
    for (let t = 0; t < this.ttop; t++) {
      if (!this.isLive(t)) continue;
      if (this.findTorrent(this.hash, t * INFO_HASH_LENGTH) !== t) return `torrent ${t} not found by its hash`;
      let seeders = 0;
      for (let f = 0; f < families.length; f++) {
        const runs = families[f]!;
        const arena = runs.arena;
        const cls = runs.cls[t]!;
        const off = runs.off[t]!;
        const len = runs.len[t]!;
        if (len === 0) continue;
        if (cls === NO_RUN || len > 1 << cls) return `torrent ${t} run too small`;
        for (let p = off; p < off + len; p++) {
          if (arena.owner[p] !== t + 1) return `slot ${p} owner ${arena.owner[p]} != ${t} + 1`;
          const found = runs.find(t, arena.rec, p * arena.stride);
          if (found !== p) return `peer in slot ${p} of torrent ${t} found at ${found}`;
          if ((arena.seen[p]! & FLAG_SEEDER) !== 0) seeders++;
        }
        peers[f]! += len;
        if (cls >= INDEX_MIN_CLASS) indexed[f]! += len;
      }
      if (seeders !== this.seeders[t]) return `torrent ${t}: ${seeders} seeder flags, count says ${this.seeders[t]}`;
    }
    const [a4, a6] = [this.runs4.arena, this.runs6.arena];
    if (peers[0] !== a4.count || peers[1] !== a6.count) return "peer counts disagree";
    if (indexed[0] !== a4.indexed || indexed[1] !== a6.indexed) {
      return `index holds ${a4.indexed}/${a6.indexed}, runs need ${indexed[0]}/${indexed[1]}`;
    }
    return null;
  }
}
