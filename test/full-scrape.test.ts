/**
 * Full scrape: the bencoded body (sorted, de-duplicated, right counts), gzip negotiation, the
 * render cache (with a fake clock, then against the real tracker), and the failure reason the
 * tracker answers when full scrape is off.
 */
import bencode from "bencode";
import { describe, expect, test } from "bun:test";
import { acceptsGzip, createFullScrape, renderFullScrape } from "../src/operator/full-scrape.ts";
import { EVENT_COMPLETED, EVENT_NONE } from "../src/protocol/events.ts";
import { C } from "../src/rules/counters.ts";
import type { Tracker } from "../src/tracker.ts";
import { AnnounceRequest } from "../src/rules/requests.ts";
import { AnnounceResult } from "../src/rules/results.ts";
import { TrackerRules } from "../src/rules/tracker-rules.ts";
import { pct, testConfig, withTracker as withTrackerOn } from "./support/tracker.ts";

// ---- helpers ------------------------------------------------------------------------------------

/** The tracker on 127.0.0.1 (port 0), with the base URL of its HTTP side. */
async function withTracker(args: string[], fn: (t: Tracker, base: string) => Promise<void>): Promise<void> {
  await withTrackerOn(["--host", "127.0.0.1", ...args], (t) => fn(t, `http://127.0.0.1:${t.httpPort}`));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

async function httpAnnounce(base: string, infoHash: Uint8Array, port: number, left: number): Promise<void> {
  const peerId = new Uint8Array(20).fill(0x2d);
  peerId[19] = port & 0xff;
  const res = await fetch(
    `${base}/announce?info_hash=${pct(infoHash)}&peer_id=${pct(peerId)}&port=${port}&uploaded=0&downloaded=0&left=${left}`,
  );
  const body = await res.text();
  expect(body).not.toContain("failure reason");
}

/** GET /scrape; the body exactly as sent (no automatic decompression). */
async function scrape(base: string, acceptEncoding: string): Promise<{ res: Response; body: Uint8Array<ArrayBuffer> }> {
  const res = await fetch(`${base}/scrape`, { headers: { "Accept-Encoding": acceptEncoding }, decompress: false });
  return { res, body: new Uint8Array(await res.arrayBuffer()) };
}

interface ScrapeEntry {
  complete: number;
  downloaded: number;
  incomplete: number;
}

/** Decode a full-scrape body: [hex info_hash, entry] in the order they appear on the wire. */
function decodeFiles(body: Uint8Array): [string, ScrapeEntry][] {
  const d = bencode.decode(body) as { files: Record<string, ScrapeEntry> };
  // npm bencode 4 decodes a dict key as UTF-8 text, or as hex when the bytes are not UTF-8.
  // 20 bytes of UTF-8 are at most 20 characters, so a 40-character key is the hex form.
  return Object.entries(d.files).map(([k, v]) => [k.length === 40 ? k : hex(new TextEncoder().encode(k)), v]);
}

/** Keys of the raw bencoded `files` dict, read straight off the wire (order preserved). */
function wireKeys(body: Uint8Array): string[] {
  const keys: string[] = [];
  let o = "d5:filesd".length;
  const text = Buffer.from(body).toString("latin1");
  while (text[o] !== "e") {
    expect(text.slice(o, o + 3)).toBe("20:");
    keys.push(hex(body.subarray(o + 3, o + 23)));
    o = text.indexOf("ee", o + 23) + 2; // each value is d..i..e..i..e..i..ee
  }
  return keys;
}

/** An announce straight into the rules (no socket): 127.0.0.1:port. */
function announceDirect(rules: TrackerRules, ih: Uint8Array, port: number, seeder: boolean, completed = false): void {
  const req = new AnnounceRequest();
  req.infoHash = ih;
  req.peerId = new Uint8Array(20);
  req.record.set([127, 0, 0, 1, port >> 8, port & 0xff]);
  req.leftIsZero = seeder;
  req.event = completed ? EVENT_COMPLETED : EVENT_NONE;
  req.bothFamilies = true;
  const res = new AnnounceResult();
  rules.announce(req, res);
  expect(res.refusal).toBeNull();
}

// ---- unit ------------------------------------------------------------------------------------------

describe("acceptsGzip", () => {
  test.each([
    [null, false],
    ["", false],
    ["gzip", true],
    ["GZip", true],
    ["x-gzip", true],
    ["gzip, deflate, br, zstd", true],
    ["deflate, gzip;q=0.5", true],
    ["gzip;q=0", false],
    ["gzip; q=0.000", false],
    ["br, gzip ; q=1.0", true],
    ["*", false],
    ["identity", false],
    ["gzipx", false],
  ])("%p -> %p", (header, want) => {
    expect(acceptsGzip(header)).toBe(want);
  });
});

describe("renderFullScrape", () => {
  test("an empty tracker is an empty files dict", async () => {
    const rules = new TrackerRules(testConfig([]));
    expect(Buffer.from(await renderFullScrape(rules.store)).toString()).toBe("d5:filesdee");
  });

  test("every torrent once, keys in raw byte order, counts from the store", async () => {
    const rules = new TrackerRules(testConfig([]));
    const expected = new Map<string, ScrapeEntry>();
    const ih = new Uint8Array(20);
    // Random hashes, plus groups sharing their first 4 bytes (the sort's tie-break path) and
    // hashes differing only in the last byte.
    for (let i = 0; i < 3000; i++) {
      crypto.getRandomValues(ih);
      if (i % 10 < 4) ih.set([0x12, 0x34, 0x56, i % 10]);
      if (i % 100 === 0) {
        ih.fill(0x77, 0, 19);
        ih[19] = i / 100;
      }
      if (expected.has(hex(ih))) continue; // a random repeat (practically never)
      const seeders = i % 3;
      const leechers = (i * 7) % 4 || (seeders === 0 ? 1 : 0); // every torrent has a peer
      let port = 1;
      for (let s = 0; s < seeders; s++) announceDirect(rules, ih, port++, true, s === 0);
      for (let l = 0; l < leechers; l++) announceDirect(rules, ih, port++, false);
      expected.set(hex(ih), { complete: seeders, downloaded: seeders > 0 ? 1 : 0, incomplete: leechers });
    }
    const body = await renderFullScrape(rules.store, 7); // slices of 7 torrents
    const keys = wireKeys(body);
    expect(keys.length).toBe(rules.store.torrentCount);
    expect(keys).toEqual([...expected.keys()].sort());
    expect(new Set(keys).size).toBe(keys.length);
    const files = new Map(decodeFiles(body));
    for (const [k, v] of expected) expect(files.get(k)).toEqual(v);
  });

  test("the store hands torrents over in hash order, hashes sharing a 4-byte prefix ordered by the rest", () => {
    const rules = new TrackerRules(testConfig([]));
    const hashes = [
      [0xff, 0, 0, 0, 1],
      [0, 0, 0, 1, 0xff],
      [0, 0, 0, 1, 0x00, 5],
      [0, 0, 0, 1, 0x00, 4],
      [0, 0, 0, 0],
      [0xff, 0, 0, 0, 0],
    ].map((p) => {
      const h = new Uint8Array(20);
      h.set(p);
      return h;
    });
    hashes.forEach((h, i) => announceDirect(rules, h, 1000 + i, false));
    const got: string[] = [];
    const order = rules.store.torrentsInHashOrder();
    order.visit(0, order.count, (hash, off) => got.push(hex(hash.subarray(off, off + 20))));
    expect(got).toEqual(hashes.map(hex).sort());
  });
});

// Regression guard for the sliced render: between two slices torrents leave and arrive, and a
// freed torrent id is handed to a new torrent; the body must stay valid bencode (keys strictly
// ascending, each once), and every torrent there from start to end is in it. (A torrent that
// arrived on a reused id may be in it too, where it sorts: that is still a valid answer.)
test("a render in slices stays valid while torrents come and go between its slices", async () => {
  const rules = new TrackerRules(testConfig([]));
  const hashAt = (i: number) => {
    const h = new Uint8Array(20);
    new DataView(h.buffer).setUint32(0, (i * 2654435761) >>> 0);
    h[19] = i & 255;
    return h;
  };
  for (let i = 0; i < 300; i++) announceDirect(rules, hashAt(i), 1000, false);
  const stayed = new Set(Array.from({ length: 300 }, (_, i) => hex(hashAt(i))));
  const rendering = renderFullScrape(rules.store, 10);
  for (let round = 0; round < 40; round++) {
    // A torrent leaves (its id is freed) and a new one arrives (and takes that id).
    const leaving = hashAt(round * 7);
    stayed.delete(hex(leaving));
    const req = new AnnounceRequest();
    req.infoHash = leaving;
    req.peerId = new Uint8Array(20);
    req.record.set([127, 0, 0, 1, 1000 >> 8, 1000 & 255]);
    req.event = 3; // stopped
    rules.announce(req, new AnnounceResult());
    announceDirect(rules, hashAt(10_000 + round), 1000, false);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const body = await rendering;
  const keys = wireKeys(body);
  expect(keys).toEqual([...keys].sort());
  expect(new Set(keys).size).toBe(keys.length);
  const got = new Set(keys);
  for (const k of stayed) expect(got.has(k)).toBe(true);
  expect(decodeFiles(body).length).toBe(keys.length);
});

describe("createFullScrape cache (fake clock)", () => {
  function setup(cacheSeconds: number) {
    const rules = new TrackerRules(testConfig(["--full-scrape", "--full-scrape-cache", String(cacheSeconds)]));
    let now = 0;
    const handler = createFullScrape(rules, { now: () => now });
    const get = async (ae = "identity") =>
      new Uint8Array(await (await handler(new Request("http://tracker/scrape", { headers: { "Accept-Encoding": ae } }))).arrayBuffer());
    return { rules, get, at: (t: number) => (now = t) };
  }

  test("one render per window; the next window sees new torrents", async () => {
    const { rules, get, at } = setup(30);
    announceDirect(rules, new Uint8Array(20).fill(1), 1, true);
    const first = await get();
    announceDirect(rules, new Uint8Array(20).fill(2), 1, true);
    at(29_999);
    expect(await get()).toEqual(first);
    expect(Bun.gunzipSync(await get("gzip"))).toEqual(first); // same window, gzipped once
    expect(rules.counters[C.httpFullScrapeRenders]).toBe(1);
    at(30_000);
    const next = await get();
    expect(decodeFiles(next).length).toBe(2);
    expect(rules.counters[C.httpFullScrapeRenders]).toBe(2);
    expect(rules.counters[C.http200]).toBe(4);
  });

  test("fullScrapeCache 0 renders every time", async () => {
    const { rules, get } = setup(0);
    await get();
    await get();
    expect(rules.counters[C.httpFullScrapeRenders]).toBe(2);
  });
});

describe("createFullScrape: shared bodies, bounded concurrency", () => {
  // Regression (issue 12): each answer held its own copy of the body (20 concurrent answers of a
  // 35 MB body: 790 MiB), and nothing bounded how many were under way.
  test("answers stream one shared body; past --full-scrape-max-concurrent: 503 with Retry-After; a slot frees when its reader finishes or leaves", async () => {
    const rules = new TrackerRules(testConfig(["--full-scrape", "--full-scrape-max-concurrent", "2", "--full-scrape-cache", "30"]));
    for (let i = 0; i < 2000; i++) announceDirect(rules, new Uint8Array(20).fill(i & 255).map((b, k) => (k === 0 ? i >> 8 : b)), 1, i % 2 === 0);
    const handler = createFullScrape(rules, { chunkBytes: 1024 });
    const request = () => handler(new Request("http://tracker/scrape"));
    const a = await request();
    const b = await request();
    expect([a.status, b.status]).toEqual([200, 200]);
    const busy = await request(); // both slots taken: their bodies are not read yet
    expect(busy.status).toBe(503);
    expect(busy.headers.get("Retry-After")).toBe("30");
    expect(rules.counters[C.http503]).toBe(1);
    // The readers get the same bytes, in many chunks (views of the one body).
    const readerA = a.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const r = await readerA.read();
      if (r.done) break;
      chunks.push(r.value);
    }
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.every((c) => c.buffer === chunks[0]!.buffer)).toBe(true); // one shared buffer
    const whole = new Uint8Array(Buffer.concat(chunks));
    expect(decodeFiles(whole).length).toBe(2000);
    // A finished reader frees its slot; so does one that leaves early.
    expect((await request()).status).toBe(200);
    await b.body!.cancel();
    const c = await request();
    expect(c.status).toBe(200);
    expect(new Uint8Array(await c.arrayBuffer())).toEqual(whole);
    expect(rules.counters[C.httpFullScrapeRenders]).toBe(1);
  });
});

