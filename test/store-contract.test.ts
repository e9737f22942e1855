/**
 * One suite, two stores: the announce and scrape cases every store must pass, run through the
 * rules (as every adapter calls them) against the in-memory store and against the Redis store
 * on a real redis-server of the test's own (test/support/redis-server.ts: no binary is a
 * failure, not a skip). What is particular to one store is tested in its own file
 * (tracker-rules.test.ts and memory-store.test.ts; redis-store.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { Accounting } from "../src/access/accounting.ts";
import { parseInfoHashList } from "../src/access/info-hash-list.ts";
import { PasskeyTable } from "../src/access/passkey.ts";
import { EVENT_COMPLETED, EVENT_PAUSED, EVENT_STARTED, EVENT_STOPPED } from "../src/protocol/events.ts";
import { C } from "../src/rules/counters.ts";
import { AnnounceRequest, ScrapeRequest } from "../src/rules/requests.ts";
import { AnnounceResult, ScrapeResult } from "../src/rules/results.ts";
import { ACCESS_ALLOW, REFUSED_NO_PASSKEY, REFUSED_TORRENT, TrackerRules } from "../src/rules/tracker-rules.ts";
import { memoryStoreFor } from "../src/store/open-store.ts";
import { RedisLink } from "../src/store/redis/redis-link.ts";
import { RedisStore } from "../src/store/redis/redis-store.ts";
import type { SwarmStore } from "../src/store/store.ts";
import { startRedis, type TestRedis } from "./support/redis-server.ts";
import { type Announce, fillAnnounce, fillScrape, ih, listed } from "./support/rules-requests.ts";
import { testConfig } from "./support/tracker.ts";

let redis: TestRedis;
const opened: SwarmStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});
afterAll(async () => {
  await redis?.stop();
});



type StoreKind = "memory" | "redis";

/** The rules on a fresh store of `kind` (Redis: emptied first), with announce/scrape helpers. */
async function setup(kind: StoreKind, args: string[] = []) {
  const config = testConfig(args);
  let store: SwarmStore;
  if (kind === "memory") store = memoryStoreFor(config);
  else {
    const c = await redis.client();
    await c.send("FLUSHALL", []);
    const link = new RedisLink(redis.url, () => {}, () => {});
    store = new RedisStore(link, { peerTimeout: config.peerTimeout, torrentRetention: config.torrentRetention });
    expect(await link.start()).toBe(true);
  }
  opened.push(store);
  const rules = new TrackerRules(config, store);
  rules.log = () => {};
  // Like an adapter with an asynchronous store: one request object reused, a result per request.
  const req = new AnnounceRequest();
  async function announce(a: Announce): Promise<AnnounceResult> {
    fillAnnounce(req, a);
    const res = new AnnounceResult();
    await rules.announce(req, res);
    return res;
  }
  async function scrape(...torrents: number[]): Promise<ScrapeResult> {
    return scrapeWith(null, ...torrents);
  }
  async function scrapeWith(passkey: string | null, ...torrents: number[]): Promise<ScrapeResult> {
    const sreq = fillScrape(new ScrapeRequest(), passkey, torrents);
    const res = new ScrapeResult(rules.config.scrapeMaxHashes);
    await rules.scrape(sreq, res);
    return res;
  }
  return { rules, store, announce, scrape, scrapeWith };
}


