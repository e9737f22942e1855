/**
 * The swarm store: every torrent and peer the tracker knows, in typed arrays. No I/O, no clock
 * (the caller passes `now` in seconds), no per-peer or per-torrent JS objects.
 *
 * Torrents. A torrent id `t` indexes the per-torrent columns:
 *   hash[t*20 .. +20]  info_hash (its keyed hash is recomputed when the index needs it: on a
 *                      rebuild or a delete, rare enough not to pay 4 bytes per torrent for)
 *   off4/len4/cls4[t]  its IPv4 run          off6/len6/cls6[t]  its IPv6 run (cls NO_RUN = none);
 *                      the IPv6 columns are only allocated once the first IPv6 peer announces
 *                      (has6): an IPv4-only tracker does not pay 9 bytes per torrent for them
 *   seeders[t]         seeders, both families (leechers = len4 + len6 - seeders)
 *   downloaded[t]      `completed` events counted (once per peer)
 *   active[t]          last announce, in 16-bit torrent ticks (see torrentTick); a torrent
 *                      with no peers but a downloaded count is kept until active + retention
 *                      (so the count survives quiet spells)
 * A torrent id is live unless cls4[t] is DEAD (freed or never handed out): no separate column.
 * `tindex` is an open-addressing table over hash(info_hash) -> torrent id (load <= 1/2,
 * backward-shift deletion). Freed ids are reused from a stack.
 *
 * The answer to an announce is chosen before a new announcer is inserted; for a known one, the
 * window is taken from the others in cyclic order after it, so a peer never gets itself back.
 * The window starts at a random offset and wraps at most once; the caller copies it with
 * writeCompact() (one or two native copies) or walks it with selectedSlot().
 */
import { EVENT_COMPLETED, EVENT_STOPPED, type AnnounceEvent } from "../../protocol/events.ts";
import type { StoreFigures } from "../store.ts";
import { growableBuffer, growBuffer, growsInPlace, nextCapacity } from "./growable.ts";
import { keyedHash } from "./keyed-hash.ts";
import { FLAG_COUNTED, FLAG_SEEDER, INDEX_MIN_CLASS, MAX_CLASS, NO_OWNER, PeerArena, SEEN_TICKS } from "./peer-arena.ts";

export const INFO_HASH_LENGTH = 20;
const NO_RUN = 255;
/** cls4 of a torrent id that is not in use. */
const DEAD = 254;

export const ANNOUNCE_OK = 0;
export const ANNOUNCE_TOO_MANY_TORRENTS = 1;
export const ANNOUNCE_TOO_MANY_PEERS = 2;
export type AnnounceStatus = 0 | 1 | 2;

export interface SwarmLimits {
  maxTorrents: number;
  maxPeers: number;
  /** Peers silent for longer than this are swept (seconds). */
  peerTimeout: number;
  /** A torrent with no peers keeps its downloaded count this long (seconds). */
  torrentRetention: number;
  /** Keep peer_ids (for compact=0 answers); default true. */
  peerIds?: boolean;
}

/** The result of the last sweep cycle, for the terminal line and /stats. */
export interface SweepReport {
  removedPeers: number;
  removedTorrents: number;
  /** Largest swarm seen during the cycle. */
  maxPeers: number;
  /** Wall time spent in the cycle's slices, microseconds. */
  micros: number;
}

/** Copy n bytes (n <= 20: a loop beats a native call and allocates nothing). */
function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** Per-torrent u32 columns and u8 columns, in the order their buffers are kept. */
const U32_COLUMNS = ["off4", "len4", "seeders", "downloaded"] as const;
const U16_COLUMNS = ["active"] as const;
const U8_COLUMNS = ["cls4"] as const;
const U32_COLUMNS_6 = ["off6", "len6"] as const;

export class SwarmStore {
  readonly v4: PeerArena;
  readonly v6: PeerArena;
  limits: SwarmLimits;

  // ---- torrent columns ----
  private tcap = 0;
  /** One past the highest torrent id ever handed out. */
  ttop = 0;
  torrentCount = 0;
  hash = new Uint8Array(0);
  off4 = new Uint32Array(0);
  len4 = new Uint32Array(0);
  private cls4 = new Uint8Array(0);
  off6 = new Uint32Array(0);
  len6 = new Uint32Array(0);
  private cls6 = new Uint8Array(0);
  /** Whether an IPv6 peer has ever announced, i.e. whether the *6 columns exist. */
  private has6 = false;
  seeders = new Uint32Array(0);
  downloaded = new Uint32Array(0);
  private active = new Uint16Array(0);
  private freeIds = new Int32Array(256);
  private freeIdCount = 0;
  private tindex = new Int32Array(1024).fill(-1);
  private tmask = 1023;

