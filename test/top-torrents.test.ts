/**
 * The largest swarms, kept by the in-memory store's sweep (store/memory/top-swarms.ts and
 * MemoryStore.topTorrents), and the seeders/peers each sweep cycle counts: what the dashboard
 * shows without walking the torrents.
 */
import { describe, expect, test } from "bun:test";
import { AnnounceResult } from "../src/rules/results.ts";
import { MemoryStore, NOTE_EVERY_SECONDS, TOP_SWARMS } from "../src/store/memory/memory-store.ts";
import { TopSwarms } from "../src/store/memory/top-swarms.ts";
import { StoreAnnounce } from "../src/store/store.ts";

const limits = { maxTorrents: 100_000, maxPeers: 1_000_000, peerTimeout: 100, torrentRetention: 1000 };

function ih(n: number): Uint8Array {
  const b = new Uint8Array(20);
  new DataView(b.buffer).setUint32(0, n);
  b[19] = 0xab;
  return b;
}
const hex = (n: number) => Buffer.from(ih(n)).toString("hex");

const op = new StoreAnnounce();
const res = new AnnounceResult();

function announce(s: MemoryStore, t: number, peer: number, o: { seeder?: boolean; leave?: boolean; now?: number } = {}): void {
  op.infoHash = ih(t);
  op.family = 4;
  op.record = new Uint8Array([10, (peer >> 16) & 255, (peer >> 8) & 255, peer & 255, 0x1a, 0xe1]);
  op.seeder = o.seeder ?? false;
  op.leaving = o.leave ?? false;
  op.completed = false;
  op.numwant = 0;
  op.now = o.now ?? 1;
  res.reset();
  s.announce(op, res);
}

/** Torrent t gets `n` peers, the first `seeders` of them seeders. */
function swarm(s: MemoryStore, t: number, n: number, seeders = 0): void {
  for (let p = 0; p < n; p++) announce(s, t, t * 1000 + p, { seeder: p < seeders });
}

/** A whole sweep cycle at `now` (a cycle notes the figures NOTE_EVERY_SECONDS after the last that did). */
function fullCycle(s: MemoryStore, now: number): void {
  let slices = 0;
  while (!s.sweepSlice(now, 3)) if (++slices > 10_000) throw new Error("the sweep does not finish");
}

describe("TopSwarms", () => {
  const hash = (n: number) => ih(n);

  test("keeps the largest, largest first, ties keep the earlier; floor is 0 until full", () => {
    const top = new TopSwarms(3);
    expect(top.floor).toBe(0);
    top.offer(1, 5, hash(1), 0);
    top.offer(2, 9, hash(2), 0);
    expect(top.floor).toBe(0);
    top.offer(3, 5, hash(3), 0);
    expect(top.floor).toBe(5);
    top.offer(4, 5, hash(4), 0); // a tie with the smallest: not kept
    top.offer(5, 7, hash(5), 0);
    top.offer(6, 0, hash(6), 0); // never an empty swarm
    expect(Array.from(top.ids.subarray(0, top.count))).toEqual([2, 5, 1]);
    expect(Array.from(top.peers.subarray(0, top.count))).toEqual([9, 7, 5]);
    expect(top.hexHash(1)).toBe(hex(5));
    expect(top.sameHash(2, hash(1), 0)).toBe(true);
    expect(top.sameHash(2, hash(3), 0)).toBe(false);
    top.clear();
    expect(top.count).toBe(0);
  });
});

describe("MemoryStore.topTorrents", () => {
  test("empty before the first sweep cycle; then the largest swarms with their counts now", () => {
    const s = new MemoryStore(limits);
    swarm(s, 1, 3, 1);
    swarm(s, 2, 8, 2);
    swarm(s, 3, 5, 5);
    expect(s.topTorrents(10)).toEqual([]);
    fullCycle(s, 2);
    expect(s.topTorrents(10)).toEqual([
      { infoHash: hex(2), seeders: 2, leechers: 6, downloaded: 0 },
      { infoHash: hex(3), seeders: 5, leechers: 0, downloaded: 0 },
      { infoHash: hex(1), seeders: 1, leechers: 2, downloaded: 0 },
    ]);
    expect(s.topTorrents(2).map((t) => t.infoHash)).toEqual([hex(2), hex(3)]);
    // Counts are read now: torrent 1 grows past the others before the next cycle.
    swarm(s, 1, 12, 1);
    expect(s.topTorrents(1)).toEqual([{ infoHash: hex(1), seeders: 1, leechers: 11, downloaded: 0 }]);
    // The cycle also counted peers and seeders on its way.
    expect(s.lastSweep.peers).toBe(16);
    expect(s.lastSweep.seeders).toBe(8);
  });

  test("keeps TOP_SWARMS, the largest of many", () => {
    const s = new MemoryStore(limits);
    for (let t = 1; t <= 40; t++) swarm(s, t, t % 17 + 1);
    fullCycle(s, 2);
    const top = s.topTorrents(100);
    expect(top.length).toBe(TOP_SWARMS);
    const sizes = top.map((t) => t.seeders + t.leechers);
    // Sizes 1..17, twice or three times each: the ten largest are two of each from 17 down to 13.
    expect(sizes).toEqual([17, 17, 16, 16, 15, 15, 14, 14, 13, 13]);
  });

  test("a torrent gone since the cycle is left out, also when its id went to another torrent", () => {
    const s = new MemoryStore(limits);
    swarm(s, 1, 4);
    swarm(s, 2, 2);
    fullCycle(s, 2);
    expect(s.topTorrents(10).length).toBe(2);
    for (let p = 0; p < 4; p++) announce(s, 1, 1000 + p, { leave: true }); // torrent 1 is freed
    expect(s.topTorrents(10).map((t) => t.infoHash)).toEqual([hex(2)]);
    swarm(s, 9, 1); // takes torrent 1's freed id
    expect(s.topTorrents(10).map((t) => t.infoHash)).toEqual([hex(2)]);
    fullCycle(s, 2 + NOTE_EVERY_SECONDS);
    expect(s.topTorrents(10).map((t) => t.infoHash)).toEqual([hex(2), hex(9)]);
  });

  test("a cycle notes the figures only NOTE_EVERY_SECONDS after the last that did; the others pass them on", () => {
    const s = new MemoryStore(limits);
    swarm(s, 1, 2, 1);
    fullCycle(s, 10);
    swarm(s, 2, 5, 5);
    fullCycle(s, 10 + NOTE_EVERY_SECONDS - 1); // too soon: the figures of the cycle at 10 stay
    expect(s.topTorrents(10).map((t) => t.infoHash)).toEqual([hex(1)]);
    expect([s.lastSweep.peers, s.lastSweep.seeders]).toEqual([2, 1]);
    fullCycle(s, 10 + NOTE_EVERY_SECONDS);
    expect(s.topTorrents(10).map((t) => t.infoHash)).toEqual([hex(2), hex(1)]);
    expect([s.lastSweep.peers, s.lastSweep.seeders]).toEqual([7, 6]);
  });

  test("a cycle that expires every peer leaves an empty list and zero counts", () => {
    const s = new MemoryStore(limits);
    swarm(s, 1, 3, 1);
    fullCycle(s, 2);
    fullCycle(s, 1000); // past the peer timeout
    expect(s.topTorrents(10)).toEqual([]);
    expect(s.lastSweep.peers).toBe(0);
    expect(s.lastSweep.seeders).toBe(0);
  });
});
