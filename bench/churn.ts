/**
 * How the peer arena's layout holds up under churn, in process (no sockets, no clock).
 *
 *   bun run bench/churn.ts [--peers N] [--universe U] [--turnovers K] [--seed S]
 *
 * Fills a swarm store with N peers (default 760,000, sc6's figure) spread over a universe of U
 * torrents (default 1,000,000) by Zipf popularity (exponent 1), then replaces peers one at a
 * time — a random peer announces `stopped`, a new peer announces to a Zipf-chosen torrent —
 * N times per turnover. The population and its distribution stay the same throughout (torrents
 * die and are born as their last peer leaves or a first one arrives), so whatever grows is
 * the layout's own drift. After the fill and after every turnover it prints the arena's slots
 * per live peer, split into run slack (capacity of live runs not in use: runs are powers of
 * two) and free runs (holes on the free lists), and the store's typed-array bytes. Ends with a
 * full structural verify().
 */
import { EVENT_NONE, EVENT_STOPPED } from "../src/protocol/events.ts";
import { MAX_CLASS } from "../src/store/memory/peer-arena.ts";
import { AnnounceResult } from "../src/rules/results.ts";
import { MemoryStore } from "../src/store/memory/memory-store.ts";
import { StoreAnnounce } from "../src/store/store.ts";
import { intArg } from "./cli-args.ts";
import { Rng, ZipfSampler } from "./load/rng.ts";

interface ChurnOptions {
  peers: number;
  universe: number;
  turnovers: number;
  seed: number;
}

const USAGE = "Usage: bun run bench/churn.ts [--peers N] [--universe U] [--turnovers K] [--seed S]";

function parseArgs(argv: string[]): ChurnOptions {
  const o: ChurnOptions = { peers: 760_000, universe: 1_000_000, turnovers: 4, seed: 11 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!;
    const value = argv[i + 1];
    if (value === undefined) fail(`${name} needs a value`);
    const int = (min: number, max: number): number => intArg(name, value, min, max, fail);
    switch (name) {
      case "--peers": o.peers = int(1, 10_000_000); break;
      case "--universe": o.universe = int(1, 10_000_000); break;
      case "--turnovers": o.turnovers = int(0, 100); break;
      case "--seed": o.seed = int(0, 0xffff_ffff); break;
      default: fail(`unknown option ${name}`);
    }
  }
  return o;
}

function fail(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  process.exit(2);
}

const o = parseArgs(Bun.argv.slice(2));
const store = new MemoryStore({ maxTorrents: 10_000_000, maxPeers: 20_000_000, peerTimeout: 2700, torrentRetention: 0 });
const rng = new Rng(o.seed);
const zipf = new ZipfSampler(o.universe, 1);
// Peer i: its torrent and its address (10.x.y.z, unique while it lives).
const torrentOf = new Int32Array(o.peers);
const addressOf = new Int32Array(o.peers);
let nextAddress = 1;
const ih = new Uint8Array(20);
const rec = new Uint8Array(6);
const peerId = new Uint8Array(20);
const op = new StoreAnnounce();
op.infoHash = ih;
op.record = rec;
op.peerId = peerId;
op.now = 1;
const res = new AnnounceResult();

function announce(t: number, address: number, event: number): void {
  new DataView(ih.buffer).setUint32(0, t);
  ih[19] = 0x77;
  rec[0] = 10;
  rec[1] = (address >> 16) & 255;
  rec[2] = (address >> 8) & 255;
  rec[3] = address & 255;
  rec[4] = 0x1a;
  rec[5] = 0xe1;
  op.seeder = (address & 1) === 1;
  op.leaving = event === EVENT_STOPPED;
  store.announce(op, res);
}

/** Slots per live peer: all of the arena below its top, its run slack, its free runs. */
function layout(label: string): void {
  const arena = store.runs4.arena;
  const live = store.peerCount;
  let free = 0;
  for (let c = 0; c <= MAX_CLASS; c++) free += arena.validFreeRuns(c) << c;
  const slack = arena.top - live - free;
  console.log(
    `${label.padEnd(16)} peers ${live}  torrents ${store.torrentCount}  arena top ${arena.top}  ` +
      `slots/peer ${(arena.top / live).toFixed(2)} (run slack ${(slack / live).toFixed(2)}, free runs ${(free / live).toFixed(2)})  ` +
      `store ${(store.figures().bytes / 1048576).toFixed(1)} MiB`,
  );
}

const start = performance.now();
for (let i = 0; i < o.peers; i++) {
  torrentOf[i] = zipf.sample(rng);
  addressOf[i] = nextAddress++ & 0xffffff;
  announce(torrentOf[i]!, addressOf[i]!, EVENT_NONE);
}
layout("filled");
for (let r = 1; r <= o.turnovers; r++) {
  for (let k = 0; k < o.peers; k++) {
    const i = rng.below(o.peers);
    announce(torrentOf[i]!, addressOf[i]!, EVENT_STOPPED);
    torrentOf[i] = zipf.sample(rng);
    addressOf[i] = nextAddress++ & 0xffffff;
    announce(torrentOf[i]!, addressOf[i]!, EVENT_NONE);
  }
  layout(`turnover ${r}`);
}
const problem = store.verify();
console.log(`verify: ${problem ?? "ok"}  (${((performance.now() - start) / 1000).toFixed(1)} s)`);
process.exitCode = problem === null ? 0 : 1;