  // ---- results of the last announce (read by the server right after the call) ----
  /** Counts after the announce (they include the announcer unless it stopped). */
  complete = 0;
  incomplete = 0;
  downloadedCount = 0;
  /** Selection in the announcer's family and in the other one. */
  readonly sel = {
    /** family 4 */
    start4: 0, count4: 0, runOff4: 0, runLen4: 0,
    /** family 6 */
    start6: 0, count6: 0, runOff6: 0, runLen6: 0,
  };

  // ---- sweep state ----
  private sweepCursor = 0;
  private cycleRemovedPeers = 0;
  private cycleRemovedTorrents = 0;
  private cycleMaxPeers = 0;
  private cycleMicros = 0;
  lastSweep: SweepReport = { removedPeers: 0, removedTorrents: 0, maxPeers: 0, micros: 0 };

  /** Backing buffers of the torrent columns (grown in place where possible: growable.ts). */
  private buffers = new Map<string, ArrayBuffer>();

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

  /**
   * Keep peer_ids from now on (for compact=0 answers), if the operator allows it. Called by the
   * HTTP server on the first request that would show them; until then no memory is spent.
   */
  usePeerIds(): void {
    if (this.v4.pidLen !== 0 || this.limits.peerIds === false) return;
    this.v4.enablePeerIds();
    this.v6.enablePeerIds();
  }

  constructor(limits: SwarmLimits, initialTorrents = 1024) {
    this.limits = limits;
    this.tickSeconds = Math.max(1, Math.floor(limits.peerTimeout / 256));
    this.maxAgeTicks = Math.ceil(limits.peerTimeout / this.tickSeconds);
    // Reserve address space (not memory) for what the limits allow, with room for run slack.
    const reservePeers = Math.min(limits.maxPeers * 2, 1 << 27);
    this.v4 = new PeerArena(6, 1024, reservePeers);
    this.v6 = new PeerArena(18, 1024, reservePeers);
    // Torrent ages are taken modulo 2^16 torrent ticks; no live torrent gets older than the
    // longer of the two timeouts plus a sweep cycle, which this keeps under 2^14 ticks.
    this.torrentTickSeconds = Math.max(1, Math.ceil(Math.max(limits.torrentRetention, limits.peerTimeout) / 16_384));
    this.retentionTicks = Math.ceil(limits.torrentRetention / this.torrentTickSeconds);
    this.growTorrents(initialTorrents);
  }

  get peerCount(): number {
    return this.v4.count + this.v6.count;
  }

  // ---- torrents -----------------------------------------------------------------------------

  private growTorrents(need: number): void {
    const old = this.tcap;
    const hashBuf = this.buffers.get("hash");
    const inPlace = hashBuf === undefined || growsInPlace(hashBuf, need * INFO_HASH_LENGTH);
    const cap = nextCapacity(Math.max(old, 64), need, inPlace);
    const reserve = Math.max(cap, Math.min(this.limits.maxTorrents, 1 << 26));
    const grow = (name: string, width: number): ArrayBuffer => {
      const prev = this.buffers.get(name);
      const buf = prev === undefined ? growableBuffer(cap * width, reserve * width) : growBuffer(prev, cap * width, reserve * width);
      this.buffers.set(name, buf);
      return buf;
    };
    const self = this as unknown as Record<string, Uint8Array | Uint16Array | Uint32Array>;
    this.hash = new Uint8Array(grow("hash", INFO_HASH_LENGTH));
    for (const name of U32_COLUMNS) self[name] = new Uint32Array(grow(name, 4));
    for (const name of U16_COLUMNS) self[name] = new Uint16Array(grow(name, 2));
    for (const name of U8_COLUMNS) self[name] = new Uint8Array(grow(name, 1));
    // A torrent id past the old capacity is not in use (new bytes are zero; DEAD is not).
    this.cls4.fill(DEAD, old, cap);
    if (this.has6) {
      for (const name of U32_COLUMNS_6) self[name] = new Uint32Array(grow(name, 4));
      this.cls6 = new Uint8Array(grow("cls6", 1));
      this.cls6.fill(NO_RUN, old, cap);
    }
    this.tcap = cap;
  }

