/**
 * What an info_hash access list costs (src/access/info-hash-list.ts): parse time, memory held,
 * and the price of one has() on the announce path.
 *
 *   npx bun run bench/access-list.ts [--entries N] [--lookups N]
 *
 * Builds the text of a list file with N random hex info_hashes (default 1,000,000; a header
 * comment, a trailing comment every 1,000 lines, a commented-out line and a blank line every
 * 10,000), then:
 *   parse     median of 5 parses of the whole text
 *   memory    set.bytes, and the growth of the JS heap and of RSS over one parse, each
 *             after Bun.gc(true) (the text itself is allocated before the baseline)
 *   has()     ns per lookup over --lookups lookups (default 4,000,000) of listed keys picked
 *             at random (hits) and of random keys (misses), cycling through up to 2^20 of each
 */
import { parseOptions } from "./cli-args.ts";
import { type InfoHashSet, parseInfoHashList } from "../src/access/info-hash-list.ts";

const { entries, lookups } = parseOptions(Bun.argv.slice(2), "usage: npx bun run bench/access-list.ts [--entries N] [--lookups N]", {
  entries: [1_000_000, 1, 20_000_000],
  lookups: [4_000_000, 1, 1_000_000_000],
});

const KEY = 20;
const RUNS = 5;
const MB = 1024 * 1024;
/** Distinct keys each lookup run cycles through (fewer when the list is shorter). */
const PROBES = 1 << 20;

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) crypto.getRandomValues(b.subarray(o, Math.min(n, o + 65536)));
  return b;
}

/** The list file's text for the packed keys, with comments and blank lines sprinkled in. */
function listText(keys: Uint8Array, n: number): string {
  const lines: string[] = ["# access list made by bench/access-list.ts"];
  for (let k = 0; k < n; k++) {
    const hex = Buffer.from(keys.buffer, keys.byteOffset + k * KEY, KEY).toString("hex");
    if (k % 10_000 === 0) lines.push("", `# ${hex}  (removed)`);
    lines.push(k % 1_000 === 0 ? `${hex}  # entry ${k}` : hex);
  }
  return lines.join("\n") + "\n";
}

function parseOrDie(text: string): InfoHashSet {
  const r = parseInfoHashList(text);
  if (!r.ok) throw new Error(`line ${r.line}: ${r.reason}: ${r.content}`);
  return r.set;
}

/** RSS and JS heap in MB after a full collection (and a pause for the allocator to return pages). */
function memoryMB(): [rss: number, heap: number] {
  Bun.gc(true);
  Bun.sleepSync(500);
  const m = process.memoryUsage();
  return [m.rss / MB, m.heapUsed / MB];
}

/** ns per has() over `total` lookups cycling through the `n` keys packed in `probes`; and the hits. */
function timeLookups(set: InfoHashSet, probes: Uint8Array, n: number, total: number): [ns: number, hits: number] {
  let hits = 0;
  let k = 0;
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < total; i++) {
    if (set.has(probes, k * KEY)) hits++;
    if (++k === n) k = 0;
  }
  return [(Bun.nanoseconds() - t0) / total, hits];
}

const keys = randomBytes(entries * KEY);
const text = listText(keys, entries);
console.log(`list: ${entries} info_hashes, ${(text.length / MB).toFixed(1)} MB of text`);

text.charCodeAt(0); // joined strings are flattened on first use: not part of the parse's cost
const [rss0, heap0] = memoryMB();
let set = parseOrDie(text);
const [rss1, heap1] = memoryMB();
if (set.size !== entries) throw new Error(`parsed ${set.size} keys, expected ${entries}`);
console.log(`memory: set.bytes ${(set.bytes / MB).toFixed(1)} MB (${(set.bytes / entries).toFixed(1)} B/entry); after one parse: heap +${(heap1 - heap0).toFixed(1)} MB, RSS +${(rss1 - rss0).toFixed(1)} MB`);

const times: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  set = parseOrDie(text);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const median = times[RUNS >> 1]!;
console.log(
  `parse: median ${median.toFixed(0)} ms of ${RUNS} (min ${times[0]!.toFixed(0)}, max ${times[RUNS - 1]!.toFixed(0)}); ` +
    `${((median * 1e6) / entries).toFixed(0)} ns/line`,
);

// Hits probe listed keys in random order (in list order, the keys would be read sequentially).
const probes = Math.min(entries, PROBES);
const listed = new Uint8Array(probes * KEY);
for (let p = 0; p < probes; p++) {
  const k = Math.floor(Math.random() * entries);
  listed.set(keys.subarray(k * KEY, (k + 1) * KEY), p * KEY);
}
const unlisted = randomBytes(probes * KEY);
timeLookups(set, listed, probes, Math.min(lookups, 200_000)); // warm-up, so the JIT has compiled has()
const [hitNs, hits] = timeLookups(set, listed, probes, lookups);
const [missNs, falseHits] = timeLookups(set, unlisted, probes, lookups);
if (hits !== lookups || falseHits !== 0) throw new Error(`lookups wrong: ${hits} hits of ${lookups}, ${falseHits} false hits`);
console.log(`has(): hit ${hitNs.toFixed(1)} ns/op, miss ${missNs.toFixed(1)} ns/op (${lookups} lookups each, cycling through ${probes} keys)`);

