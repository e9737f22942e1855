/**
 * The operator routes (src/operator/stats/routes.ts) against the real tracker on 127.0.0.1,
 * port 0: /stats, /stats?format=json, /metrics and the statsAllow rule.
 */
import { describe, expect, test } from "bun:test";
import { C } from "../src/rules/counters.ts";
import { SWARM_CACHE_MS, type StatsSnapshot } from "../src/operator/stats/collect.ts";
import type { Tracker } from "../src/tracker.ts";
import { pct, withTracker as withTrackerOn } from "./support/tracker.ts";
import { metric, parseMetrics } from "./stats-support.ts";

// ---- helpers ------------------------------------------------------------------------------------

/** The tracker on 127.0.0.1 (port 0), with the base URL of its HTTP side. */
async function withTracker(args: string[], fn: (t: Tracker, base: string) => Promise<void>): Promise<void> {
  await withTrackerOn(["--host", "127.0.0.1", ...args], (t) => fn(t, `http://127.0.0.1:${t.httpPort}`));
}

function filled(byte: number, tag = 0): Uint8Array {
  const b = new Uint8Array(20).fill(byte);
  b[19] = tag;
  return b;
}

/** One HTTP announce; `from` sets x-forwarded-for (only honoured with --trust-proxy-header). */
async function announce(base: string, infoHash: Uint8Array, port: number, left: number, from?: string): Promise<void> {
  const url = `${base}/announce?info_hash=${pct(infoHash)}&peer_id=${pct(filled(0x2d, port & 0xff))}` +
    `&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1`;
  const res = await fetch(url, from === undefined ? {} : { headers: { "x-forwarded-for": from } });
  const body = await res.text();
  expect(res.status).toBe(200);
  expect(body).not.toContain("failure reason");
}

/** A BEP 15 connect over UDP from 127.0.0.1; resolves with the 16-byte reply (bounded wait). */
async function udpConnect(port: number): Promise<Uint8Array> {
  let resolve!: (b: Uint8Array) => void;
  const reply = new Promise<Uint8Array>((r) => (resolve = r));
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: { data: (_s, buf) => resolve(new Uint8Array(buf)) },
  });
  try {
    const req = Buffer.alloc(16);
    req.writeUInt32BE(0x417, 0);
    req.writeUInt32BE(0x27101980, 4);
    req.writeUInt32BE(0, 8); // action connect
    req.writeUInt32BE(0xabcdef, 12); // transaction id
    for (let attempt = 0; attempt < 10; attempt++) {
      sock.send(req, port, "127.0.0.1");
      const got = await Promise.race([reply, Bun.sleep(300).then(() => null)]);
      if (got !== null) return got;
    }
    throw new Error("no UDP connect reply");
  } finally {
    sock.close();
  }
}

// ---- integration --------------------------------------------------------------------------------

