/**
 * The tracker's rules, tested once, without sockets: every protocol adapter hands its requests
 * to TrackerRules, so what holds here holds for HTTP, UDP and every later protocol.
 */
import { describe, expect, test } from "bun:test";
import { EVENT_COMPLETED, EVENT_PAUSED, EVENT_STARTED, EVENT_STOPPED } from "../src/protocol/events.ts";
import { C } from "../src/rules/counters.ts";
import { AnnounceRequest, ScrapeRequest } from "../src/rules/requests.ts";
import { AnnounceResult, ScrapeResult } from "../src/rules/results.ts";
import { Accounting } from "../src/access/accounting.ts";
import { parseInfoHashList } from "../src/access/info-hash-list.ts";
import { PasskeyTable } from "../src/access/passkey.ts";
import {
  ACCESS_ALLOW, ACCESS_DENY, ACCESS_OFF, nowSeconds, REFUSED_ANNOUNCE_RATE, REFUSED_FULL_SCRAPE, REFUSED_NO_PASSKEY,
  REFUSED_PASSKEY_EXPIRED, REFUSED_PASSKEY_UNKNOWN, REFUSED_TOO_MANY_PEERS, REFUSED_TOO_MANY_TORRENTS, REFUSED_TORRENT,
  TrackerRules,
} from "../src/rules/tracker-rules.ts";
import { type Announce, fillAnnounce, fillScrape, ih, listed } from "./support/rules-requests.ts";
import { testConfig } from "./support/tracker.ts";



/** A rules instance with its own request/result objects, as an adapter keeps them. */
function setup(args: string[] = []) {
  const lines: string[] = [];
  const rules = new TrackerRules(testConfig(args));
  rules.log = (l) => lines.push(l);
  const req = new AnnounceRequest();
  const res = new AnnounceResult();
  function announce(a: Announce): AnnounceResult {
    fillAnnounce(req, a);
    rules.announce(req, res);
    return res;
  }
  const scrapeRes = new ScrapeResult(rules.config.scrapeMaxHashes);
  function scrape(...torrents: number[]): ScrapeResult {
    return scrapeWith(null, ...torrents);
  }
  function scrapeWith(passkey: string | null, ...torrents: number[]): ScrapeResult {
    const sreq = fillScrape(new ScrapeRequest(), passkey, torrents);
    rules.scrape(sreq, scrapeRes);
    return scrapeRes;
  }
  return { rules, announce, scrape, scrapeWith, lines };
}


describe("TrackerRules: numwant", () => {
  test("absent -> numwant-default; above numwant-max -> numwant-max; zero -> none", () => {
    const { announce } = setup(["--numwant-default", "3", "--numwant-max", "5"]);
    for (let p = 1; p <= 10; p++) announce({ peer: p });
    expect(announce({ peer: 11 }).peers4.count).toBe(3);
    expect(announce({ peer: 11, numwant: 100 }).peers4.count).toBe(5);
    expect(announce({ peer: 11, numwant: 4 }).peers4.count).toBe(4);
    expect(announce({ peer: 11, numwant: 0 }).peers4.count).toBe(0);
  });
});

