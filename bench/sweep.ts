/**
 * How long one sweep slice holds the event loop when everything has expired at once: fill the
 * in-memory store with --peers peers in --torrents torrents (default 5,000,000 in 3: a few huge
 * swarms, the worst case for a sweep bounded by torrents), let them all expire, then sweep in
 * slices as the tracker does (sweepStep until the cycle is done) and print the slice times.
 *
 *   npx bun run bench/sweep.ts [--peers N] [--torrents N]
 *
 * The goal (issue 12): no slice above 10 ms; the whole backlog gone in many short slices.
 */
import { parseOptions } from "./cli-args.ts";
import { AnnounceResult } from "../src/rules/results.ts";
import { MemoryStore, SWEEP_SLICE_PEERS } from "../src/store/memory/memory-store.ts";
import { StoreAnnounce } from "../src/store/store.ts";

const { peers, torrents } = parseOptions(Bun.argv.slice(2), "usage: npx bun run bench/sweep.ts [--peers N] [--torrents N]", {
  peers: [5_000_000, 1, 50_000_000],
  torrents: [3, 1, 1_000_000],
});

const store = new MemoryStore({ maxTorrents: 10_000_000, maxPeers: 60_000_000, peerTimeout: 2700, torrentRetention: 0 });
const op = new StoreAnnounce();
op.infoHash = new Uint8Array(20);
op.peerId = new Uint8Array(20);
op.now = 1_000_000;
const res = new AnnounceResult();
const ih = new DataView(op.infoHash.buffer);
const rec = op.record;
const t0 = performance.now();
for (let p = 0; p < peers; p++) {
  ih.setUint32(0, p % torrents);
  rec[0] = 10; rec[1] = (p >> 16) & 255; rec[2] = (p >> 8) & 255; rec[3] = p & 255;
  rec[4] = (p >> 24) & 255; rec[5] = 1; // the port's high byte keeps addresses beyond 2^24 distinct
  store.announce(op, res);
}
console.log(`filled ${store.peerCount} peers in ${store.torrentCount} torrents in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// Every peer is long expired at `later`: sweep as the tracker does, slice after slice.
const later = op.now + 10_000;
const times: number[] = [];
const start = performance.now();
let more = true;
while (more || store.peerCount > 0) {
  const s = performance.now();
  more = store.sweepStep(later);
  times.push(performance.now() - s);
  if (times.length > 100_000) throw new Error("the sweep does not finish");
}
const total = performance.now() - start;
times.sort((a, b) => a - b);
const q = (f: number) => times[Math.min(times.length - 1, Math.floor(f * times.length))]!.toFixed(2);
console.log(
  `swept ${peers} expired peers in ${times.length} slices of at most ${SWEEP_SLICE_PEERS} peers, ` +
    `${(total / 1000).toFixed(2)} s in all; slice ms: median ${q(0.5)}, p99 ${q(0.99)}, max ${times[times.length - 1]!.toFixed(2)}`,
);
console.log(`store: ${store.peerCount} peers, ${store.torrentCount} torrents left; longest slice ${store.longestSweepSliceMicros} µs`);
