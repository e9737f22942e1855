import { describe, expect, test } from "bun:test";
import { EVENT_COMPLETED, EVENT_NONE, EVENT_STARTED, EVENT_STOPPED } from "../src/protocol/events.ts";
import { AnnounceResult, ScrapeResult } from "../src/rules/results.ts";
import { MemoryStore, SWEEP_SLICE_PEERS } from "../src/store/memory/memory-store.ts";
import { STORE_FULL_PEERS, STORE_FULL_TORRENTS, STORE_OK, STORE_REFUSED_TORRENT, StoreAnnounce } from "../src/store/store.ts";

const limits = { maxTorrents: 1_000_000, maxPeers: 10_000_000, peerTimeout: 100, torrentRetention: 1000 };

function ih(n: number): Uint8Array {
  const b = new Uint8Array(20);
  new DataView(b.buffer).setUint32(0, n);
  b[19] = 0xab;
  return b;
}
function rec4(n: number, port = 6881): Uint8Array {
  return new Uint8Array([10, (n >> 16) & 255, (n >> 8) & 255, n & 255, port >> 8, port & 255]);
}
function rec6(n: number, port = 6881): Uint8Array {
  const b = new Uint8Array(18);
  b[0] = 0x20; b[1] = 0x01;
  b[13] = (n >> 16) & 255; b[14] = (n >> 8) & 255; b[15] = n & 255;
  b[16] = port >> 8; b[17] = port & 255;
  return b;
}
const PID = new Uint8Array(20).fill(0x2d);

/** The result of the last announce() below (the store fills the caller's result object). */
const last = new AnnounceResult();
const op = new StoreAnnounce();

/** One announce as the rules would hand it over (events mapped to leaving / completed as they do). */
function announce(s: MemoryStore, t: number, peer: number, opts: { seeder?: boolean; event?: 0 | 1 | 2 | 3 | 4; numwant?: number; now?: number; family?: 4 | 6; both?: boolean; port?: number; peerId?: Uint8Array } = {}) {
  const fam = opts.family ?? 4;
  op.infoHash = ih(t);
  op.family = fam;
  op.record = fam === 4 ? rec4(peer, opts.port) : rec6(peer, opts.port);
  op.peerId = opts.peerId ?? PID;
  op.seeder = opts.seeder ?? false;
  op.leaving = opts.event === EVENT_STOPPED;
  op.completed = opts.event === EVENT_COMPLETED;
  op.numwant = opts.numwant ?? 50;
  op.bothFamilies = opts.both ?? false;
  op.now = opts.now ?? 1;
  last.reset();
  return s.announce(op, last);
}
function answered(fam: 4 | 6): string[] {
  const out = new Uint8Array(20000);
  const n = last.peers(fam).writeCompact(out, 0);
  const stride = fam === 4 ? 6 : 18;
  const list: string[] = [];
  for (let o = 0; o < n; o += stride) list.push(Buffer.from(out.subarray(o, o + stride)).toString("hex"));
  return list;
}
/** A torrent's counts, read the way a scrape reads them. */
function counts(s: MemoryStore, t: number): { complete: number; downloaded: number; incomplete: number } {
  const r = new ScrapeResult(1);
  s.scrape(ih(t), 0, 1, r);
  return { complete: r.complete[0]!, downloaded: r.downloaded[0]!, incomplete: r.incomplete[0]! };
}

