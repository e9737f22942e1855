/**
 * Micro-benchmarks of the swarm store (mitata): announce into a table that already holds 1M
 * peers, announce into a 100k-peer swarm vs a 2-peer one, scrape look-ups, a sweep slice.
 * Run: npx bun run bench/swarm.bench.ts
 *
 * Also prints the heap before/after a million announces into the full table, to show the
 * announce path allocates nothing per request (the store's typed arrays are preallocated and
 * only grow when the table grows; re-announces of known peers never grow it).
 */
import { bench, do_not_optimize, group, run } from "mitata";
import { heapStats } from "bun:jsc";
import { AnnounceResult } from "../src/rules/results.ts";
import { MemoryStore } from "../src/store/memory/memory-store.ts";
import { StoreAnnounce } from "../src/store/store.ts";

const limits = { maxTorrents: 10_000_000, maxPeers: 50_000_000, peerTimeout: 2700, torrentRetention: 86400 };
const store = new MemoryStore(limits);
const TORRENTS = 200_000;
const PEERS = 1_000_000;
const ih = new Uint8Array(20 * TORRENTS);
for (let t = 0; t < TORRENTS; t++) {
  const v = new DataView(ih.buffer, t * 20, 20);
  v.setUint32(0, t * 2654435761);
  v.setUint32(4, t);
  v.setUint32(16, 0xabcdef);
}
const recs = new Uint8Array(6 * PEERS);
for (let p = 0; p < PEERS; p++) {
  const o = p * 6;
  recs[o] = 10; recs[o + 1] = (p >> 16) & 255; recs[o + 2] = (p >> 8) & 255; recs[o + 3] = p & 255;
  recs[o + 4] = 0x1a; recs[o + 5] = 0xe1;
}
const pid = new Uint8Array(20).fill(0x2d);
const now = Math.floor(Date.now() / 1000);
// One request object and one result object, reused, as the rules and an adapter keep them.
const op = new StoreAnnounce();
op.peerId = pid;
op.record = recs;
op.now = now;
const res = new AnnounceResult();
function announce(s: MemoryStore, hashes: Uint8Array, ihOff: number, recOff: number, seeder: boolean, numwant: number): void {
  op.infoHash = hashes;
  op.infoHashOff = ihOff;
  op.recordOff = recOff;
  op.seeder = seeder;
  op.numwant = numwant;
  s.announce(op, res);
}
// Skewed fill: torrent t gets peers with probability ~ 1/(t+1) (a few hot swarms, a long tail).
function torrentOf(p: number): number {
  const u = ((p * 2654435761) >>> 0) / 4294967296;
  return Math.min(TORRENTS - 1, Math.floor(Math.pow(TORRENTS, u)) - 1);
}
const t0 = performance.now();
for (let p = 0; p < PEERS; p++) {
  announce(store, ih, torrentOf(p) * 20, p * 6, p % 3 === 0, 50);
}
console.log(`filled ${store.peerCount} peers in ${store.torrentCount} torrents in ${(performance.now() - t0).toFixed(0)} ms; store ${(store.figures().bytes / 1048576).toFixed(1)} MiB`);

// A 100k-peer swarm and a 2-peer swarm, for the "same cost" claim.
const big = new MemoryStore(limits);
const bigIh = new Uint8Array(20).fill(1);
const smallIh = new Uint8Array(20).fill(2);
for (let p = 0; p < 100_000; p++) announce(big, bigIh, 0, p * 6, false, 0);
announce(big, smallIh, 0, 0, false, 0);
announce(big, smallIh, 0, 6, false, 0);

const out = new Uint8Array(4096);
let i = 0;
group("announce (re-announce of a known peer, 50 peers answered)", () => {
  bench("table of 1M peers / 200k torrents", () => {
    const p = (i = (i + 7919) % PEERS);
    announce(store, ih, torrentOf(p) * 20, p * 6, p % 3 === 0, 50);
    do_not_optimize(res.peers4.writeCompact(out, 0));
  });
  bench("into a 100k-peer swarm", () => {
    const p = (i = (i + 7919) % 100_000);
    announce(big, bigIh, 0, p * 6, false, 50);
    do_not_optimize(res.peers4.writeCompact(out, 0));
  });
  bench("into a 2-peer swarm", () => {
    const p = (i = (i + 1) & 1);
    announce(big, smallIh, 0, p * 6, false, 50);
    do_not_optimize(res.peers4.writeCompact(out, 0));
  });
});

group("scrape look-up", () => {
  bench("findTorrent (hit)", () => do_not_optimize(store.findTorrent(ih, ((i = (i + 7) % TORRENTS)) * 20)));
});

group("sweep", () => {
  bench("sweepSlice of 4096 torrents (nothing expired)", () => do_not_optimize(store.sweepSlice(now, 4096)));
});

// Heap before/after a million re-announces: no per-request allocation on this path.
Bun.gc(true);
const before = heapStats().heapSize;
for (let k = 0; k < 1_000_000; k++) {
  const p = (k * 7919) % PEERS;
  announce(store, ih, torrentOf(p) * 20, p * 6, p % 3 === 0, 50);
  res.peers4.writeCompact(out, 0);
}
const afterNoGc = heapStats().heapSize;
console.log(`heap before 1M announces: ${(before / 1048576).toFixed(2)} MiB, after (no GC in between forced): ${(afterNoGc / 1048576).toFixed(2)} MiB, growth ${((afterNoGc - before) / 1024).toFixed(1)} KiB`);

await run();