  /** The first IPv6 peer: give every torrent (past and future) empty IPv6 run columns. */
  private enable6(): void {
    this.has6 = true;
    const cap = this.tcap;
    const self = this as unknown as Record<string, Uint32Array>;
    for (const name of U32_COLUMNS_6) {
      const buf = growableBuffer(cap * 4, Math.min(this.limits.maxTorrents, 1 << 26) * 4);
      this.buffers.set(name, buf);
      self[name] = new Uint32Array(buf);
    }
    const cls = growableBuffer(cap, Math.min(this.limits.maxTorrents, 1 << 26));
    this.buffers.set("cls6", cls);
    this.cls6 = new Uint8Array(cls).fill(NO_RUN);
  }

  /** Peers of torrent t, both families. */
  private peersOf(t: number): number {
    return this.has6 ? this.len4[t]! + this.len6[t]! : this.len4[t]!;
  }

  private torrentHash(t: number): number {
    return keyedHash(this.hash, t * INFO_HASH_LENGTH, INFO_HASH_LENGTH, 0);
  }

  /** The torrent id for an info_hash, or -1. */
  findTorrent(ih: Uint8Array, ihOff: number): number {
    return this.probeTorrent(ih, ihOff, keyedHash(ih, ihOff, INFO_HASH_LENGTH, 0));
  }

  private lastTorrentProbe = 0;
  private probeTorrent(ih: Uint8Array, ihOff: number, h: number): number {
    const mask = this.tmask;
    const tindex = this.tindex;
    const hash = this.hash;
    let i = h & mask;
    for (;;) {
      const t = tindex[i]!;
      if (t < 0) {
        this.lastTorrentProbe = i;
        return -1;
      }
      const base = t * INFO_HASH_LENGTH;
      let j = 0;
      while (j < INFO_HASH_LENGTH && hash[base + j] === ih[ihOff + j]) j++;
      if (j === INFO_HASH_LENGTH) return t;
      i = (i + 1) & mask;
    }
  }