describe("MemoryStore", () => {
  test("counts seeders and leechers, and moves a peer between them", () => {
    const s = new MemoryStore(limits);
    announce(s, 1, 1, { event: EVENT_STARTED });
    announce(s, 1, 2, { seeder: true });
    expect([last.complete, last.incomplete]).toEqual([1, 1]);
    announce(s, 1, 1, { seeder: true, event: EVENT_COMPLETED });
    expect([last.complete, last.incomplete, last.downloaded]).toEqual([2, 0, 1]);
    announce(s, 1, 2, { seeder: false });
    expect([last.complete, last.incomplete]).toEqual([1, 1]);
  });

  test("completed counts once per peer", () => {
    const s = new MemoryStore(limits);
    announce(s, 1, 1, { event: EVENT_COMPLETED, seeder: true });
    announce(s, 1, 1, { event: EVENT_COMPLETED, seeder: true });
    announce(s, 1, 2, { event: EVENT_COMPLETED, seeder: true });
    expect(last.downloaded).toBe(2);
  });

  test("stopped removes the peer; an unknown torrent is not created by stopped", () => {
    const s = new MemoryStore(limits);
    announce(s, 1, 1);
    announce(s, 1, 2);
    announce(s, 1, 1, { event: EVENT_STOPPED });
    expect([last.complete, last.incomplete]).toEqual([0, 1]);
    expect(s.peerCount).toBe(1);
    announce(s, 9, 1, { event: EVENT_STOPPED });
    expect(s.findTorrent(ih(9), 0)).toBe(-1);
    announce(s, 1, 2, { event: EVENT_STOPPED });
    expect(s.torrentCount).toBe(0); // no peers and nothing downloaded: freed at once
  });

  test("a peer never gets itself back and sees the others", () => {
    const s = new MemoryStore(limits);
    for (let p = 0; p < 5; p++) announce(s, 1, p);
    for (let p = 0; p < 5; p++) {
      announce(s, 1, p);
      const got = answered(4);
      expect(got).toHaveLength(4);
      expect(got).not.toContain(Buffer.from(rec4(p)).toString("hex"));
      expect(new Set(got).size).toBe(4);
    }
  });

  test("numwant bounds the answer; the window wraps without duplicates", () => {
    const s = new MemoryStore(limits);
    for (let p = 0; p < 40; p++) announce(s, 1, p);
    for (let i = 0; i < 50; i++) {
      announce(s, 1, 1000, { numwant: 7 });
      const got = answered(4);
      expect(got).toHaveLength(7);
      expect(new Set(got).size).toBe(7);
    }
  });

  test("a known peer's answers, over many announces, reach every other peer and never itself", () => {
    const s = new MemoryStore(limits);
    for (let p = 0; p < 10; p++) announce(s, 1, p);
    const seen = new Map<string, number>();
    const me = Buffer.from(rec4(4)).toString("hex");
    for (let i = 0; i < 600; i++) {
      announce(s, 1, 4, { numwant: 3 });
      const got = answered(4);
      expect(got).toHaveLength(3);
      expect(new Set(got).size).toBe(3);
      expect(got).not.toContain(me);
      for (const g of got) seen.set(g, (seen.get(g) ?? 0) + 1);
    }
    expect(seen.size).toBe(9);
    for (const n of seen.values()) expect(n).toBeGreaterThan(20); // no peer starved
  });

  test("identity is (address, port): the same address on another port is another peer", () => {
    const s = new MemoryStore(limits);
    announce(s, 1, 1, { port: 1000 });
    announce(s, 1, 1, { port: 1001 });
    expect(last.incomplete).toBe(2);
    announce(s, 1, 1, { port: 1001 });
    expect(last.incomplete).toBe(2);
  });

  test("IPv4 and IPv6 peers live apart; bothFamilies returns both", () => {
    const s = new MemoryStore(limits);
    announce(s, 1, 1, { family: 4 });
    announce(s, 1, 2, { family: 6 });
    announce(s, 1, 3, { family: 4, both: false });
    expect(answered(4)).toHaveLength(1);
    expect(answered(6)).toHaveLength(0);
    announce(s, 1, 3, { family: 4, both: true });
    expect(answered(4)).toHaveLength(1);
    expect(answered(6)).toEqual([Buffer.from(rec6(2)).toString("hex")]);
    expect(last.complete + last.incomplete).toBe(3);
  });

  test("sweep expires silent peers and frees empty torrents after retention", () => {
    const s = new MemoryStore(limits);
    announce(s, 1, 1, { now: 10 });
    announce(s, 1, 2, { now: 10, event: EVENT_COMPLETED, seeder: true });
    announce(s, 2, 3, { now: 10 });
    announce(s, 1, 4, { now: 150 });
    while (!s.sweepSlice(160, 1)) { /* slices of one torrent */ }
    expect(s.lastSweep.removedPeers).toBe(3);
    expect(s.lastSweep.removedTorrents).toBe(1); // torrent 2: empty, nothing downloaded
    expect(s.peerCount).toBe(1);
    // torrent 1 keeps its downloaded count after emptying, until retention passes.
    announce(s, 1, 4, { now: 150, event: EVENT_STOPPED });
    s.sweepSlice(200, 100);
    const t = s.findTorrent(ih(1), 0);
    expect(t).toBeGreaterThanOrEqual(0);
    expect(counts(s, 1).downloaded).toBe(1);
    s.sweepSlice(150 + 1001, 100);
    expect(s.findTorrent(ih(1), 0)).toBe(-1);
    expect(s.torrentCount).toBe(0);
  });

  // Regression (issue 12): slices were bounded by torrents only, so one slice over a torrent of
  // millions of expired peers held the event loop for hundreds of ms. The bound is on peers now;
  // the time it takes is in bench/sweep.ts, not here.
  test("a sweep slice looks at no more than SWEEP_SLICE_PEERS peers, even inside one huge swarm", () => {
    const s = new MemoryStore(limits);
    const sizes = [1_200_000, 600_000, 200_000];
    let peer = 0;
    sizes.forEach((n, t) => {
      for (let k = 0; k < n; k++) announce(s, t, peer++, { now: 1, numwant: 0 });
    });
    const total = peer;
    expect(s.peerCount).toBe(total);
    let slices = 0;
    let before = s.peerCount;
    let more = true;
    // Ends with the one newcomer that announced at 1000, below.
    while (more || s.peerCount > 1) {
      more = s.sweepStep(1000); // every peer is long expired
      slices++;
      expect(before - s.peerCount).toBeLessThanOrEqual(SWEEP_SLICE_PEERS);
      before = s.peerCount;
      if (slices === 20) {
        // Announces land in a half-swept swarm: a newcomer is kept, a leaver leaves.
        expect(announce(s, 0, total + 1, { now: 1000 })).toBe(STORE_OK);
        announce(s, 0, 5, { now: 1000, event: EVENT_STOPPED });
        expect(s.verify()).toBeNull();
      }
      if (slices > 1000) throw new Error("the sweep does not finish");
    }
    expect(slices).toBeGreaterThanOrEqual(Math.ceil(total / SWEEP_SLICE_PEERS));
    expect(s.verify()).toBeNull();
    expect(s.peerCount).toBe(1);
    expect(s.torrentCount).toBe(1);
    expect(s.lastSweep.removedPeers).toBeGreaterThan(0);
    expect(s.lastSweep.longestSliceMicros).toBeGreaterThan(0);
    expect(s.longestSweepSliceMicros).toBeGreaterThanOrEqual(s.lastSweep.longestSliceMicros);
  }, 60_000);

  test("14-bit last-seen: coarse ticks for long timeouts, correct across the counter's wrap, flags kept apart", () => {
    const s = new MemoryStore({ ...limits, peerTimeout: 2700 }); // ticks of 10 s
    const t0 = (16_384 * 40 + 16_378) * 10; // tick ≡ 16378: the 14-bit counter wraps 60 s later
    // Peer 1 is a seeder whose `completed` was counted: both flag bits of its `seen` are set.
    announce(s, 1, 1, { now: t0, seeder: true, event: EVENT_COMPLETED });
    announce(s, 1, 2, { now: t0 + 2000 });
    s.sweepSlice(t0 + 2000, 100);
    expect(s.peerCount).toBe(2); // 2000 s old: kept, though the counter wrapped meanwhile
    s.sweepSlice(t0 + 2690, 100);
    expect(s.peerCount).toBe(2); // within the timeout (to the tick)
    expect(s.verify()).toBeNull();
    announce(s, 1, 1, { now: t0 + 2695, seeder: true, event: EVENT_COMPLETED });
    expect([last.complete, last.incomplete, last.downloaded]).toEqual([1, 1, 1]); // flags survived
    s.sweepSlice(t0 + 2000 + 2720, 100);
    expect(s.peerCount).toBe(1); // peer 2 is older than 2700 s: gone; peer 1 re-announced
    expect(last.complete).toBe(1);
    s.sweepSlice(t0 + 2695 + 2720, 100);
    expect(s.peerCount).toBe(0);
  });

  test("16-bit torrent activity: retention holds across the counter's wrap", () => {
    const s = new MemoryStore(limits); // retention 1000 s in ticks of 1 s: wraps every 65536 s
    const t0 = 65_536 * 3 + 65_300; // the counter wraps 236 s after the last announce
    announce(s, 1, 1, { now: t0, event: EVENT_COMPLETED, seeder: true });
    announce(s, 1, 1, { now: t0, event: EVENT_STOPPED });
    const t = s.findTorrent(ih(1), 0);
    expect(counts(s, 1).downloaded).toBe(1);
    s.sweepSlice(t0 + 500, 100);
    s.sweepSlice(t0 + 990, 100);
    expect(s.findTorrent(ih(1), 0)).toBe(t); // 990 s: its count is kept
    s.sweepSlice(t0 + 1010, 100);
    expect(s.findTorrent(ih(1), 0)).toBe(-1);
    expect(s.torrentCount).toBe(0); // its id is freed, not merely unindexed
  });

  test("peer ids are kept only from usePeerIds() on, and follow their peers when runs move", () => {
    const s = new MemoryStore(limits);
    for (let p = 0; p < 3; p++) announce(s, 1, p);
    expect(s.runs4.arena.pidLen).toBe(0); // nobody asked: no column
    expect(s.runs4.arena.peerId.length).toBe(0);
    s.usePeerIds();
    expect(s.runs4.arena.pidLen).toBe(20);
    const slotOf = (peer: number): number => s.runs4.arena.scan(s.runs4.off[s.findTorrent(ih(1), 0)]!, s.runs4.len[s.findTorrent(ih(1), 0)]!, rec4(peer), 0);
    for (let p = 0; p < 3; p++) expect(s.runs4.arena.hasPeerId(slotOf(p))).toBe(false); // not re-announced yet
    const idOf = (peer: number): Uint8Array => new Uint8Array(20).fill(peer + 1);
    announce(s, 1, 1, { peerId: idOf(1) });
    expect(s.runs4.arena.hasPeerId(slotOf(1))).toBe(true);
    // Grow the run through several classes (moves and in-place growth): ids move with peers.
    for (let p = 3; p < 40; p++) announce(s, 1, p, { peerId: idOf(p) });
    expect(s.verify()).toBeNull();
    for (let p = 3; p < 40; p++) {
      const q = slotOf(p);
      expect(Array.from(s.runs4.arena.peerId.subarray(q * 20, q * 20 + 20))).toEqual(Array.from(idOf(p)));
    }
    expect(s.runs4.arena.hasPeerId(slotOf(0))).toBe(false);
    expect(Array.from(s.runs4.arena.peerId.subarray(slotOf(1) * 20, slotOf(1) * 20 + 20))).toEqual(Array.from(idOf(1)));
  });

  test("freed runs are reused instead of growing the arena", () => {
    const s = new MemoryStore(limits);
    for (let t = 0; t < 100; t++) for (let p = 0; p < 3; p++) announce(s, t, p);
    const top = s.runs4.arena.top;
    for (let t = 0; t < 100; t++) for (let p = 0; p < 3; p++) announce(s, t, p, { event: EVENT_STOPPED });
    expect(s.peerCount).toBe(0);
    for (let t = 100; t < 200; t++) for (let p = 0; p < 3; p++) announce(s, t, p);
    expect(s.runs4.arena.top).toBe(top);
  });

  test("limits refuse newcomers cleanly", () => {
    const s = new MemoryStore({ ...limits, maxTorrents: 2, maxPeers: 3 });
    expect(announce(s, 1, 1)).toBe(STORE_OK);
    expect(announce(s, 2, 1)).toBe(STORE_OK);
    expect(announce(s, 3, 1)).toBe(STORE_FULL_TORRENTS);
    expect(announce(s, 1, 2)).toBe(STORE_OK);
    expect(announce(s, 1, 3)).toBe(STORE_FULL_PEERS);
    expect(announce(s, 1, 1)).toBe(STORE_OK); // a known peer still re-announces
  });

  test("an announce refused at max peers creates no torrent (regression: it left an empty one)", () => {
    const s = new MemoryStore({ ...limits, maxPeers: 2 });
    expect(announce(s, 1, 1)).toBe(STORE_OK);
    expect(announce(s, 1, 2)).toBe(STORE_OK);
    expect(announce(s, 2, 3)).toBe(STORE_FULL_PEERS);
    expect(s.findTorrent(ih(2), 0)).toBe(-1);
    expect(s.torrentCount).toBe(1);
    expect(announce(s, 3, 3, { event: EVENT_STOPPED })).toBe(STORE_OK); // leaving an unknown torrent
    expect(s.torrentCount).toBe(1);
    expect(s.verify()).toBeNull();
  });

  test("a 100k-peer swarm: every peer found again, answers valid", () => {
    const s = new MemoryStore(limits);
    const N = 100_000;
    for (let p = 0; p < N; p++) announce(s, 7, p, { seeder: p % 2 === 0 });
    expect(s.peerCount).toBe(N);
    expect([last.complete, last.incomplete]).toEqual([N / 2, N / 2]);
    for (let p = 0; p < N; p += 997) {
      announce(s, 7, p, { seeder: p % 2 === 0, numwant: 200 });
      const got = answered(4);
      expect(got).toHaveLength(200);
      expect(got).not.toContain(Buffer.from(rec4(p)).toString("hex"));
    }
    expect(s.peerCount).toBe(N);
    expect(s.verify()).toBeNull();
    for (let p = 0; p < N; p += 2) announce(s, 7, p, { event: EVENT_STOPPED });
    expect(s.verify()).toBeNull();
    expect([last.complete, last.incomplete]).toEqual([0, N / 2]);
  });

  test("swarms crossing the indexing threshold both ways keep every peer findable", () => {
    const s = new MemoryStore(limits);
    for (let round = 0; round < 3; round++) {
      for (let p = 0; p < 70; p++) {
        announce(s, 1, p, { seeder: p % 5 === 0 });
        expect(s.verify()).toBeNull();
      }
      // re-announcing never duplicates
      for (let p = 0; p < 70; p++) announce(s, 1, p, { seeder: p % 5 === 0 });
      expect(last.complete + last.incomplete).toBe(70);
      for (let p = 0; p < 69; p++) {
        announce(s, 1, p, { event: EVENT_STOPPED });
        expect(s.verify()).toBeNull();
      }
      expect(last.complete + last.incomplete).toBe(1);
      announce(s, 1, 69, { event: EVENT_STOPPED });
    }
    expect(s.runs4.arena.indexed).toBe(0);
  });

  test("without peer ids the table works the same and keeps no peer_id bytes", () => {
    const s = new MemoryStore({ ...limits, peerIds: false });
    s.usePeerIds(); // the operator said no: asking does not turn them on
    for (let p = 0; p < 40; p++) announce(s, 1, p, { seeder: p % 2 === 0 });
    for (let p = 0; p < 40; p += 3) announce(s, 1, p, { event: EVENT_STOPPED });
    expect(s.verify()).toBeNull();
    expect(s.runs4.arena.peerId.length).toBe(0);
    announce(s, 1, 1000, { numwant: 10 });
    expect(answered(4)).toHaveLength(10);
  });

  test("runs grow in place into free neighbours and shrink in place; holes are reused", () => {
    const s = new MemoryStore(limits);
    // Interleaved fill: 200 one-peer torrents side by side, then a second peer for each.
    for (let t = 0; t < 200; t++) announce(s, t, 0);
    const before = s.runs4.arena.top;
    for (let t = 0; t < 200; t++) announce(s, t, 1);
    expect(s.verify()).toBeNull();
    // Half of the torrents found a free neighbour (the hole another one left): far fewer than
    // 200 new two-slot runs were carved from the top.
    expect(s.runs4.arena.top - before).toBeLessThan(2 * 200);
    for (let t = 0; t < 200; t++) for (let p = 2; p < 40; p++) announce(s, t, p);
    expect(s.verify()).toBeNull();
    for (let t = 0; t < 200; t++) for (let p = 0; p < 39; p++) announce(s, t, p, { event: EVENT_STOPPED });
    expect(s.verify()).toBeNull();
    expect(s.peerCount).toBe(200);
    for (let t = 0; t < 200; t++) announce(s, t, 39, { event: EVENT_STOPPED });
    expect(s.peerCount).toBe(0);
    // Everything freed merged back and returned to the top.
    expect(s.runs4.arena.top).toBe(0);
  });

  test("IPv6 columns appear with the first IPv6 peer; torrents made before then work for IPv6", () => {
    const s = new MemoryStore(limits);
    for (let t = 0; t < 300; t++) announce(s, t, 1, { seeder: t % 2 === 0 });
    expect(s.runs6.len.length).toBe(0); // an IPv4-only table pays nothing for IPv6 runs
    expect(s.verify()).toBeNull();
    announce(s, 5, 9, { family: 6 });
    announce(s, 5, 10, { family: 6, both: true });
    expect(answered(6)).toEqual([Buffer.from(rec6(9)).toString("hex")]);
    expect(answered(4)).toEqual([Buffer.from(rec4(1)).toString("hex")]);
    expect([last.complete, last.incomplete]).toEqual([0, 3]);
    expect(s.runs6.len.length).toBeGreaterThanOrEqual(300);
    for (let t = 300; t < 2000; t++) announce(s, t, 2, { family: t % 3 === 0 ? 6 : 4 });
    expect(s.verify()).toBeNull();
    announce(s, 5, 9, { family: 6, event: EVENT_STOPPED });
    announce(s, 5, 10, { family: 6, event: EVENT_STOPPED });
    expect(s.verify()).toBeNull();
    expect(counts(s, 5).incomplete).toBe(1);
  });

  test("matches a simple model under random operations", () => {
    // Reference model: Map<torrent, Map<peer, {seeder}>>; the store must agree on every count.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const s = new MemoryStore({ ...limits, peerTimeout: 50 });
    const model = new Map<number, Map<string, { seeder: boolean; seen: number }>>();
    let now = 1;
    for (let i = 0; i < 100_000; i++) {
      if (i % 500 === 0) now += 7;
      const t = rnd(40);
      const fam: 4 | 6 = rnd(4) === 0 ? 6 : 4;
      const peer = rnd(60);
      const key = `${fam}:${peer}`;
      const op = rnd(10);
      const swarm = model.get(t) ?? new Map();
      if (op === 0) {
        announce(s, t, peer, { family: fam, event: EVENT_STOPPED, now });
        swarm.delete(key);
      } else {
        const seeder = rnd(3) === 0;
        announce(s, t, peer, { family: fam, seeder, now, numwant: rnd(30), both: rnd(2) === 0 });
        swarm.set(key, { seeder, seen: now });
        // the answer must not contain the announcer
        const me = Buffer.from(fam === 4 ? rec4(peer) : rec6(peer)).toString("hex");
        expect(answered(fam)).not.toContain(me);
      }
      model.set(t, swarm);
      if (i % 1000 === 0) expect(s.verify()).toBeNull();
      if (i % 3000 === 0) {
        while (!s.sweepSlice(now, 7)) { /* whole cycle */ }
        for (const sw of model.values()) for (const [k, v] of sw) if (v.seen < now - 50) sw.delete(k);
      }
      let seeders = 0;
      for (const v of swarm.values()) if (v.seeder) seeders++;
      if (op !== 0 || s.findTorrent(ih(t), 0) >= 0) {
        const tid = s.findTorrent(ih(t), 0);
        if (swarm.size === 0) continue;
        expect(tid).toBeGreaterThanOrEqual(0);
        expect(counts(s, t)).toMatchObject({ complete: seeders, incomplete: swarm.size - seeders });
      }
    }
    let total = 0;
    for (const sw of model.values()) total += sw.size;
    expect(s.peerCount).toBe(total);
  });
});

