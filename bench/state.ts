/**
 * The state file at size: fill the in-memory store with --peers peers in --torrents torrents
 * (default sc6's 760,000 in 520,000), write the state file as the running tracker does while a
 * 1 ms timer measures how long the event loop is held at once, then restore it into a fresh
 * store. Prints the file size, the write and restore times, and the longest loop stall.
 *
 *   npx bun run bench/state.ts [--peers N] [--torrents N] [--dir DIR]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseOptions } from "./cli-args.ts";
import { AnnounceResult } from "../src/rules/results.ts";
import { LoopStallMonitor } from "../src/operator/loop-stall.ts";
import { MemoryStore } from "../src/store/memory/memory-store.ts";
import { restoreState, saveState } from "../src/store/state-file.ts";
import { StoreAnnounce } from "../src/store/store.ts";

const { peers, torrents, dir } = parseOptions(
  Bun.argv.slice(2),
  "usage: npx bun run bench/state.ts [--peers N] [--torrents N] [--dir DIR]",
  { peers: [760_000, 1, 50_000_000], torrents: [520_000, 1, 10_000_000] },
  { dir: null },
);
const workDir = dir ?? mkdtempSync(join(tmpdir(), "sc6-state-bench-"));
const path = join(workDir, "state");

const limits = { maxTorrents: 20_000_000, maxPeers: 60_000_000, peerTimeout: 2700, torrentRetention: 86_400 };
const store = new MemoryStore(limits);
const now = Math.floor(Date.now() / 1000);
const op = new StoreAnnounce();
op.infoHash = new Uint8Array(20);
op.peerId = new Uint8Array(20);
op.now = now;
const res = new AnnounceResult();
const ih = new DataView(op.infoHash.buffer);
// Every torrent gets one peer, the rest go to torrents at random (sc6's 1.46 peers a torrent).
for (let p = 0; p < peers; p++) {
  const t = p < torrents ? p : Math.floor(Math.random() * torrents);
  ih.setUint32(0, t);
  ih.setUint32(4, t * 2654435761);
  const r = op.record;
  r[0] = 10; r[1] = (p >> 16) & 255; r[2] = (p >> 8) & 255; r[3] = p & 255; r[4] = (p >> 24) & 255; r[5] = 1;
  op.seeder = (p & 1) === 0;
  store.announce(op, res);
}
console.log(`filled ${store.peerCount} peers in ${store.torrentCount} torrents`);

// How long the loop is held at once while the write runs (the tracker's own monitor, 1 ms tick).
const stalls = new LoopStallMonitor(1);
const saved = await saveState(path, store, 299, now);
stalls.stop();
console.log(
  `write: ${(saved.bytes / 1e6).toFixed(1)} MB in ${saved.millis.toFixed(0)} ms (with fsync and rename); ` +
    `longest event-loop stall meanwhile ${stalls.longestEverMs.toFixed(1)} ms`,
);

const fresh = new MemoryStore(limits);
const t0 = performance.now();
const out = restoreState(path, fresh, now + 60);
const restoreMs = performance.now() - t0;
if (out.kind !== "restored") throw new Error(`restore failed: ${JSON.stringify(out)}`);
console.log(`restore: ${out.report.torrents} torrents, ${out.report.peers} peers in ${restoreMs.toFixed(0)} ms (at start, before listening)`);
if (dir === null) rmSync(workDir, { recursive: true, force: true });
