/**
 * The Redis store on its own, against a real redis-server of the test's own: the encoding of
 * members (every byte value), the key layout (one hash tag per torrent, TTLs), expiry of quiet
 * peers, scripts lost on the server (NOSCRIPT), Redis going away and coming back, and the
 * shared UDP secret. The announce/scrape contract it shares with the in-memory store is in
 * store-contract.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { AnnounceRequest } from "../src/rules/requests.ts";
import { AnnounceResult } from "../src/rules/results.ts";
import { C } from "../src/rules/counters.ts";
import { REFUSED_STORE_UNAVAILABLE, STORE_RETRY_IN, TrackerRules } from "../src/rules/tracker-rules.ts";
import { RedisLink, redactUrl } from "../src/store/redis/redis-link.ts";
import { RedisStore, torrentKey } from "../src/store/redis/redis-store.ts";
import { DROP_EVERY } from "../src/store/redis/scripts.ts";
import { AnnounceCounts, STORE_OK, STORE_UNAVAILABLE, StoreAnnounce } from "../src/store/store.ts";
import { startRedis, type TestRedis } from "./support/redis-server.ts";
import { testConfig } from "./support/tracker.ts";

let redis: TestRedis;
const links: RedisLink[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(() => {
  for (const l of links.splice(0)) l.close();
});
afterAll(async () => {
  await redis?.stop();
});

const PEER_TIMEOUT = 1000;
const RETENTION = 5000;

async function openStore(log: string[] = []): Promise<RedisStore> {
  const c = await redis.client();
  await c.send("FLUSHALL", []);
  const link = new RedisLink(redis.url, (l) => log.push(l), (l) => log.push(l));
  links.push(link);
  const store = new RedisStore(link, { peerTimeout: PEER_TIMEOUT, torrentRetention: RETENTION });
  expect(await link.start()).toBe(true);
  return store;
}

const HASH = Uint8Array.from({ length: 20 }, (_, i) => (i * 37 + 0x7d) & 255); // holds '}' (0x7d) and bytes >= 0x80

function op(record: number[], over: Partial<StoreAnnounce> = {}): StoreAnnounce {
  const a = new StoreAnnounce();
  a.infoHash = HASH;
  a.family = record.length === 6 ? 4 : 6;
  a.record = Uint8Array.from(record);
  a.numwant = 50;
  a.now = Math.floor(Date.now() / 1000);
  return Object.assign(a, over);
}

function records(res: AnnounceCounts, family: 4 | 6): string[] {
  const w = res.peers(family);
  const out = new Uint8Array(w.count * w.stride);
  w.writeCompact(out, 0);
  const list: string[] = [];
  for (let o = 0; o < out.length; o += w.stride) list.push(Buffer.from(out.subarray(o, o + w.stride)).toString("hex"));
  return list;
}

describe("RedisStore", () => {
  test("members round-trip every byte value, IPv4 and IPv6 (latin1 strings end to end)", async () => {
    const store = await openStore();
    // 256 IPv4 peers: record i holds byte i in every position one of them can take.
    const v4 = Array.from({ length: 256 }, (_, i) => [i, 255 - i, (i * 7) & 255, (i * 13 + 1) & 255, i, (i + 128) & 255]);
    const v6 = Array.from({ length: 256 }, (_, i) => Array.from({ length: 18 }, (_, k) => (i + k * 17) & 255));
    for (const r of [...v4, ...v6]) expect(await store.announce(op(r, { numwant: 0 }), new AnnounceCounts())).toBe(STORE_OK);
    const want = new Set([...v4, ...v6].map((r) => Buffer.from(r).toString("hex")));
    const seen = new Set<string>();
    // The asker is a 257th peer of each family; windows of 200 from random ranks cover the set.
    for (let k = 0; k < 12; k++) {
      for (const asker of [[1, 2, 3, 4, 5, 6], Array(18).fill(9)]) {
        const res = new AnnounceCounts();
        expect(await store.announce(op(asker, { numwant: 200, bothFamilies: true }), res)).toBe(STORE_OK);
        for (const f of [4, 6] as const) for (const r of records(res, f)) seen.add(r);
      }
    }
    seen.delete("010203040506");
    seen.delete("09".repeat(18));
    expect([...seen].filter((r) => !want.has(r))).toEqual([]); // nothing corrupted
    expect(seen.size).toBe(512); // and everything came back
  });

  test("keys: one hash tag per torrent, all of its keys with a TTL of the retention", async () => {
    const store = await openStore();
    await store.announce(op([10, 0, 0, 1, 0, 80], { seeder: true, completed: true }), new AnnounceCounts());
    await store.announce(op(Array(18).fill(1)), new AnnounceCounts());
    const key = torrentKey(HASH, 0);
    expect(key).toBe(`sc6:{${Buffer.from(HASH).toString("hex")}}`);
    const c = await redis.client();
    const keys = (await c.send("KEYS", ["sc6:*"])) as string[];
    expect(keys.sort()).toEqual([key, `${key}:4`, `${key}:6`].sort());
    for (const k of keys) {
      const ttl = Number(await c.send("TTL", [k]));
      expect(ttl).toBeGreaterThan(RETENTION - 10);
      expect(ttl).toBeLessThanOrEqual(RETENTION);
    }
    // Cluster: every key of the torrent hashes to one slot.
    const slots = await Promise.all(keys.map((k) => c.send("CLUSTER", ["KEYSLOT", k]).catch(() => null)));
    if (slots[0] !== null) expect(new Set(slots).size).toBe(1);
  });

  test("peers quiet longer than peer-timeout are dropped, seeder count with them", async () => {
    const store = await openStore();
    const now = Math.floor(Date.now() / 1000);
    const past = now - PEER_TIMEOUT - DROP_EVERY - 5;
    await store.announce(op([10, 0, 0, 1, 0, 1], { now: past, seeder: true }), new AnnounceCounts());
    await store.announce(op([10, 0, 0, 2, 0, 2], { now: past }), new AnnounceCounts());
    const res = new AnnounceCounts();
    await store.announce(op([10, 0, 0, 3, 0, 3], { now }), res);
    expect([res.complete, res.incomplete]).toEqual([0, 1]);
    expect(res.peers4.count).toBe(0);
    const c = await redis.client();
    expect(Number(await c.send("ZCARD", [`${torrentKey(HASH, 0)}:4`]))).toBe(1);
  });

  test("stopping an unknown torrent writes nothing", async () => {
    const store = await openStore();
    const res = new AnnounceCounts();
    expect(await store.announce(op([10, 0, 0, 1, 0, 1], { leaving: true }), res)).toBe(STORE_OK);
    expect([res.complete, res.incomplete, res.downloaded]).toEqual([0, 0, 0]);
    const c = await redis.client();
    expect(Number(await c.send("DBSIZE", []))).toBe(0);
  });

  test("scripts flushed on the server (a restart with persistence, SCRIPT FLUSH) are loaded again", async () => {
    const store = await openStore();
    const c = await redis.client();
    await c.send("SCRIPT", ["FLUSH"]);
    const res = new AnnounceCounts();
    expect(await store.announce(op([10, 0, 0, 1, 0, 1]), res)).toBe(STORE_OK);
    expect(res.incomplete).toBe(1);
  });

  test("Redis lost: refusals with retry in, counted; served again once it is back, by itself", async () => {
    const log: string[] = [];
    const store = await openStore(log);
    const rules = new TrackerRules(testConfig(), store);
    const req = new AnnounceRequest();
    req.infoHash = HASH;
    req.record.set([10, 0, 0, 1, 0, 1]);
    const announce = async () => {
      const res = new AnnounceResult();
      await rules.announce(req, res);
      return res;
    };
    expect((await announce()).refusal).toBeNull();
    await redis.kill();
    // The close reaches the link within a moment; a request sent meanwhile fails just the same.
    let r = await announce();
    expect(r.refusal).toBe(REFUSED_STORE_UNAVAILABLE);
    expect(r.retryIn).toBe(STORE_RETRY_IN);
    r = await announce();
    expect(r.refusal).toBe(REFUSED_STORE_UNAVAILABLE);
    expect(rules.counters[C.refusedStoreUnavailable]).toBe(2);
    expect(store.health().up).toBe(false);
    await redis.restart();
    const deadline = Date.now() + 5000;
    while (!store.health().up && Date.now() < deadline) await Bun.sleep(50);
    expect(store.health().up).toBe(true);
    expect((await announce()).refusal).toBeNull();
    expect(store.health()).toMatchObject({ kind: "redis", up: true, disconnects: 1, unavailable: 2 });
    expect(log.some((l) => l.includes(`lost ${redis.url}`))).toBe(true);
    expect(log.some((l) => l.includes("answers again"))).toBe(true);
  });

  test("a Redis that stops answering (SIGSTOP) fails what waits within seconds, then serves again", async () => {
    const log: string[] = [];
    const store = await openStore(log);
    expect(await store.announce(op([10, 0, 0, 1, 0, 1]), new AnnounceCounts())).toBe(STORE_OK);
    redis.pause();
    try {
      const t0 = Date.now();
      // Waits: nothing answers, the connection stays open. The watchdog (no reply for 3 s with
      // requests waiting, checked every second) closes it, which fails the request.
      expect(await store.announce(op([10, 0, 0, 2, 0, 2]), new AnnounceCounts())).toBe(STORE_UNAVAILABLE);
      // A bound on the hang, not a timing figure: STALL_MS (3 s) + the 1 s tick, with room.
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(log.some((l) => l.includes("has not answered for 3 s"))).toBe(true);
    } finally {
      redis.resume();
    }
    const deadline = Date.now() + 5000;
    while (!store.health().up && Date.now() < deadline) await Bun.sleep(50);
    expect(await store.announce(op([10, 0, 0, 3, 0, 3]), new AnnounceCounts())).toBe(STORE_OK);
  }, 20_000);

  test("unreachable at start: the first attempt says so with the URL, and it keeps trying", async () => {
    const log: string[] = [];
    const dead = `redis://127.0.0.1:${redis.port + 1}`; // not the test's server: nothing listens there
    const link = new RedisLink(dead, (l) => log.push(l), (l) => log.push(l));
    links.push(link);
    const store = new RedisStore(link, { peerTimeout: PEER_TIMEOUT, torrentRetention: RETENTION });
    expect(await link.start()).toBe(false);
    expect(log.join("\n")).toContain(`cannot reach ${dead}`);
    expect(await store.announce(op([10, 0, 0, 1, 0, 1]), new AnnounceCounts())).toBe(STORE_UNAVAILABLE);
  });

  test("nodes share one UDP secret, made by the first that asks", async () => {
    const a = await openStore();
    const linkB = new RedisLink(redis.url, () => {}, () => {});
    links.push(linkB);
    const b = new RedisStore(linkB, { peerTimeout: PEER_TIMEOUT, torrentRetention: RETENTION });
    await linkB.start();
    const sa = await a.sharedSecret();
    const sb = await b.sharedSecret();
    expect(sa).toHaveLength(48);
    expect(sb).toBe(sa);
  });

  test("the URL is shown without its password", () => {
    expect(redactUrl("redis://user:hunter2@10.0.0.5:6379/2")).toBe("redis://user:***@10.0.0.5:6379/2");
    expect(redactUrl("rediss://cache.example:6380")).toBe("rediss://cache.example:6380");
  });
});