describe("MemoryStore: torrent filter", () => {
  test("refused torrents create nothing; a known torrent's verdict is asked once per filter", () => {
    const s = new MemoryStore(limits);
    let asked = 0;
    s.setTorrentFilter((h, off) => {
      asked++;
      return h[off + 3] === 1; // only ih(1)
    });
    expect(announce(s, 2, 1)).toBe(STORE_REFUSED_TORRENT);
    expect(s.torrentCount).toBe(0);
    expect(announce(s, 1, 1)).toBe(STORE_OK);
    asked = 0;
    for (let p = 2; p < 10; p++) expect(announce(s, 1, p)).toBe(STORE_OK);
    expect(asked).toBe(0); // created under this filter: remembered
    s.setTorrentFilter(() => false);
    expect(announce(s, 1, 1)).toBe(STORE_REFUSED_TORRENT); // a new filter forgets the verdicts
  });

  test("65,535 filter changes later (the generation counter wraps), an old verdict is not taken for a new one", () => {
    const s = new MemoryStore(limits);
    s.setTorrentFilter(() => true);
    expect(announce(s, 1, 1)).toBe(STORE_OK); // remembered in generation 1
    for (let i = 0; i < 0xffff; i++) s.setTorrentFilter(() => false); // ... back to generation 1
    expect(announce(s, 1, 1)).toBe(STORE_REFUSED_TORRENT);
  });
});