describe("TrackerRules: events and counts", () => {
  test("left = 0 is a seeder; a seeder that starts leeching again is counted as a leecher", () => {
    const { announce } = setup();
    announce({ peer: 1, seeder: true, event: EVENT_STARTED });
    const r = announce({ peer: 2 });
    expect([r.complete, r.incomplete]).toEqual([1, 1]);
    expect([announce({ peer: 1, seeder: false }).complete, r.incomplete]).toEqual([0, 2]);
  });

  test("completed counts one download per peer; paused is a regular announce", () => {
    const { announce } = setup();
    announce({ peer: 1, seeder: true, event: EVENT_COMPLETED });
    announce({ peer: 1, seeder: true, event: EVENT_COMPLETED });
    expect(announce({ peer: 2, seeder: true, event: EVENT_PAUSED }).downloaded).toBe(1);
    expect(announce({ peer: 2, seeder: true, event: EVENT_COMPLETED }).downloaded).toBe(2);
  });

  test("stopped removes the peer and gives no peers back; stopping an unknown torrent creates nothing", () => {
    const { rules, announce } = setup();
    announce({ peer: 1 });
    announce({ peer: 2 });
    const r = announce({ peer: 1, event: EVENT_STOPPED });
    expect(r.refusal).toBeNull();
    expect(r.peers4.count).toBe(0);
    expect([r.complete, r.incomplete]).toEqual([0, 1]);
    announce({ torrent: 9, peer: 1, event: EVENT_STOPPED });
    expect(rules.store.torrentCount).toBe(1);
  });

  test("a peer never gets itself back, whatever it asks", () => {
    const { announce } = setup();
    for (let p = 1; p <= 4; p++) announce({ peer: p });
    for (let k = 0; k < 50; k++) {
      const got = listed(announce({ peer: 3, numwant: 200 }), 4);
      expect(got.sort()).toEqual(["10.0.0.1:6881", "10.0.0.2:6881", "10.0.0.4:6881"]);
    }
  });

  test("one family per answer unless the protocol carries both", () => {
    const { announce } = setup();
    announce({ peer: 1, family: 4 });
    announce({ peer: 2, family: 6 });
    const udpLike = announce({ peer: 3, family: 4 });
    expect(listed(udpLike, 4)).toEqual(["10.0.0.1:6881"]);
    expect(udpLike.peers6.count).toBe(0);
    const httpLike = announce({ peer: 3, family: 4, both: true });
    expect(listed(httpLike, 6)).toEqual(["[::2]:6881"]);
  });

  test("the interval is the current one, and min interval equals it", () => {
    const { rules, announce } = setup(["--interval", "300"]);
    expect([announce({ peer: 1 }).interval, announce({ peer: 1 }).minInterval]).toEqual([300, 300]);
    rules.interval = 420; // the load rule moved it
    expect([announce({ peer: 1 }).interval, announce({ peer: 1 }).minInterval]).toEqual([420, 420]);
  });
});

describe("TrackerRules: completions", () => {
  // Regression (issue 12): many ports from one address added a completion each.
  test("one address counts at most completions-per-address completions per torrent per hour", () => {
    const { rules, announce } = setup(["--completions-per-address", "2"]);
    // Ten "peers" on one address (10.0.0.7, ports differ): only two completions count.
    for (let port = 0; port < 10; port++) {
      announce({ peer: 7, seeder: true, event: EVENT_COMPLETED, port: 7000 + port });
    }
    expect(announce({ peer: 8, seeder: true, event: EVENT_COMPLETED }).downloaded).toBe(3); // another address still counts
    expect(rules.counters[C.completionsNotCounted]).toBe(8);
    // Per torrent: the same address completes another torrent.
    expect(announce({ torrent: 2, peer: 7, seeder: true, event: EVENT_COMPLETED }).downloaded).toBe(1);
  });

  test("0 means no limit (a completion still counts once per peer)", () => {
    const { announce } = setup(["--completions-per-address", "0"]);
    for (let port = 0; port < 10; port++) announce({ peer: 7, seeder: true, event: EVENT_COMPLETED, port: 7000 + port });
    expect(announce({ peer: 7, seeder: true, event: EVENT_COMPLETED, port: 7000 }).downloaded).toBe(10);
  });
});

