/**
 * The real tracker on 127.0.0.1 / ::1 (port 0), spoken to over real HTTP sockets.
 */
import { describe, expect, test } from "bun:test";
import bencode from "bencode";
import { connect } from "node:net";
import { versionLine } from "../src/version.ts";
import { announceUrl, bytes20, compactPeers, getBencoded, pct, text, withTracker } from "./support/tracker.ts";

const base = (port: number, host = "127.0.0.1") => `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

describe("HTTP announce", () => {
  test("two peers see each other and never themselves; counts follow", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const b = base(t.httpPort);
      const ih = bytes20(7);
      const a = await getBencoded(announceUrl(b, { infoHash: ih, port: 1001, event: "started" }));
      expect(a.complete).toBe(0);
      expect(a.incomplete).toBe(1);
      expect(a.interval).toBe(299);
      expect(a["min interval"]).toBe(299);
      expect(a.peers).toHaveLength(0);
      const s = await getBencoded(announceUrl(b, { infoHash: ih, port: 1002, left: "0" }));
      expect([s.complete, s.incomplete]).toEqual([1, 1]);
      expect(compactPeers(s.peers, 6)).toEqual(["127.0.0.1:1001"]);
      const a2 = await getBencoded(announceUrl(b, { infoHash: ih, port: 1001 }));
      expect(compactPeers(a2.peers, 6)).toEqual(["127.0.0.1:1002"]);
      expect(a2.peers6).toBeUndefined();
    });
  });

  test("answer keys are in sorted order and the body is strictly valid bencode", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const res = await fetch(announceUrl(base(t.httpPort), { infoHash: bytes20(1), port: 5000 }));
      const raw = new Uint8Array(await res.arrayBuffer());
      expect(text(raw)).toStartWith("d8:completei0e10:downloadedi0e10:incompletei1e8:intervali299e12:min intervali299e5:peers0:e");
      expect(res.headers.get("content-type")).toStartWith("text/plain");
    });
  });

  test("stopped removes the peer; completed counts once per peer", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const b = base(t.httpPort);
      const ih = bytes20(9);
      await getBencoded(announceUrl(b, { infoHash: ih, port: 1 }));
      await getBencoded(announceUrl(b, { infoHash: ih, port: 2 }));
      let r = await getBencoded(announceUrl(b, { infoHash: ih, port: 1, left: "0", event: "completed" }));
      expect([r.complete, r.incomplete, r.downloaded]).toEqual([1, 1, 1]);
      r = await getBencoded(announceUrl(b, { infoHash: ih, port: 1, left: "0", event: "completed" }));
      expect(r.downloaded).toBe(1);
      r = await getBencoded(announceUrl(b, { infoHash: ih, port: 2, event: "stopped" }));
      expect([r.complete, r.incomplete]).toEqual([1, 0]);
      r = await getBencoded(announceUrl(b, { infoHash: ih, port: 3, event: "paused" }));
      expect(compactPeers(r.peers, 6)).toEqual(["127.0.0.1:1"]);
    });
  });

  test("numwant bounds the answer and is capped by --numwant-max", async () => {
    await withTracker(["--host", "127.0.0.1", "--numwant-max", "5", "--numwant-default", "3"], async (t) => {
      const b = base(t.httpPort);
      const ih = bytes20(3);
      for (let p = 1; p <= 10; p++) await getBencoded(announceUrl(b, { infoHash: ih, port: p }));
      const dflt = await getBencoded(announceUrl(b, { infoHash: ih, port: 100 }));
      expect(compactPeers(dflt.peers, 6)).toHaveLength(3);
      const two = await getBencoded(announceUrl(b, { infoHash: ih, port: 100, extra: "numwant=2" }));
      expect(compactPeers(two.peers, 6)).toHaveLength(2);
      const capped = await getBencoded(announceUrl(b, { infoHash: ih, port: 100, extra: "numwant=500" }));
      const got = compactPeers(capped.peers, 6);
      expect(got).toHaveLength(5);
      expect(new Set(got).size).toBe(5);
      expect(got).not.toContain("127.0.0.1:100");
    });
  });

  test("compact=0 gives dicts with peer ids; no_peer_id=1 leaves them out", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const b = base(t.httpPort);
      const ih = bytes20(4);
      const pid = new Uint8Array(20).map((_, i) => (i * 37 + 200) & 255); // binary, not UTF-8
      // Peer ids are kept from the first request that asks for them on: 4242 announced before
      // that, so its id is not known until it announces again. Regression: it was listed as a
      // dict without `peer id` (not BEP 3); the answer is now the compact form (BEP 23), with
      // the peer still in it: the client that asked is not starved.
      await getBencoded(announceUrl(b, { infoHash: ih, port: 4242, peerId: pid }));
      const before = await getBencoded(announceUrl(b, { infoHash: ih, port: 4243, extra: "compact=0" }));
      expect(before.peers).toBeInstanceOf(Uint8Array);
      expect(compactPeers(before.peers, 6)).toEqual(["127.0.0.1:4242"]);
      // With no_peer_id=1 the client wants no ids: dicts it can have, without them.
      const noIds = await getBencoded(announceUrl(b, { infoHash: ih, port: 4243, extra: "compact=0&no_peer_id=1" }));
      expect(noIds.peers).toHaveLength(1);
      expect(Object.keys(noIds.peers[0]).sort()).toEqual(["ip", "port"]);
      await getBencoded(announceUrl(b, { infoHash: ih, port: 4242, peerId: pid }));
      const r = await getBencoded(announceUrl(b, { infoHash: ih, port: 4243, extra: "compact=0" }));
      expect(r.peers).toHaveLength(1);
      expect(text(r.peers[0].ip)).toBe("127.0.0.1");
      expect(r.peers[0].port).toBe(4242);
      expect(Array.from(r.peers[0]["peer id"])).toEqual(Array.from(pid));
      // And 4242 sees 4243's id: its compact=0 announce came after the switch.
      const back = await getBencoded(announceUrl(b, { infoHash: ih, port: 4242, peerId: pid, extra: "compact=0" }));
      expect(back.peers[0].port).toBe(4243);
      expect(back.peers[0]["peer id"]).toBeDefined();
      const n = await getBencoded(announceUrl(b, { infoHash: ih, port: 4243, extra: "compact=0&no_peer_id=1" }));
      expect(Object.keys(n.peers[0]).sort()).toEqual(["ip", "port"]);
    });
  });

  test("--no-peer-ids: compact=0 is answered compact (no ids to list), dicts only with no_peer_id=1", async () => {
    await withTracker(["--host", "127.0.0.1", "--no-peer-ids"], async (t) => {
      const b = base(t.httpPort);
      const ih = bytes20(8);
      await getBencoded(announceUrl(b, { infoHash: ih, port: 4242 }));
      const asked = await getBencoded(announceUrl(b, { infoHash: ih, port: 4243, extra: "compact=0" }));
      expect(compactPeers(asked.peers, 6)).toEqual(["127.0.0.1:4242"]);
      const r = await getBencoded(announceUrl(b, { infoHash: ih, port: 4243, extra: "compact=0&no_peer_id=1" }));
      expect(r.peers).toHaveLength(1);
      expect(Object.keys(r.peers[0]).sort()).toEqual(["ip", "port"]);
      expect(r.peers[0].port).toBe(4242);
      const c = await getBencoded(announceUrl(b, { infoHash: ih, port: 4243 }));
      expect(compactPeers(c.peers, 6)).toEqual(["127.0.0.1:4242"]);
    });
  });

  // Regression: the proxy header's FIRST entry is written by the client; only the last one, added
  // by the operator's own proxy, may be trusted.
  test("--trust-proxy-header uses the last entry of the header", async () => {
    await withTracker(["--host", "127.0.0.1", "--trust-proxy-header", "x-forwarded-for"], async (t) => {
      const b = base(t.httpPort);
      const ih = bytes20(10);
      await fetch(announceUrl(b, { infoHash: ih, port: 1 }), { headers: { "x-forwarded-for": "6.6.6.6, 10.1.2.3" } });
      const r = await getBencoded(announceUrl(b, { infoHash: ih, port: 2 }));
      expect(compactPeers(r.peers, 6)).toEqual(["10.1.2.3:1"]);
    });
  });

  test("left up to 2^64-1 is accepted; a seeder is left=0", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const b = base(t.httpPort);
      const r = await getBencoded(announceUrl(b, { infoHash: bytes20(5), port: 1, left: "18446744073709551615" }));
      expect([r.complete, r.incomplete]).toEqual([0, 1]);
      const e = await getBencoded(announceUrl(b, { infoHash: bytes20(5), port: 1, left: "18446744073709551616" }));
      expect(text(e["failure reason"])).toContain("left");
    });
  });

  test.each([
    ["missing info_hash", "peer_id=" + pct(bytes20(1)) + "&port=1", "info_hash"],
    ["short info_hash", "info_hash=%01%02&peer_id=" + pct(bytes20(1)) + "&port=1", "info_hash"],
    ["missing peer_id", "info_hash=" + pct(bytes20(1)) + "&port=1", "peer_id"],
    ["port 0", "info_hash=" + pct(bytes20(1)) + "&peer_id=" + pct(bytes20(1)) + "&port=0", "port"],
    ["port 70000", "info_hash=" + pct(bytes20(1)) + "&peer_id=" + pct(bytes20(1)) + "&port=70000", "port"],
    ["negative uploaded", "info_hash=" + pct(bytes20(1)) + "&peer_id=" + pct(bytes20(1)) + "&port=1&uploaded=-1", "uploaded"],
    ["unknown event", "info_hash=" + pct(bytes20(1)) + "&peer_id=" + pct(bytes20(1)) + "&port=1&event=bogus", "event"],
    ["bad escape", "info_hash=%zz" + "&peer_id=" + pct(bytes20(1)) + "&port=1", "percent"],
  ])("bad announce (%s) gets a bencoded failure reason", async (_name, query, mentions) => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const res = await fetch(`${base(t.httpPort)}/announce?${query}`);
      expect(res.status).toBe(200);
      const raw = new Uint8Array(await res.arrayBuffer());
      const d = bencode.decode(raw);
      expect(Object.keys(d)).toEqual(["failure reason"]);
      const reason = text(d["failure reason"]);
      expect(reason.toLowerCase()).toContain(mentions.toLowerCase());
      // strictly valid: re-encoding gives the same bytes
      expect(Array.from(bencode.encode(d))).toEqual(Array.from(raw));
    });
  });

  test("IPv6: a tracker on ::1 returns IPv6 peers in peers6 (18-byte records)", async () => {
    await withTracker(["--host", "::1"], async (t) => {
      const b = base(t.httpPort, "::1");
      const ih = bytes20(6);
      await getBencoded(announceUrl(b, { infoHash: ih, port: 7001 }));
      const r = await getBencoded(announceUrl(b, { infoHash: ih, port: 7002 }));
      expect(r.peers).toHaveLength(0);
      expect(compactPeers(r.peers6, 18)).toEqual(["[0:0:0:0:0:0:0:1]:7001"]);
      const d = await getBencoded(announceUrl(b, { infoHash: ih, port: 7002, extra: "compact=0&no_peer_id=1" }));
      expect(text(d.peers[0].ip)).toBe("::1");
      expect(d.peers[0].port).toBe(7001);
    });
  });
});

describe("HTTP scrape", () => {
  test("several hashes: de-duplicated, sorted by raw bytes, unknown ones are zeros", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const b = base(t.httpPort);
      const h1 = bytes20(0xf0, 0xf0);
      const h2 = bytes20(0x01, 0x01);
      const unknown = bytes20(0x55, 0x55);
      await getBencoded(announceUrl(b, { infoHash: h1, port: 1, left: "0" }));
      await getBencoded(announceUrl(b, { infoHash: h1, port: 2 }));
      await getBencoded(announceUrl(b, { infoHash: h2, port: 1, left: "0", event: "completed" }));
      const res = await fetch(`${b}/scrape?info_hash=${pct(h1)}&info_hash=${pct(unknown)}&info_hash=${pct(h2)}&info_hash=${pct(h1)}`);
      const raw = new Uint8Array(await res.arrayBuffer());
      const d = bencode.decode(raw);
      // Order of keys in the raw body: h2 (0x01...) < unknown (0x55...) < h1 (0xf0...).
      const keys = [h2, unknown, h1].map((h) => Buffer.from(h).toString("latin1"));
      const body = Buffer.from(raw).toString("latin1");
      const positions = keys.map((k) => body.indexOf("20:" + k));
      expect(positions.every((p) => p > 0)).toBe(true);
      expect([...positions].sort((x, y) => x - y)).toEqual(positions);
      const files = d.files;
      expect(Object.keys(files)).toHaveLength(3);
      const get = (h: Uint8Array) => files[Buffer.from(h).toString()];
      // npm bencode decodes keys as UTF-8 strings: find entries by re-decoding the raw keys instead.
      expect(get(h2) ?? null).not.toBeUndefined();
      const entries = Object.values(files) as any[];
      expect(entries.map((e) => [e.complete, e.downloaded, e.incomplete])).toEqual([[1, 1, 0], [0, 0, 0], [1, 0, 1]]);
    });
  });

  test("no info_hash: a failure reason (full scrape is off by default)", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const d = await getBencoded(`${base(t.httpPort)}/scrape`);
      expect(text(d["failure reason"])).toContain("full scrape");
    });
  });

  test("more hashes than --scrape-max-hashes: a failure reason", async () => {
    await withTracker(["--host", "127.0.0.1", "--scrape-max-hashes", "2"], async (t) => {
      const q = [1, 2, 3].map((i) => `info_hash=${pct(bytes20(i, i))}`).join("&");
      const d = await getBencoded(`${base(t.httpPort)}/scrape?${q}`);
      expect(text(d["failure reason"])).toMatch(/2/);
    });
  });
});

describe("HTTP other paths", () => {
  test("/ banner, 404, 405, HEAD", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const b = base(t.httpPort);
      const root = await fetch(`${b}/`);
      expect(root.status).toBe(200);
      const banner = await root.text();
      expect(banner.split("\n").filter(Boolean)).toHaveLength(1);
      expect(banner).toStartWith(`${versionLine()}: a BitTorrent tracker.`); // the version, as --version says it
      expect((await fetch(`${b}/nope`)).status).toBe(404);
      expect((await fetch(`${b}/announce`, { method: "POST", body: "x" })).status).toBe(405);
      const head = await fetch(announceUrl(b, { infoHash: bytes20(1), port: 1 }), { method: "HEAD" });
      expect(head.status).toBe(200);
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    });
  });

  /** One raw HTTP/1.0 request (no Host header: Bun then hands the fetch handler a relative URL). */
  async function rawHttp10(port: number, target: string): Promise<{ status: number; body: Buffer }> {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    sock.on("data", (d) => chunks.push(Buffer.from(d)));
    const closed = new Promise<void>((resolve) => sock.on("close", () => resolve()));
    await new Promise<void>((r) => sock.on("connect", () => r()));
    sock.write(`GET ${target} HTTP/1.0\r\n\r\n`);
    await closed;
    const all = Buffer.concat(chunks);
    const head = all.indexOf("\r\n\r\n");
    return { status: Number(all.subarray(9, 12).toString()), body: all.subarray(head + 4) };
  }

  // Regression: without a Host header req.url is "/announce?...", the old path finder looked for
  // "//" and answered the banner page; and any path ending in /announce was taken as one.
  test("routes on the exact path, with or without a Host header", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const q = `info_hash=${pct(bytes20(5))}&peer_id=${pct(bytes20(6))}&port=77`;
      const a = await rawHttp10(t.httpPort, `/announce?${q}`);
      expect(a.status).toBe(200);
      const d = bencode.decode(a.body) as Record<string, unknown>;
      expect(d.interval).toBeGreaterThan(0);
      expect(d["failure reason"]).toBeUndefined();
      const s = await rawHttp10(t.httpPort, `/scrape?info_hash=${pct(bytes20(5))}`);
      expect(Object.keys((bencode.decode(s.body) as { files: object }).files)).toHaveLength(1);
      expect((await rawHttp10(t.httpPort, `/x/announce?${q}`)).status).toBe(404);
      expect((await rawHttp10(t.httpPort, `//announce?${q}`)).status).toBe(404);
      const b = base(t.httpPort);
      expect((await fetch(`${b}/x/announce?${q}`)).status).toBe(404);
      expect((await fetch(`${b}/announce/?${q}`)).status).toBe(404);
      expect((await fetch(`${b}/scrapes`)).status).toBe(404);
      const root = await rawHttp10(t.httpPort, "/");
      expect(root.body.toString()).toContain("sc6-tracker");
    });
  });

  test("keep-alive serves several requests on one connection; idle connections are closed", async () => {
    await withTracker(["--host", "127.0.0.1", "--http-idle-timeout", "1"], async (t) => {
      const req = `GET /announce?info_hash=${pct(bytes20(2))}&peer_id=${pct(bytes20(3))}&port=9 HTTP/1.1\r\nHost: x\r\n\r\n`;
      const sock = connect(t.httpPort, "127.0.0.1");
      let received = "";
      let closedAt = 0;
      const closed = new Promise<void>((resolve) => sock.on("close", () => { closedAt = Date.now(); resolve(); }));
      sock.on("data", (d) => { received += d.toString("latin1"); });
      await new Promise<void>((r) => sock.on("connect", () => r()));
      sock.write(req + req);
      const start = Date.now();
      // Two answers arrive on the one connection.
      for (let i = 0; i < 100 && received.split("HTTP/1.1 200").length < 3; i++) await Bun.sleep(20);
      expect(received.split("HTTP/1.1 200").length).toBe(3);
      // Then the server closes it once idle (1 s timeout; bounded wait of 10 s).
      await Promise.race([closed, Bun.sleep(10_000)]);
      expect(closedAt).toBeGreaterThan(0);
      expect(closedAt - start).toBeGreaterThanOrEqual(500);
      sock.destroy();
    });
  });
});