describe("MemoryStore: the full scrape's order, taken in steps", () => {
  test("torrents that come and go between the steps never break the order; those there throughout are all visited once", () => {
    const s = new MemoryStore(limits);
    for (let t = 1; t <= 1000; t++) announce(s, t * 7919, 1);
    const steps = s.orderTorrents(16); // small slices: many steps
    let created = 0;
    let step = steps.next();
    const gone = new Set<number>();
    for (let i = 0; !step.done; i++) {
      if (i % 3 === 0 && gone.size < 100) {
        const t = (1 + gone.size * 9) * 7919; // leaves (its only peer stops): the id is freed
        announce(s, t, 1, { event: EVENT_STOPPED });
        gone.add(t);
      }
      if (i % 4 === 0) announce(s, 5_000_000 + created++, 2); // new torrents, often on freed ids
      step = steps.next();
    }
    const order = step.value;
    const seen: number[] = [];
    order.visit(0, order.count, (h, off) => seen.push(new DataView(h.buffer, h.byteOffset + off, 4).getUint32(0)));
    // Strictly ascending by info_hash (the first 4 bytes here are distinct).
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    const stayed = Array.from({ length: 1000 }, (_, k) => (k + 1) * 7919).filter((t) => !gone.has(t));
    const visited = new Set(seen);
    for (const t of stayed) expect(visited.has(t)).toBe(true);
    expect(created).toBeGreaterThan(10);
    expect(gone.size).toBe(100);
  });

  test("in steps or at once, the same order", () => {
    const s = new MemoryStore(limits);
    for (let t = 0; t < 3000; t++) announce(s, (t * 2654435761) >>> 0, 1);
    const list = (o: ReturnType<MemoryStore["torrentsInHashOrder"]>) => {
      const out: string[] = [];
      o.visit(0, o.count, (h, off) => out.push(Buffer.from(h.subarray(off, off + 20)).toString("hex")));
      return out;
    };
    const steps = s.orderTorrents(7);
    let r = steps.next();
    while (!r.done) r = steps.next();
    const stepped = list(r.value);
    expect(stepped).toEqual(list(s.torrentsInHashOrder()));
    expect(stepped).toEqual([...stepped].sort());
    expect(stepped.length).toBe(3000);
  });
});