describe("TrackerRules: per-address limits", () => {
  test("announces past --announces-per-minute are refused with retry in 60, per address, counted", () => {
    const { rules, announce } = setup(["--announces-per-minute", "3"]);
    // One address (10.0.0.7), several ports: one client's allowance.
    const results = [1, 2, 3, 4].map((p) => announce({ peer: 7, port: 7000 + p }).refusal);
    expect(results).toEqual([null, null, null, REFUSED_ANNOUNCE_RATE]);
    const r = announce({ peer: 7, port: 7005 });
    expect(r.retryIn).toBe(60);
    expect(announce({ peer: 8 }).refusal).toBeNull(); // another address
    expect(rules.counters[C.refusedAnnounceRate]).toBe(2);
    expect(rules.store.peerCount).toBe(4); // the refused ones created nothing
  });

  test("UDP connects and answers to bad connection ids have their own limits", () => {
    const { rules } = setup(["--udp-connects-per-minute", "2", "--udp-bad-id-answers-per-minute", "1"]);
    const now = 1_800_000_000;
    const a = new Uint8Array([198, 51, 100, 1]);
    expect([1, 2, 3].map(() => rules.allowConnect(a, 4, now))).toEqual([true, true, false]);
    expect([1, 2].map(() => rules.allowBadIdAnswer(a, 4, now))).toEqual([true, false]);
    expect(rules.counters[C.udpConnectsThrottled]).toBe(1);
    expect(rules.counters[C.udpBadIdThrottled]).toBe(1);
  });
});

describe("TrackerRules: capacity", () => {
  test("a new torrent past max-torrents is refused with retry in = interval, and counted", () => {
    const { rules, announce } = setup(["--max-torrents", "1", "--interval", "300"]);
    expect(announce({ torrent: 1, peer: 1 }).refusal).toBeNull();
    const r = announce({ torrent: 2, peer: 1 });
    expect(r.refusal).toBe(REFUSED_TOO_MANY_TORRENTS);
    expect(r.retryIn).toBe(300);
    expect(rules.counters[C.refusedTorrentCapacity]).toBe(1);
    expect(rules.store.torrentCount).toBe(1);
  });

  test("a new peer past max-peers is refused; known peers still announce; nothing is created", () => {
    const { rules, announce } = setup(["--max-peers", "2"]);
    announce({ peer: 1 });
    announce({ peer: 2 });
    expect(announce({ peer: 3 }).refusal).toBe(REFUSED_TOO_MANY_PEERS);
    expect(announce({ torrent: 2, peer: 3 }).refusal).toBe(REFUSED_TOO_MANY_PEERS);
    expect(rules.store.torrentCount).toBe(1); // regression: the refused announce made torrent 2
    expect(announce({ peer: 1 }).refusal).toBeNull();
    expect(rules.counters[C.refusedPeerCapacity]).toBe(2);
  });
});

describe("TrackerRules: peer ids", () => {
  test("kept from the first request that will show them, with one notice", () => {
    const { rules, announce, lines } = setup();
    announce({ peer: 1 });
    expect(rules.store.peerIdState()).toBe("unused");
    announce({ peer: 2, wantsPeerIds: true });
    expect(rules.store.peerIdState()).toBe("kept");
    announce({ peer: 2, wantsPeerIds: true });
    expect(lines.filter((l) => l.startsWith("peer ids:"))).toHaveLength(1);
  });

  // Regression: peers that announced before ids were kept were listed in dictionaries without
  // `peer id`. The result now says whether every chosen id is known, so the adapter can fall
  // back to the compact form.
  test("peerIdsKnown only when every chosen peer's id is known", () => {
    const { announce } = setup();
    announce({ peer: 1 });
    expect(announce({ peer: 2, wantsPeerIds: true }).peerIdsKnown).toBe(false); // 1's id not known yet
    announce({ peer: 1 }); // re-announces: its id is kept now
    const r = announce({ peer: 2, wantsPeerIds: true });
    expect(r.peerIdsKnown).toBe(true);
    const w = r.peers4;
    const id = w.ids.subarray(w.slot(0) * 20, w.slot(0) * 20 + 20);
    expect(Array.from(id)).toEqual(Array(20).fill(1));
  });

  test("--no-peer-ids: never kept, so never known", () => {
    const { rules, announce } = setup(["--no-peer-ids"]);
    announce({ peer: 1 });
    announce({ peer: 1, wantsPeerIds: true });
    expect(announce({ peer: 2, wantsPeerIds: true }).peerIdsKnown).toBe(false);
    expect(rules.store.peerIdState()).toBe("off");
  });
});