  private reserveTorrentIndex(): void {
    if ((this.torrentCount + 1) * 2 <= this.tindex.length) return;
    const size = this.tindex.length * 2;
    const tindex = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let t = 0; t < this.ttop; t++) {
      if (this.cls4[t] === DEAD) continue;
      let i = this.torrentHash(t) & mask;
      while (tindex[i]! >= 0) i = (i + 1) & mask;
      tindex[i] = t;
    }
    this.tindex = tindex;
    this.tmask = mask;
  }

  private createTorrent(ih: Uint8Array, ihOff: number, indexSlot: number, now: number): number {
    let t: number;
    if (this.freeIdCount > 0) t = this.freeIds[--this.freeIdCount]!;
    else {
      if (this.ttop === this.tcap) this.growTorrents(this.ttop + 1);
      t = this.ttop++;
    }
    copyBytes(ih, ihOff, this.hash, t * INFO_HASH_LENGTH, INFO_HASH_LENGTH);
    this.len4[t] = 0;
    this.cls4[t] = NO_RUN;
    if (this.has6) {
      this.len6[t] = 0;
      this.cls6[t] = NO_RUN;
    }
    this.seeders[t] = 0;
    this.downloaded[t] = 0;
    this.active[t] = this.torrentTick(now);
    this.tindex[indexSlot] = t;
    this.torrentCount++;
    return t;
  }

  private deleteTorrent(t: number): void {
    if (this.cls4[t] !== NO_RUN) this.v4.freeRun(this.off4[t]!, this.cls4[t]!);
    this.cls4[t] = DEAD;
    if (this.has6) {
      if (this.cls6[t] !== NO_RUN) this.v6.freeRun(this.off6[t]!, this.cls6[t]!);
      this.cls6[t] = NO_RUN;
    }
    // Backward-shift deletion from the torrent index.
    const tindex = this.tindex;
    const mask = this.tmask;
    let hole = this.torrentHash(t) & mask;
    while (tindex[hole] !== t) hole = (hole + 1) & mask;
    let i = hole;
    for (;;) {
      i = (i + 1) & mask;
      const q = tindex[i]!;
      if (q < 0) break;
      const home = this.torrentHash(q) & mask;
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        tindex[hole] = q;
        hole = i;
      }
    }
    tindex[hole] = -1;
    if (this.freeIdCount === this.freeIds.length) {
      const bigger = new Int32Array(this.freeIds.length * 2);
      bigger.set(this.freeIds);
      this.freeIds = bigger;
    }
    this.freeIds[this.freeIdCount++] = t;
    this.torrentCount--;
  }

  isLive(t: number): boolean {
    return t < this.ttop && this.cls4[t] !== DEAD;
  }

  // ---- announce -----------------------------------------------------------------------------

  /**
   * Record an announce and choose the peers to answer with.
   *
   * @param rec       the announcer's wire record (address + port), 6 bytes (family 4) or 18 (6)
   * @param numwant   how many peers to return, already defaulted and capped by the caller
   * @param bothFamilies  also return peers of the other family (HTTP: `peers` + `peers6`);
   *                  UDP answers carry only the announcer's family
   * Results are left in complete/incomplete/downloadedCount and `sel`.
   */
  announce(
    ih: Uint8Array, ihOff: number,
    family: 4 | 6, rec: Uint8Array, recOff: number,
    peerId: Uint8Array, peerIdOff: number,
    seeder: boolean, event: AnnounceEvent, numwant: number, bothFamilies: boolean, now: number,
  ): AnnounceStatus {
    const sel = this.sel;
    sel.count4 = 0;
    sel.count6 = 0;
    if (family === 6 && !this.has6) this.enable6();
    const h = keyedHash(ih, ihOff, INFO_HASH_LENGTH, 0);
    let t = this.probeTorrent(ih, ihOff, h);
    if (t < 0) {
      if (event === EVENT_STOPPED) {
        this.complete = this.incomplete = this.downloadedCount = 0;
        return ANNOUNCE_OK;
      }
      if (this.torrentCount >= this.limits.maxTorrents) return ANNOUNCE_TOO_MANY_TORRENTS;
      // Growing the index moves every entry: probe again for the insertion slot afterwards.
      if ((this.torrentCount + 1) * 2 > this.tindex.length) {
        this.reserveTorrentIndex();
        this.probeTorrent(ih, ihOff, h);
      }
      t = this.createTorrent(ih, ihOff, this.lastTorrentProbe, now);
    }
    this.active[t] = this.torrentTick(now);

    const arena = family === 4 ? this.v4 : this.v6;
    const cls = family === 4 ? this.cls4[t]! : this.cls6[t]!;
    const indexed = cls !== NO_RUN && cls >= INDEX_MIN_CLASS;
    let p = cls === NO_RUN ? -1
      : indexed ? arena.find(t, rec, recOff)
      : arena.scan(family === 4 ? this.off4[t]! : this.off6[t]!, family === 4 ? this.len4[t]! : this.len6[t]!, rec, recOff);

    if (event === EVENT_STOPPED) {
      if (p >= 0) this.removePeer(t, family, p);
      this.setCounts(t);
      if (this.peersOf(t) === 0 && this.downloaded[t] === 0) this.deleteTorrent(t);
      return ANNOUNCE_OK;
    }

    if (p < 0 && (this.peerCount >= this.limits.maxPeers || (family === 4 ? this.len4[t]! : this.len6[t]!) >= 1 << MAX_CLASS)) {
      this.setCounts(t);
      return ANNOUNCE_TOO_MANY_PEERS;
    }

    // Choose the answer: a window of the run, read cyclically from a random start. A new peer
    // is not in the run yet. For a known one at index s, the window is taken from the n - 1
    // others in cyclic order after it (s+1, s+2, ..., s-1), so it never contains the announcer
    // and is still at most two copies; nothing has to move.
    const runOff = family === 4 ? this.off4[t]! : this.off6[t]!;
    const runLen = family === 4 ? this.len4[t]! : this.len6[t]!;
    const others = p >= 0 ? runLen - 1 : runLen;
    let want = numwant;
    const mine = others < want ? others : want;
    let start = 0;
    if (mine > 0) {
      if (p < 0) start = runLen > mine ? Math.floor(Math.random() * runLen) : 0;
      else start = (p - runOff + 1 + Math.floor(Math.random() * (others - mine + 1))) % runLen;
    }
    want -= mine;
    if (family === 4) {
      sel.start4 = start; sel.count4 = mine; sel.runOff4 = runOff; sel.runLen4 = runLen;
    } else {
      sel.start6 = start; sel.count6 = mine; sel.runOff6 = runOff; sel.runLen6 = runLen;
    }
    if (bothFamilies && want > 0 && this.has6) {
      const oLen = family === 4 ? this.len6[t]! : this.len4[t]!;
      const oOff = family === 4 ? this.off6[t]! : this.off4[t]!;
      const theirs = oLen < want ? oLen : want;
      const oStart = theirs > 0 && oLen > theirs ? Math.floor(Math.random() * oLen) : 0;
      if (family === 4) {
        sel.start6 = oStart; sel.count6 = theirs; sel.runOff6 = oOff; sel.runLen6 = oLen;
      } else {
        sel.start4 = oStart; sel.count4 = theirs; sel.runOff4 = oOff; sel.runLen4 = oLen;
      }
    }

    // Insert or update the announcer.
    if (p < 0) {
      p = this.appendPeer(t, family, arena, rec, recOff);
      arena.seen[p] = 0;
      // appendPeer may have moved the run (growth): the selection must follow it.
      if (family === 4) sel.runOff4 = this.off4[t]!;
      else sel.runOff6 = this.off6[t]!;
    }
    copyBytes(peerId, peerIdOff, arena.peerId, p * arena.pidLen, arena.pidLen);
    let f = arena.seen[p]! & ~SEEN_TICKS;
    if (seeder !== ((f & FLAG_SEEDER) !== 0)) {
      if (seeder) {
        this.seeders[t]!++;
        f |= FLAG_SEEDER;
      } else {
        this.seeders[t]!--;
        f &= ~FLAG_SEEDER;
      }
    }
    if (event === EVENT_COMPLETED && (f & FLAG_COUNTED) === 0) {
      f |= FLAG_COUNTED;
      this.downloaded[t]!++;
    }
    arena.seen[p] = f | this.tick(now);
    this.setCounts(t);
    return ANNOUNCE_OK;
  }

  private setCounts(t: number): void {
    const s = this.seeders[t]!;
    this.complete = s;
    this.incomplete = this.peersOf(t) - s;
    this.downloadedCount = this.downloaded[t]!;
  }

  /** Append a new peer to torrent t's run of `family` (growing the run); returns its slot. */
  private appendPeer(t: number, family: 4 | 6, arena: PeerArena, rec: Uint8Array, recOff: number): number {
    const clsCol = family === 4 ? this.cls4 : this.cls6;
    const offCol = family === 4 ? this.off4 : this.off6;
    const lenCol = family === 4 ? this.len4 : this.len6;
    const cls = clsCol[t]!;
    const len = lenCol[t]!;
    if (cls === NO_RUN) {
      offCol[t] = arena.allocRun(0);
      clsCol[t] = 0;
    } else if (len === 1 << cls) {
      if (cls >= MAX_CLASS) throw new Error("swarm larger than the largest size class");
      if (!this.growInPlace(t, arena, offCol, clsCol, len, cls)) this.moveRun(t, arena, offCol, clsCol, len, cls + 1);
    }
    const p = offCol[t]! + len;
    copyBytes(rec, recOff, arena.rec, p * arena.stride, arena.stride);
    arena.owner[p] = t + 1;
    if (clsCol[t]! >= INDEX_MIN_CLASS) arena.addToIndex(p);
    lenCol[t] = len + 1;
    arena.count++;
    return p;
  }

  /**
   * Double torrent t's full run (class `cls`, `len` peers) without a new run: take the free run
   * of the same class right after it (or the arena's top), and nothing moves; or the one right
   * before it, and the peers move down into it. False when neither neighbour is free.
   */
  private growInPlace(t: number, arena: PeerArena, offCol: Uint32Array, clsCol: Uint8Array, len: number, cls: number): boolean {
    const off = offCol[t]!;
    const size = 1 << cls;
    const wasIndexed = cls >= INDEX_MIN_CLASS;
    let newOff: number;
    if (arena.takeRunAt(off + size, cls)) newOff = off;
    else if (off >= size && arena.takeRunAt(off - size, cls)) {
      newOff = off - size;
      for (let i = 0; i < len; i++) arena.moveSlot(off + i, newOff + i, wasIndexed);
    } else return false;
    offCol[t] = newOff;
    clsCol[t] = cls + 1;
    if (!wasIndexed && cls + 1 >= INDEX_MIN_CLASS) for (let i = 0; i < len; i++) arena.addToIndex(newOff + i);
    return true;
  }

  /** Move torrent t's run to a fresh run of class `cls`, keeping its `len` peers. */
  private moveRun(t: number, arena: PeerArena, offCol: Uint32Array, clsCol: Uint8Array, len: number, cls: number): void {
    const oldOff = offCol[t]!;
    const oldCls = clsCol[t]!;
    const wasIndexed = oldCls >= INDEX_MIN_CLASS;
    const willBeIndexed = cls >= INDEX_MIN_CLASS;
    // Crossing the indexing threshold: take the peers out of the index at their old places, or
    // put them in at their new ones.
    if (wasIndexed && !willBeIndexed) for (let i = 0; i < len; i++) arena.unindex(oldOff + i);
    const newOff = arena.allocRun(cls); // may grow the arena's columns: read them afterwards
    for (let i = 0; i < len; i++) arena.moveSlot(oldOff + i, newOff + i, wasIndexed && willBeIndexed);
    if (willBeIndexed && !wasIndexed) for (let i = 0; i < len; i++) arena.addToIndex(newOff + i);
    arena.freeRun(oldOff, oldCls);
    offCol[t] = newOff;
    clsCol[t] = cls;
  }

  /** Remove the peer in slot p of torrent t: swap the run's last peer into its place. */
  private removePeer(t: number, family: 4 | 6, p: number): void {
    const arena = family === 4 ? this.v4 : this.v6;
    const offCol = family === 4 ? this.off4 : this.off6;
    const lenCol = family === 4 ? this.len4 : this.len6;
    const clsCol = family === 4 ? this.cls4 : this.cls6;
    if ((arena.seen[p]! & FLAG_SEEDER) !== 0) this.seeders[t]!--;
    const cls = clsCol[t]!;
    const indexed = cls >= INDEX_MIN_CLASS;
    if (indexed) arena.unindex(p);
    const off = offCol[t]!;
    const len = lenCol[t]! - 1;
    const last = off + len;
    if (p !== last) arena.moveSlot(last, p, indexed);
    else arena.owner[p] = NO_OWNER;
    lenCol[t] = len;
    arena.count--;
    if (len === 0) {
      arena.freeRun(off, cls);
      clsCol[t] = NO_RUN;
    } else if (cls >= 2 && len <= 1 << (cls - 2)) {
      // A quarter full: halve in place, so a swarm that shrank does not pin a large run. The
      // peers sit in the lower half already; the upper half becomes a free run.
      const half = cls - 1;
      if (cls >= INDEX_MIN_CLASS && half < INDEX_MIN_CLASS) for (let i = 0; i < len; i++) arena.unindex(off + i);
      clsCol[t] = half;
      arena.freeRun(off + (1 << half), half);
    }
  }

  // ---- answers --------------------------------------------------------------------------------

  /**
   * Copy the selected peers of `family` (compact wire records) into out at off; returns the new
   * offset. At most two copies: the window wraps once.
   */
  writeCompact(family: 4 | 6, out: Uint8Array, off: number): number {
    const sel = this.sel;
    const arena = family === 4 ? this.v4 : this.v6;
    const count = family === 4 ? sel.count4 : sel.count6;
    if (count === 0) return off;
    const start = family === 4 ? sel.start4 : sel.start6;
    const runOff = family === 4 ? sel.runOff4 : sel.runOff6;
    const runLen = family === 4 ? sel.runLen4 : sel.runLen6;
    const s = arena.stride;
    const first = Math.min(count, runLen - start);
    const a = (runOff + start) * s;
    off += arena.rec.copy(out, off, a, a + first * s);
    if (first < count) off += arena.rec.copy(out, off, runOff * s, (runOff + count - first) * s);
    return off;
  }

  /** The arena slot of the k-th selected peer of `family` (for compact=0 answers). */
  selectedSlot(family: 4 | 6, k: number): number {
    const sel = this.sel;
    if (family === 4) return sel.runOff4 + ((sel.start4 + k) % sel.runLen4);
    return sel.runOff6 + ((sel.start6 + k) % sel.runLen6);
  }

  // ---- scrape ---------------------------------------------------------------------------------

  /** Seeders / leechers / downloaded of torrent t (t from findTorrent). */
  leechersOf(t: number): number {
    return this.peersOf(t) - this.seeders[t]!;
  }

  /** Live torrent ids, for full scrape and stats walks (allocates: not a hot path). */
  liveTorrents(): Uint32Array {
    const ids = new Uint32Array(this.torrentCount);
    let n = 0;
    for (let t = 0; t < this.ttop; t++) if (this.cls4[t] !== DEAD) ids[n++] = t;
    return ids;
  }

  // ---- sweep ----------------------------------------------------------------------------------

  /**
   * Sweep up to `budget` torrent ids from where the last slice stopped: remove peers not seen
   * for limits.peerTimeout, free torrents with no peers (once their downloaded count has been
   * kept for limits.torrentRetention). Returns true when this slice finished a full cycle (then
   * lastSweep holds the cycle's report). Bounded work per call keeps the event loop responsive.
   */
  sweepSlice(now: number, budget: number): boolean {
    const t0 = performance.now();
    const nowTick = this.tick(now);
    const nowTorrentTick = this.torrentTick(now);
    const retention = this.retentionTicks;
    let t = this.sweepCursor;
    const end = Math.min(this.ttop, t + budget);
    for (; t < end; t++) {
      if (this.cls4[t] === DEAD) continue;
      this.expireRun(t, 4, nowTick);
      if (this.has6) this.expireRun(t, 6, nowTick);
      const n = this.peersOf(t);
      if (n > this.cycleMaxPeers) this.cycleMaxPeers = n;
      if (n === 0 && (this.downloaded[t] === 0 || ((nowTorrentTick - this.active[t]!) & 0xffff) > retention)) {
        this.deleteTorrent(t);
        this.cycleRemovedTorrents++;
      }
    }
    this.cycleMicros += (performance.now() - t0) * 1000;
    if (t < this.ttop) {
      this.sweepCursor = t;
      return false;
    }
    this.sweepCursor = 0;
    // Ids freed at the top can be given back: shrink ttop past trailing dead ids is not done,
    // they are reused from the free stack instead.
    this.lastSweep = {
      removedPeers: this.cycleRemovedPeers,
      removedTorrents: this.cycleRemovedTorrents,
      maxPeers: this.cycleMaxPeers,
      micros: Math.round(this.cycleMicros),
    };
    this.cycleRemovedPeers = this.cycleRemovedTorrents = this.cycleMaxPeers = this.cycleMicros = 0;
    return true;
  }

  private expireRun(t: number, family: 4 | 6, nowTick: number): void {
    const maxAge = this.maxAgeTicks;
    const arena = family === 4 ? this.v4 : this.v6;
    const len = family === 4 ? this.len4[t]! : this.len6[t]!;
    if (len === 0) return;
    // Walk from the end: a removal swaps the run's last peer (already checked) into the hole.
    for (let k = len - 1; k >= 0; k--) {
      const off = family === 4 ? this.off4[t]! : this.off6[t]!; // a shrink may move the run
      const p = off + k;
      // Ages are taken modulo 2^14 ticks: right as long as every peer is swept within 64
      // timeouts, and a sweep cycle takes about a minute.
      if (((nowTick - arena.seen[p]!) & SEEN_TICKS) > maxAge) {
        this.removePeer(t, family, p);
        this.cycleRemovedPeers++;
      }
    }
  }

  /**
   * Consistency check for tests: every live peer is found again by the path announce uses, the
   * index holds exactly the peers of indexed runs, seeder counts match the flags. Returns a
   * description of the first problem, or null.
   */
  verify(): string | null {
    let indexed4 = 0;
    let indexed6 = 0;
    let peers4 = 0;
    let peers6 = 0;
    // Run capacities must not overlap, and no slot of a live run may look like a free run.
    const claimed = [new Uint8Array(this.v4.top), new Uint8Array(this.v6.top)];
    for (let t = 0; t < this.ttop; t++) {
      if (this.cls4[t] === DEAD) continue;
      for (const family of this.has6 ? ([4, 6] as const) : ([4] as const)) {
        const cls = family === 4 ? this.cls4[t]! : this.cls6[t]!;
        if (cls === NO_RUN) continue;
        const off = family === 4 ? this.off4[t]! : this.off6[t]!;
        const arena = family === 4 ? this.v4 : this.v6;
        const map = claimed[family === 4 ? 0 : 1]!;
        if (off + (1 << cls) > arena.top) return `torrent ${t} run past the arena top`;
        for (let p = off; p < off + (1 << cls); p++) {
          if (map[p] !== 0) return `slot ${p} claimed by two runs`;
          map[p] = 1;
          if (arena.owner[p]! >= 0xffffff00) return `slot ${p} of torrent ${t}'s run is tagged free`;
        }
      }
    }
    for (let t = 0; t < this.ttop; t++) {
      if (this.cls4[t] === DEAD) continue;
      if (this.findTorrent(this.hash, t * INFO_HASH_LENGTH) !== t) return `torrent ${t} not found by its hash`;
      let seeders = 0;
      for (const family of this.has6 ? ([4, 6] as const) : ([4] as const)) {
        const arena = family === 4 ? this.v4 : this.v6;
        const cls = family === 4 ? this.cls4[t]! : this.cls6[t]!;
        const off = family === 4 ? this.off4[t]! : this.off6[t]!;
        const len = family === 4 ? this.len4[t]! : this.len6[t]!;
        if (len === 0) continue;
        if (cls === NO_RUN || len > 1 << cls) return `torrent ${t} run too small`;
        const indexed = cls >= INDEX_MIN_CLASS;
        for (let p = off; p < off + len; p++) {
          if (arena.owner[p] !== t + 1) return `slot ${p} owner ${arena.owner[p]} != ${t} + 1`;
          const found = indexed ? arena.find(t, arena.rec, p * arena.stride) : arena.scan(off, len, arena.rec, p * arena.stride);
          if (found !== p) return `peer in slot ${p} of torrent ${t} found at ${found}`;
          if ((arena.seen[p]! & FLAG_SEEDER) !== 0) seeders++;
        }
        if (family === 4) { peers4 += len; if (indexed) indexed4 += len; }
        else { peers6 += len; if (indexed) indexed6 += len; }
      }
      if (seeders !== this.seeders[t]) return `torrent ${t}: ${seeders} seeder flags, count says ${this.seeders[t]}`;
    }
    if (peers4 !== this.v4.count || peers6 !== this.v6.count) return "peer counts disagree";
    if (indexed4 !== this.v4.indexed || indexed6 !== this.v6.indexed) {
      return `index holds ${this.v4.indexed}/${this.v6.indexed}, runs need ${indexed4}/${indexed6}`;
    }
    return null;
  }

  /** Peers and torrents now (walks the torrent columns for the seeders: not per request). */
  figures(): StoreFigures {
    return {
      torrents: this.torrentCount,
      peers: this.peerCount,
      peersIPv4: this.v4.count,
      peersIPv6: this.v6.count,
      seeders: this.countSeeders(),
      bytes: this.bytes(),
      peerIdBytes: this.peerIdBytes(),
      peerIdState: this.peerIdState(),
    };
  }

  /** Seeders across all torrents (a walk over the torrent columns: for /stats, not per request). */
  countSeeders(): number {
    let s = 0;
    for (let t = 0; t < this.ttop; t++) if (this.cls4[t] !== DEAD) s += this.seeders[t]!;
    return s;
  }

  /** Whether peer_ids are kept: "kept", "unused" (allowed, nobody asked yet) or "off". */
  peerIdState(): "kept" | "unused" | "off" {
    if (this.v4.pidLen !== 0) return "kept";
    return this.limits.peerIds === false ? "off" : "unused";
  }

  /** Bytes of the peer_id columns (part of bytes()). */
  peerIdBytes(): number {
    return this.v4.peerId.byteLength + this.v6.peerId.byteLength;
  }

  /** Bytes held in typed arrays (torrent columns + both arenas). */
  bytes(): number {
    const perTorrent = INFO_HASH_LENGTH + 4 * U32_COLUMNS.length + 2 * U16_COLUMNS.length + U8_COLUMNS.length + (this.has6 ? 4 * U32_COLUMNS_6.length + 1 : 0);
    return this.tcap * perTorrent + this.tindex.byteLength + this.freeIds.byteLength
      + this.v4.bytes() + this.v6.bytes();
  }
}