// ---- integration ----------------------------------------------------------------------------------

describe("against a running tracker", () => {
  test("off (the default): /scrape without info_hash gets a bencoded failure reason", async () => {
    await withTracker([], async (t, base) => {
      const { res, body } = await scrape(base, "gzip");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBeNull();
      const d = bencode.decode(body) as Record<string, Uint8Array>;
      expect(new TextDecoder().decode(d["failure reason"])).toContain("full scrape is disabled");
      expect(t.rules.counters[C.httpFullScrapeRenders]).toBe(0);
    });
  });

  test("on: plain and gzipped bodies list every torrent, sorted", async () => {
    await withTracker(["--full-scrape"], async (t, base) => {
      const hashes = [0xc3, 0x01, 0x7f, 0xfe].map((b) => new Uint8Array(20).fill(b));
      let port = 7000;
      for (const h of hashes) await httpAnnounce(base, h, port++, 10);
      await httpAnnounce(base, hashes[0]!, port++, 0); // a seeder on 0xc3..

      const plain = await scrape(base, "identity");
      expect(plain.res.status).toBe(200);
      expect(plain.res.headers.get("content-encoding")).toBeNull();
      expect(wireKeys(plain.body)).toEqual(hashes.map(hex).sort());
      const files = new Map(decodeFiles(plain.body));
      expect(files.get(hex(hashes[0]!))).toEqual({ complete: 1, downloaded: 0, incomplete: 1 });
      expect(files.get(hex(hashes[1]!))).toEqual({ complete: 0, downloaded: 0, incomplete: 1 });

      const gz = await scrape(base, "gzip, deflate");
      expect(gz.res.status).toBe(200);
      expect(gz.res.headers.get("content-encoding")).toBe("gzip");
      expect(gz.res.headers.get("vary")).toBe("Accept-Encoding");
      expect(Bun.gunzipSync(gz.body)).toEqual(plain.body);
      expect(t.rules.counters[C.httpFullScrapes]).toBe(2);
    });
  });

  test("a burst within the cache window costs one render and returns the same body", async () => {
    await withTracker(["--full-scrape", "--full-scrape-cache", "600"], async (t, base) => {
      await httpAnnounce(base, new Uint8Array(20).fill(0x10), 7001, 10);
      const first = (await scrape(base, "identity")).body;
      await httpAnnounce(base, new Uint8Array(20).fill(0x20), 7002, 10);
      for (let i = 0; i < 5; i++) expect((await scrape(base, "identity")).body).toEqual(first);
      expect(decodeFiles(first).length).toBe(1);
      expect(t.rules.counters[C.httpFullScrapeRenders]).toBe(1);
    });
  });

  test("after the cache expires the new torrent appears", async () => {
    await withTracker(["--full-scrape", "--full-scrape-cache", "1"], async (_t, base) => {
      await httpAnnounce(base, new Uint8Array(20).fill(0x10), 7001, 10);
      expect(decodeFiles((await scrape(base, "identity")).body).length).toBe(1);
      await httpAnnounce(base, new Uint8Array(20).fill(0x20), 7002, 10);
      // Bounded wait: the 1 s window must expire well within 5 s.
      let seen = 0;
      for (let i = 0; i < 25 && seen < 2; i++) {
        await Bun.sleep(200);
        seen = decodeFiles((await scrape(base, "identity")).body).length;
      }
      expect(seen).toBe(2);
    });
  });
});