describe("TrackerRules: scrape", () => {
  test("counts in request order, zeros for unknown torrents", () => {
    const { announce, scrape } = setup();
    announce({ torrent: 1, peer: 1, seeder: true, event: EVENT_COMPLETED });
    announce({ torrent: 1, peer: 2 });
    const r = scrape(5, 1);
    expect(r.refusal).toBeNull();
    expect(r.count).toBe(2);
    expect([r.complete[0], r.downloaded[0], r.incomplete[0]]).toEqual([0, 0, 0]);
    expect([r.complete[1], r.downloaded[1], r.incomplete[1]]).toEqual([1, 1, 1]);
  });

  test("more hashes than scrape-max-hashes are refused, for every protocol", () => {
    const { rules, scrape } = setup(["--scrape-max-hashes", "2"]);
    expect(scrape(1, 2).refusal).toBeNull();
    expect(scrape(1, 2, 3).refusal).toBe("too many info_hash values in one scrape (at most 2)");
    expect(rules.counters[C.refusedScrapeHashes]).toBe(1);
  });

  test("no hash at all asks for a full scrape: refused unless --full-scrape", () => {
    const off = setup();
    expect(off.scrape().refusal).toBe(REFUSED_FULL_SCRAPE);
    expect(off.rules.counters[C.refusedFullScrape]).toBe(1);
    const on = setup(["--full-scrape"]);
    const r = on.scrape();
    expect(r.refusal).toBeNull();
    expect(r.full).toBe(true);
  });
});

/** An access list of torrents (the ih() numbers). */
function listOf(...torrents: number[]) {
  const parsed = parseInfoHashList(torrents.map((t) => Buffer.from(ih(t)).toString("hex")).join("\n"));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.set;
}

describe("TrackerRules: access list", () => {
  test("allow: only listed torrents; a refused announce creates nothing and is counted", () => {
    const { rules, announce } = setup();
    rules.setAccess(ACCESS_ALLOW, listOf(1));
    expect(announce({ torrent: 1, peer: 1 }).refusal).toBeNull();
    const r = announce({ torrent: 2, peer: 1 });
    expect(r.refusal).toBe(REFUSED_TORRENT);
    expect(r.retryIn).toBe(-1);
    expect(rules.store.torrentCount).toBe(1);
    expect(rules.counters[C.refusedTorrentNotAllowed]).toBe(1);
    // A completion of a refused torrent is refused before the completions limit sees it.
    expect(announce({ torrent: 2, peer: 1, event: EVENT_COMPLETED }).refusal).toBe(REFUSED_TORRENT);
  });

  test("a new list is in force at the next announce of a known torrent (the store's remembered verdict is dropped)", () => {
    const { rules, announce } = setup();
    rules.setAccess(ACCESS_ALLOW, listOf(1));
    expect(announce({ torrent: 1, peer: 1 }).refusal).toBeNull();
    expect(announce({ torrent: 1, peer: 2 }).refusal).toBeNull(); // remembered
    rules.setAccess(ACCESS_ALLOW, listOf(2));
    expect(announce({ torrent: 1, peer: 1 }).refusal).toBe(REFUSED_TORRENT);
    rules.setAccess(ACCESS_ALLOW, listOf(1, 2));
    expect(announce({ torrent: 1, peer: 1 }).refusal).toBeNull();
    rules.setAccess(ACCESS_DENY, listOf(1));
    expect(announce({ torrent: 1, peer: 2 }).refusal).toBe(REFUSED_TORRENT);
  });

  test("deny: listed torrents refused, others served; off serves all", () => {
    const { rules, announce } = setup();
    rules.setAccess(ACCESS_DENY, listOf(1));
    expect(announce({ torrent: 1, peer: 1 }).refusal).toBe(REFUSED_TORRENT);
    expect(announce({ torrent: 2, peer: 1 }).refusal).toBeNull();
    rules.setAccess(ACCESS_OFF, null);
    expect(announce({ torrent: 1, peer: 1 }).refusal).toBeNull();
  });

  test("scrape: refused torrents get zeros and are marked; all refused is a refusal", () => {
    const { rules, announce, scrape } = setup();
    announce({ torrent: 2, peer: 1, seeder: true });
    announce({ torrent: 1, peer: 1 });
    rules.setAccess(ACCESS_ALLOW, listOf(1));
    const r = scrape(1, 2);
    expect(r.refusal).toBeNull();
    expect([r.refusedAt[0], r.refusedAt[1], r.refused]).toEqual([0, 1, 1]);
    expect([r.complete[1], r.downloaded[1], r.incomplete[1]]).toEqual([0, 0, 0]); // torrent 2 exists: hidden
    expect(r.incomplete[0]).toBe(1);
    expect(scrape(2).refusal).toBe(REFUSED_TORRENT);
    expect(scrape(1).refused).toBe(0); // reset between scrapes
  });

  test("a torrent that becomes refused is emptied by the sweep and hidden from the full scrape", () => {
    const { rules, announce } = setup();
    announce({ torrent: 1, peer: 1 });
    announce({ torrent: 2, peer: 1, event: EVENT_COMPLETED, seeder: true }); // downloaded 1: would be retained
    announce({ torrent: 2, peer: 2 });
    rules.setAccess(ACCESS_DENY, listOf(2));
    const order = rules.store.torrentsInHashOrder();
    const seen: number[] = [];
    order.visit(0, order.count, (h, off) => seen.push(h[off]!));
    expect(seen).toEqual([1]);
    rules.store.sweepStep(nowSeconds()); // one slice covers both torrents
    expect(rules.store.torrentCount).toBe(1);
    expect(rules.store.peerCount).toBe(1);
  });
});