for (const kind of ["memory", "redis"] as const) {
  describe(`store contract (${kind})`, () => {
    test("the store says which it is, and is up", async () => {
      const { store } = await setup(kind);
      expect(store.async).toBe(kind === "redis");
      const h = store.health();
      expect([h.kind, h.up]).toEqual([kind, true]);
    });

    test("numwant: absent -> numwant-default; above numwant-max -> numwant-max; zero -> none", async () => {
      const { announce } = await setup(kind, ["--numwant-default", "3", "--numwant-max", "5"]);
      for (let p = 1; p <= 10; p++) await announce({ peer: p });
      expect((await announce({ peer: 11 })).peers4.count).toBe(3);
      expect((await announce({ peer: 11, numwant: 100 })).peers4.count).toBe(5);
      expect((await announce({ peer: 11, numwant: 4 })).peers4.count).toBe(4);
      expect((await announce({ peer: 11, numwant: 0 })).peers4.count).toBe(0);
    });

    test("left = 0 is a seeder; a seeder that starts leeching again is counted as a leecher", async () => {
      const { announce } = await setup(kind);
      await announce({ peer: 1, seeder: true, event: EVENT_STARTED });
      const r = await announce({ peer: 2 });
      expect([r.complete, r.incomplete]).toEqual([1, 1]);
      const back = await announce({ peer: 1, seeder: false });
      expect([back.complete, back.incomplete]).toEqual([0, 2]);
    });

    test("completed counts one download per peer; paused is a regular announce", async () => {
      const { announce } = await setup(kind);
      await announce({ peer: 1, seeder: true, event: EVENT_COMPLETED });
      await announce({ peer: 1, seeder: true, event: EVENT_COMPLETED });
      expect((await announce({ peer: 2, seeder: true, event: EVENT_PAUSED })).downloaded).toBe(1);
      expect((await announce({ peer: 2, seeder: true, event: EVENT_COMPLETED })).downloaded).toBe(2);
    });

    test("stopped removes the peer and gives no peers back; stopping an unknown torrent leaves it unknown", async () => {
      const { announce, scrape } = await setup(kind);
      await announce({ peer: 1 });
      await announce({ peer: 2, seeder: true });
      const r = await announce({ peer: 1, event: EVENT_STOPPED });
      expect(r.refusal).toBeNull();
      expect(r.peers4.count).toBe(0);
      expect([r.complete, r.incomplete]).toEqual([1, 0]);
      expect(listed(await announce({ peer: 3 }), 4)).toEqual(["10.0.0.2:6881"]);
      const gone = await announce({ torrent: 9, peer: 1, event: EVENT_STOPPED });
      expect([gone.refusal, gone.complete, gone.incomplete, gone.downloaded]).toEqual([null, 0, 0, 0]);
      const s = await scrape(9);
      expect([s.complete[0], s.incomplete[0], s.downloaded[0]]).toEqual([0, 0, 0]);
    });

    test("a peer never gets itself back, whatever it asks", async () => {
      const { announce } = await setup(kind);
      for (let p = 1; p <= 4; p++) await announce({ peer: p });
      for (let k = 0; k < 30; k++) {
        const got = listed(await announce({ peer: 3, numwant: 200 }), 4);
        expect(got.sort()).toEqual(["10.0.0.1:6881", "10.0.0.2:6881", "10.0.0.4:6881"]);
      }
    });

    test("a large swarm: numwant distinct peers, never the announcer, drawn from all of it", async () => {
      const { announce } = await setup(kind);
      for (let p = 1; p <= 200; p++) await announce({ peer: p });
      const seen = new Set<string>();
      for (let k = 0; k < 40; k++) {
        const got = listed(await announce({ peer: 77, numwant: 50 }), 4);
        expect(got).toHaveLength(50);
        expect(new Set(got).size).toBe(50);
        expect(got).not.toContain("10.0.0.77:6881");
        for (const g of got) seen.add(g);
      }
      // 40 windows of 50 from random places: most of the 199 others show up.
      expect(seen.size).toBeGreaterThan(150);
    });

    test("the same address on two ports is two peers", async () => {
      const { announce } = await setup(kind);
      await announce({ peer: 1, port: 1000 });
      const r = await announce({ peer: 1, port: 2000 });
      expect(r.incomplete).toBe(2);
      expect(listed(r, 4)).toEqual(["10.0.0.1:1000"]);
    });

    test("one family per answer unless the protocol carries both", async () => {
      const { announce } = await setup(kind);
      await announce({ peer: 1, family: 4 });
      await announce({ peer: 2, family: 6 });
      const udpLike = await announce({ peer: 3, family: 4 });
      expect(listed(udpLike, 4)).toEqual(["10.0.0.1:6881"]);
      expect(udpLike.peers6.count).toBe(0);
      expect([udpLike.complete, udpLike.incomplete]).toEqual([0, 3]); // counts cover both families
      const httpLike = await announce({ peer: 3, family: 4, both: true });
      expect(listed(httpLike, 6)).toEqual(["[::2]:6881"]);
      const v6 = await announce({ peer: 4, family: 6 });
      expect(listed(v6, 6)).toEqual(["[::2]:6881"]);
    });

    test("the interval is the current one, and min interval equals it", async () => {
      const { rules, announce } = await setup(kind, ["--interval", "300"]);
      const a = await announce({ peer: 1 });
      expect([a.interval, a.minInterval]).toEqual([300, 300]);
      rules.interval = 420;
      const b = await announce({ peer: 1 });
      expect([b.interval, b.minInterval]).toEqual([420, 420]);
    });

    test("scrape: counts in request order, zeros for unknown torrents; too many hashes refused", async () => {
      const { rules, announce, scrape } = await setup(kind, ["--scrape-max-hashes", "3"]);
      await announce({ torrent: 1, peer: 1, seeder: true, event: EVENT_COMPLETED });
      await announce({ torrent: 1, peer: 2 });
      await announce({ torrent: 2, peer: 1, family: 6 });
      const r = await scrape(5, 1, 2);
      expect(r.refusal).toBeNull();
      expect(r.count).toBe(3);
      expect([r.complete[0], r.downloaded[0], r.incomplete[0]]).toEqual([0, 0, 0]);
      expect([r.complete[1], r.downloaded[1], r.incomplete[1]]).toEqual([1, 1, 1]);
      expect([r.complete[2], r.downloaded[2], r.incomplete[2]]).toEqual([0, 0, 1]);
      expect((await scrape(1, 2, 3, 4)).refusal).toBe("too many info_hash values in one scrape (at most 3)");
      expect(rules.counters[C.refusedScrapeHashes]).toBe(1);
    });

    test("access list: a refused announce creates nothing; a scrape leaves refused torrents out", async () => {
      const { rules, announce, scrape } = await setup(kind);
      await announce({ torrent: 2, peer: 1, seeder: true });
      const list = parseInfoHashList(`${Buffer.from(ih(1)).toString("hex")}\n`);
      if (!list.ok) throw new Error(list.reason);
      rules.setAccess(ACCESS_ALLOW, list.set);
      expect((await announce({ torrent: 3, peer: 1 })).refusal).toBe(REFUSED_TORRENT);
      expect((await announce({ torrent: 1, peer: 1 })).refusal).toBeNull();
      const r = await scrape(1, 2);
      expect([r.refusedAt[0], r.refusedAt[1], r.refused]).toEqual([0, 1, 1]);
      expect([r.complete[1], r.incomplete[1]]).toEqual([0, 0]);
      expect(r.incomplete[0]).toBe(1);
      expect((await scrape(2)).refusal).toBe(REFUSED_TORRENT);
      rules.setAccess(0, null);
      const s = await scrape(3);
      expect([s.complete[0], s.incomplete[0]]).toEqual([0, 0]); // the refused announce made nothing
    });

    test("private mode: no passkey is refused; a served announce is accounted from the request it came with", async () => {
      const { rules, announce } = await setup(kind);
      rules.passkeys = new PasskeyTable(new Map([["k".repeat(32), Infinity]]));
      rules.accounting = new Accounting(rules.config.peerTimeout);
      expect((await announce({ peer: 1 })).refusal).toBe(REFUSED_NO_PASSKEY);
      // Two announces in flight at once: each is accounted with its own figures and torrent.
      const [a, b] = await Promise.all([
        announce({ torrent: 4, peer: 1, passkey: "k".repeat(32), uploaded: 100, downloaded: 10 }),
        announce({ torrent: 5, peer: 2, passkey: "k".repeat(32), uploaded: 200, downloaded: 20 }),
      ]);
      expect([a.refusal, b.refusal]).toEqual([null, null]);
      const rows = rules.accounting.takeBatch();
      expect(rows).toHaveLength(2);
      const byTorrent = new Map(rows.map((r) => [r.infoHash[0], r]));
      expect(byTorrent.get(4)).toMatchObject({ uploaded: 100, downloaded: 10, announces: 1 });
      expect(byTorrent.get(5)).toMatchObject({ uploaded: 200, downloaded: 20, announces: 1 });
    });
  });
}
