/**
 * Micro-benchmarks of the announce path as the adapters run it (mitata): an HTTP-style and a
 * UDP-style announce through TrackerRules into the in-memory store, with the compact answer
 * copied out, beside the same announce straight into the store. The difference is what the
 * rules layer costs per request (numwant, events, the request/result hand-over).
 * Run: npx bun run bench/rules.bench.ts
 *
 * Also prints the heap before/after a million announces through the rules: the layer must not
 * allocate per request.
 */
import { heapStats } from "bun:jsc";
import { bench, do_not_optimize, group, run } from "mitata";
import { parseCommandLine } from "../src/config/config.ts";
import { EVENT_NONE } from "../src/protocol/events.ts";
import { AnnounceRequest } from "../src/rules/requests.ts";
import { AnnounceResult } from "../src/rules/results.ts";
import { TrackerRules } from "../src/rules/tracker-rules.ts";
import { StoreAnnounce } from "../src/store/store.ts";

// The per-address limit stays on (the peers' addresses are 10.x.y.z), high enough never to
// refuse: its lookup is part of what is measured.
const cli = parseCommandLine(["0", "--quiet", "--announces-per-minute", "100000000"], {});
if (cli.kind !== "run") throw new Error("config");
const rules = new TrackerRules(cli.config);
const TORRENTS = 100_000;
const PEERS = 500_000;
const hashes = new Uint8Array(20 * TORRENTS);
for (let t = 0; t < TORRENTS; t++) {
  const v = new DataView(hashes.buffer, t * 20, 20);
  v.setUint32(0, t * 2654435761);
  v.setUint32(4, t);
}
const torrentOf = (p: number): number => (p * 7) % TORRENTS;
const peerId = new Uint8Array(20).fill(0x2d);

const req = new AnnounceRequest();
req.infoHash = hashes;
req.peerId = peerId;
req.event = EVENT_NONE;
const res = new AnnounceResult();
function viaRules(p: number, both: boolean): void {
  req.infoHashOff = torrentOf(p) * 20;
  req.family = 4;
  const r = req.record;
  r[0] = 10; r[1] = (p >> 16) & 255; r[2] = (p >> 8) & 255; r[3] = p & 255; r[4] = 0x1a; r[5] = 0xe1;
  req.leftIsZero = p % 3 === 0;
  req.numwant = -1;
  req.bothFamilies = both;
  rules.announce(req, res);
}

const op = new StoreAnnounce();
op.infoHash = hashes;
op.peerId = peerId;
op.numwant = 50;
op.now = Math.floor(Date.now() / 1000);
function direct(p: number): void {
  op.infoHashOff = torrentOf(p) * 20;
  const r = op.record;
  r[0] = 10; r[1] = (p >> 16) & 255; r[2] = (p >> 8) & 255; r[3] = p & 255; r[4] = 0x1a; r[5] = 0xe1;
  op.seeder = p % 3 === 0;
  rules.store.announce(op, res);
}

for (let p = 0; p < PEERS; p++) viaRules(p, true);
console.log(`filled ${rules.store.peerCount} peers in ${rules.store.torrentCount} torrents`);

const out = new Uint8Array(4096);
let i = 0;
group(`re-announce into ${PEERS / 1000}k peers / ${TORRENTS / 1000}k torrents, compact answer copied`, () => {
  bench("through the rules, HTTP-style (both families)", () => {
    viaRules((i = (i + 7919) % PEERS), true);
    do_not_optimize(res.peers4.writeCompact(out, 0));
  });
  bench("through the rules, UDP-style (one family)", () => {
    viaRules((i = (i + 7919) % PEERS), false);
    do_not_optimize(res.peers4.writeCompact(out, 0));
  });
  bench("straight into the store", () => {
    direct((i = (i + 7919) % PEERS));
    do_not_optimize(res.peers4.writeCompact(out, 0));
  });
});

Bun.gc(true);
const before = heapStats().heapSize;
for (let k = 0; k < 1_000_000; k++) {
  viaRules((k * 7919) % PEERS, true);
  res.peers4.writeCompact(out, 0);
}
const after = heapStats().heapSize;
console.log(`heap before 1M announces through the rules: ${(before / 1048576).toFixed(2)} MiB, after (no GC forced): ${(after / 1048576).toFixed(2)} MiB, growth ${((after - before) / 1024).toFixed(1)} KiB`);

await run();