describe("TrackerRules: private mode (passkeys)", () => {
  const KEY = "k".repeat(32);
  const OLD = "o".repeat(32);
  function privateSetup() {
    const t = setup();
    const now = nowSeconds();
    t.rules.passkeys = new PasskeyTable(new Map([[KEY, Infinity], [OLD, now - 1]]));
    t.rules.accounting = new Accounting(t.rules.config.peerTimeout);
    return t;
  }

  test("an announce needs a key in force: missing, unknown and expired keys are refused, counted, create nothing", () => {
    const { rules, announce } = privateSetup();
    expect(announce({ peer: 1 }).refusal).toBe(REFUSED_NO_PASSKEY);
    expect(announce({ peer: 1, passkey: "x".repeat(32) }).refusal).toBe(REFUSED_PASSKEY_UNKNOWN);
    expect(announce({ peer: 1, passkey: OLD }).refusal).toBe(REFUSED_PASSKEY_EXPIRED);
    expect(rules.store.torrentCount).toBe(0);
    expect(rules.counters[C.refusedPasskey]).toBe(3);
    expect(announce({ peer: 1, passkey: KEY }).refusal).toBeNull();
  });

  test("a scrape needs a key too", () => {
    const { scrapeWith } = privateSetup();
    expect(scrapeWith(null, 1).refusal).toBe(REFUSED_NO_PASSKEY);
    expect(scrapeWith(KEY, 1).refusal).toBeNull();
  });

  test("served announces are accounted per key and torrent: deltas, announces, counted completions", () => {
    const { rules, announce } = privateSetup();
    announce({ peer: 1, passkey: KEY, event: EVENT_STARTED, uploaded: 0, downloaded: 0 });
    announce({ peer: 1, passkey: KEY, uploaded: 100, downloaded: 1000 });
    announce({ peer: 1, passkey: KEY, uploaded: 250, downloaded: 4000, event: EVENT_COMPLETED, seeder: true });
    announce({ peer: 2, passkey: "x".repeat(32), uploaded: 999 }); // refused: not accounted
    const batch = rules.accounting!.takeBatch();
    expect(batch).toHaveLength(1);
    expect(batch[0]).toMatchObject({ key: KEY, uploaded: 250, downloaded: 4000, announces: 3, completions: 1 });
  });
});