describe("against a running tracker", () => {
  test("/stats, /stats?format=json and /metrics report what was announced", async () => {
    // The proxy header lets one loopback test make IPv6 peers; the stats pages never read it.
    await withTracker(["--trust-proxy-header", "x-forwarded-for"], async (t, base) => {
      const a = filled(0xa1);
      const b = filled(0xb2);
      await announce(base, a, 6001, 0); // seeder
      await announce(base, a, 6002, 10); // leecher
      await announce(base, b, 6003, 0); // seeder
      await announce(base, b, 6004, 5, "2001:db8::7"); // IPv6 leecher
      await announce(base, b, 6005, 5, "2001:db8::8"); // IPv6 leecher
      const reply = await udpConnect(t.udpPort);
      expect(reply.length).toBe(16);

      const res = await fetch(`${base}/stats?format=json`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toStartWith("application/json");
      const s = (await res.json()) as StatsSnapshot;
      expect(s.swarm).toMatchObject({ torrents: 2, peers: 5, peersIPv4: 3, peersIPv6: 2, seeders: 2, leechers: 3 });
      expect(s.http.announces).toBe(5);
      expect(s.http.responses["200"]).toBe(5);
      expect(s.http.requests).toBe(6); // five announces and this request
      expect(s.http.bytesOut).toBeGreaterThan(0);
      expect(s.udp.connects).toBe(1);
      expect(s.udp.packets).toBe(1);
      expect(s.udp.bytesIn).toBe(16);
      expect(s.udp.bytesOut).toBe(16);
      expect(s.intervalSeconds).toBe(t.rules.interval);
      expect(s.openHttpRequests).toBeGreaterThanOrEqual(1); // this request is in flight
      expect(s.memory.rss).toBeGreaterThan(0);
      expect(s.memory.swarmStore).toBe(t.rules.store.figures().bytes);
      // Every announce so far asked for compact answers: no peer_id column yet.
      expect(s.memory.peerIds).toBe(0);
      expect(s.memory.peerIdState).toBe("unused");
      expect(Date.parse(s.startTime)).toBe(t.rules.startedAt.getTime());
      expect(s.counters.httpAnnounces).toBe(5);

      const text = await (await fetch(`${base}/stats`)).text();
      expect(text).toMatch(/^torrents += +2 \(max /m);
      expect(text).toMatch(/^peers_ipv4 += +3$/m);
      expect(text).toMatch(/^peers_ipv6 += +2$/m);
      expect(text).toMatch(/^seeders += +2$/m);
      expect(text).toMatch(/^leechers += +3$/m);
      expect(text).toMatch(/^stats\.announce += +5$/m);
      expect(text).toMatch(/^stats\.connect_udp += +1$/m);
      expect(text).toMatch(/^Interval = \d+$/m);
      expect(text).toMatch(/^Open HTTP requests: \d+$/m);
      expect(text).toMatch(/^memory\.rss += +[\d,]+$/m);

      const m = await fetch(`${base}/metrics`);
      expect(m.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const parsed = parseMetrics(await m.text());
      for (const name of parsed.types.keys()) expect(parsed.helps.has(name)).toBe(true);
      for (const s of parsed.samples) expect(Number.isFinite(s.value)).toBe(true);
      expect(metric(parsed.samples, "tracker_announces_total", { protocol: "http" })).toBe(5);
      expect(metric(parsed.samples, "tracker_connects_total", { protocol: "udp" })).toBe(1);
      expect(metric(parsed.samples, "tracker_requests_total", { protocol: "udp" })).toBe(1);
      expect(metric(parsed.samples, "tracker_peers", { family: "ipv4" })).toBe(3);
      expect(metric(parsed.samples, "tracker_peers", { family: "ipv6" })).toBe(2);
      expect(metric(parsed.samples, "tracker_torrents")).toBe(2);
      expect(metric(parsed.samples, "tracker_seeders")).toBe(2);
      expect(metric(parsed.samples, "tracker_leechers")).toBe(3);
      expect(metric(parsed.samples, "tracker_announce_interval_seconds")).toBe(t.rules.interval);
      expect(metric(parsed.samples, "tracker_swarm_store_bytes")).toBe(t.rules.store.figures().bytes);
    });
  });

  test("an unknown format is a 400; other paths still 404", async () => {
    await withTracker([], async (_t, base) => {
      expect((await fetch(`${base}/stats?format=xml`)).status).toBe(400);
      expect((await fetch(`${base}/stats/more`)).status).toBe(404);
      expect((await fetch(`${base}/metricsx`)).status).toBe(404);
    });
  });

  test("peer ids: not kept until a compact=0 request asks for them, then shown on /stats and /metrics", async () => {
    await withTracker([], async (_t, base) => {
      await announce(base, filled(0xc3), 6001, 0);
      expect(await (await fetch(`${base}/stats`)).text()).toMatch(/^memory\.peer_ids += +0 \(not kept: no client has asked/m);
      const url = `${base}/announce?info_hash=${pct(filled(0xc3))}&peer_id=${pct(filled(0x2d))}&port=6002&left=1&compact=0`;
      await (await fetch(url)).text();
      // The store's figures (peer_id bytes and state with them) are reused for SWARM_CACHE_MS.
      await Bun.sleep(SWARM_CACHE_MS);
      const s = (await (await fetch(`${base}/stats?format=json`)).json()) as StatsSnapshot;
      expect(s.memory.peerIdState).toBe("kept");
      expect(s.memory.peerIds).toBeGreaterThanOrEqual(20 * 2);
      const parsed = parseMetrics(await (await fetch(`${base}/metrics`)).text());
      expect(metric(parsed.samples, "tracker_peer_id_bytes")).toBe(s.memory.peerIds);
    });
    await withTracker(["--no-peer-ids"], async (_t, base) => {
      const url = `${base}/announce?info_hash=${pct(filled(0xc3))}&peer_id=${pct(filled(0x2d))}&port=6002&left=1&compact=0`;
      await (await fetch(url)).text();
      const s = (await (await fetch(`${base}/stats?format=json`)).json()) as StatsSnapshot;
      expect([s.memory.peerIdState, s.memory.peerIds]).toEqual(["off", 0]);
    });
  });

  test("statsAllow: an address not on the list gets 403 on both pages, counted in http403", async () => {
    await withTracker(["--stats-allow", "10.1.2.3,::2", "--trust-proxy-header", "x-forwarded-for"], async (t, base) => {
      for (const path of ["/stats", "/stats?format=json", "/metrics"]) {
        const res = await fetch(base + path);
        expect(res.status).toBe(403);
        await res.text();
      }
      // A forged proxy header does not get in: the stats pages use the socket address.
      const forged = await fetch(`${base}/stats`, { headers: { "x-forwarded-for": "10.1.2.3" } });
      expect(forged.status).toBe(403);
      await forged.text();
      expect(t.rules.counters[C.http403]).toBe(4);
      // The tracker itself still answers.
      expect((await fetch(`${base}/`)).status).toBe(200);
    });
  });

  test("statsAllow: a listed address reads the pages, in plain or IPv4-mapped spelling", async () => {
    for (const allow of ["127.0.0.1", "10.1.2.3,::ffff:127.0.0.1"]) {
      await withTracker(["--stats-allow", allow], async (t, base) => {
        expect((await fetch(`${base}/stats`)).status).toBe(200);
        expect((await fetch(`${base}/metrics`)).status).toBe(200);
        expect(t.rules.counters[C.http403]).toBe(0);
      });
    }
  });
});