// ---- The announce path with the list in force, against access-mode off --------------------
// 500,000 peers in 100,000 torrents re-announce through TrackerRules (as bench/rules.bench.ts);
// three settings take turns, five rounds of ANNOUNCES each: off, allow with the list holding
// the 100,000 torrents among `entries` (every check a hit), deny with `entries` other hashes
// (every check a miss). The median per-round ratio against off is the list's cost per announce.
{
  const { parseCommandLine } = await import("../src/config/config.ts");
  const { AnnounceRequest } = await import("../src/rules/requests.ts");
  const { AnnounceResult } = await import("../src/rules/results.ts");
  const { ACCESS_ALLOW, ACCESS_DENY, ACCESS_OFF, TrackerRules } = await import("../src/rules/tracker-rules.ts");
  const cli = parseCommandLine(["0", "--quiet", "--announces-per-minute", "100000000"], {});
  if (cli.kind !== "run") throw new Error("config");
  const rules = new TrackerRules(cli.config);
  const TORRENTS = Math.min(100_000, entries);
  const PEERS = 500_000;
  const ANNOUNCES = 2_000_000;
  // The announced torrents are the list's first TORRENTS keys (random bytes already).
  const hashes = keys.subarray(0, TORRENTS * KEY);
  const allow = set;
  const deny = parseOrDie(listText(randomBytes(entries * KEY), entries));
  const req = new AnnounceRequest();
  req.infoHash = hashes;
  req.peerId = new Uint8Array(20).fill(0x2d);
  const res = new AnnounceResult();
  const announce = (p: number) => {
    req.infoHashOff = ((p * 7) % TORRENTS) * KEY;
    const r = req.record;
    r[0] = 10; r[1] = (p >> 16) & 255; r[2] = (p >> 8) & 255; r[3] = p & 255; r[4] = 0x1a; r[5] = 0xe1;
    req.leftIsZero = p % 3 === 0;
    rules.announce(req, res);
    if (res.refusal !== null) throw new Error(res.refusal);
  };
  for (let p = 0; p < PEERS; p++) announce(p);
  const settings = [
    ["off", () => rules.setAccess(ACCESS_OFF, null)],
    ["allow", () => rules.setAccess(ACCESS_ALLOW, allow)],
    ["deny", () => rules.setAccess(ACCESS_DENY, deny)],
  ] as const;
  const perRound: Record<string, number[]> = { off: [], allow: [], deny: [] };
  let p = 0;
  for (let round = 0; round < 5; round++) {
    for (const [name, apply] of settings) {
      apply();
      const t0 = Bun.nanoseconds();
      for (let i = 0; i < ANNOUNCES; i++) announce((p = (p + 7919) % PEERS));
      perRound[name]!.push((Bun.nanoseconds() - t0) / ANNOUNCES);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const ratio = (name: string) => med(perRound[name]!.map((ns, i) => perRound.off![i]! / ns));
  console.log(
    `announce through the rules (${PEERS} peers, ${TORRENTS} torrents), ns/announce, median of 5 rounds: ` +
      `off ${med(perRound.off!).toFixed(0)}, allow ${med(perRound.allow!).toFixed(0)} (throughput ${ratio("allow").toFixed(3)}x off), ` +
      `deny ${med(perRound.deny!).toFixed(0)} (${ratio("deny").toFixed(3)}x off)`,
  );
}

// ---- A reload as the tracker does it: parsed in slices, the event loop turning in between ----
{
  const { LoopStallMonitor } = await import("../src/operator/loop-stall.ts");
  const { parseInfoHashListSliced } = await import("../src/access/info-hash-list.ts");
  const stalls = new LoopStallMonitor(1);
  const held: number[] = [];
  const total: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    await Bun.sleep(20);
    stalls.reset();
    const t0 = performance.now();
    const parsed = await parseInfoHashListSliced(text);
    total.push(performance.now() - t0);
    held.push(stalls.longestEverMs);
    if (!parsed.ok || parsed.set.size !== entries) throw new Error("sliced parse differs");
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(
    `sliced parse (the tracker's reloads): median ${med(total).toFixed(0)} ms in all; the loop held at most ` +
      `${med(held).toFixed(1)} ms at once (median of ${RUNS}; max ${Math.max(...held).toFixed(1)} ms)`,
  );
}
