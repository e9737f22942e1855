/**
 * What a Redis-backed announce costs the node itself, layer by layer, in-process (no HTTP): CPU
 * microseconds per call with 64 calls in flight, for a bare PING, the announce script sent
 * straight through Bun's RedisClient, the same through the store (RedisStore.announce) and
 * through the rules (TrackerRules.announce). Starts its own redis-server on a free port.
 *
 *   npx bun run bench/redis/client-cost.ts [--calls 60000] [--rounds 2]
 */
import { RedisClient } from "bun";
import { AnnounceRequest } from "../../src/rules/requests.ts";
import { AnnounceResult } from "../../src/rules/results.ts";
import { TrackerRules } from "../../src/rules/tracker-rules.ts";
import { RedisLink } from "../../src/store/redis/redis-link.ts";
import { RedisStore } from "../../src/store/redis/redis-store.ts";
import { testConfig } from "../../test/support/tracker.ts";
import { freePort, installCleanup, makeWorkDir, runMain, startRedis, stopEverything } from "./harness.ts";

const argv = Bun.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  const n = i < 0 ? fallback : Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000) {
    console.error(`${name} must be a positive integer`);
    process.exit(2);
  }
  return n;
};
const CALLS = opt("--calls", 60_000);
const ROUNDS = opt("--rounds", 2);

async function measure(name: string, call: (i: number) => Promise<unknown>): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  const worker = async () => {
    while (i < CALLS) await call(i++);
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  console.log(`${name.padEnd(34)} ${((CALLS / ms) * 1000).toFixed(0).padStart(7)} calls/s  ${((cpu.user + cpu.system) / CALLS).toFixed(2).padStart(6)} us CPU per call`);
}

runMain(async () => {
  const work = makeWorkDir("sc6-redis-client-cost-");
  installCleanup(() => work.remove());
  const redis = await startRedis(await freePort(), work.dir);
  const link = new RedisLink(redis.url, () => {}, () => {});
  const store = new RedisStore(link, { peerTimeout: 3600, torrentRetention: 86_400 });
  if (!(await link.start())) throw new Error(`cannot reach ${redis.url}`);
  const rules = new TrackerRules(testConfig(["--announces-per-minute", "0"]), store);
  const raw = new RedisClient(redis.url);
  await raw.connect();
  const hashes = Array.from({ length: 100 }, (_, t) => Uint8Array.from({ length: 20 }, (_, k) => (k === 0 ? t : 0x22)));
  const req = new AnnounceRequest();
  const announce = (i: number): Promise<unknown> => {
    req.infoHash = hashes[i % 100]!;
    req.family = 4;
    req.record.set([10, 0, (i >> 8) & 255, i & 255, 0x1a, 0xe1]);
    req.numwant = 50;
    req.bothFamilies = true;
    return rules.announce(req, new AnnounceResult()) as Promise<void>;
  };
  for (let i = 0; i < 3000; i++) await announce(i); // 3,000 peers in 100 swarms of 30
  const sha = (store as unknown as { announceSha: string }).announceSha;
  const now = String(Math.floor(Date.now() / 1000));
  for (let r = 1; r <= ROUNDS; r++) {
    console.log(`round ${r}`);
    await measure("PING (client alone)", () => raw.send("PING", []));
    await measure("EVALSHA announce (client alone)", (i) => {
      const key = "sc6:{00222222222222222222222222222222222222}".replace("00", (i % 100).toString(16).padStart(2, "0"));
      return raw.send("EVALSHA", [sha, "3", key, `${key}:4`, `${key}:6`, String.fromCharCode(10, 0, (i >> 8) & 255, i & 255, 0x1a, 0xe1), "40001", now, "50", String(i)]);
    });
    await measure("RedisStore.announce via the rules", (i) => announce(i % 3000));
  }
  raw.close();
  link.close();
  await stopEverything();
});
