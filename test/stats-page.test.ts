/**
 * The operator pages: /stats (text), /stats?format=json, /metrics (Prometheus 0.0.4) and the
 * statsAllow access rule. Unit tests for the pieces with a clock (rate window, swarm cache)
 * use fake clocks; integration tests run the real tracker on 127.0.0.1, port 0.
 */
import { describe, expect, test } from "bun:test";
import { C, COUNTER_NAMES } from "../src/rules/counters.ts";
import {
  cachedSwarmFigures, canonicalAddress, collectStats, formatUptime, metricFamilies, RateWindow,
  renderMetrics, renderStatsText, statsAccess, thousands, type StatsSnapshot,
} from "../src/operator/stats-page.ts";
import type { Tracker } from "../src/tracker.ts";
import { TrackerRules } from "../src/rules/tracker-rules.ts";
import { pct, testConfig, withTracker as withTrackerOn } from "./support/tracker.ts";

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

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict little parser for the Prometheus text format 0.0.4 as we emit it: every line is a
 * `# HELP`, a `# TYPE` or a sample; each family has HELP then TYPE before its samples, once;
 * sample values are numbers. Throws on anything else.
 */
function parseMetrics(text: string): { types: Map<string, string>; helps: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const help = new RegExp(`^# HELP (${NAME}) (.*)$`);
  const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
  const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
  const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/;
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = help.exec(line))) {
      if (helps.has(m[1]!)) throw new Error(`second HELP for ${m[1]}`);
      helps.set(m[1]!, m[2]!);
    } else if ((m = type.exec(line))) {
      if (types.has(m[1]!)) throw new Error(`second TYPE for ${m[1]}`);
      if (!helps.has(m[1]!)) throw new Error(`TYPE before HELP for ${m[1]}`);
      types.set(m[1]!, m[2]!);
    } else if ((m = sample.exec(line))) {
      const name = m[1]!;
      if (!types.has(name)) throw new Error(`sample before TYPE: ${line}`);
      const labels: Record<string, string> = {};
      let rest = m[2] ?? "";
      while (rest !== "") {
        const l = label.exec(rest);
        if (l === null) throw new Error(`bad labels in: ${line}`);
        labels[l[1]!] = l[2]!;
        rest = rest.slice(l[0].length);
      }
      const raw = m[3]!;
      if (!/^(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)|NaN|[+-]Inf)$/.test(raw)) throw new Error(`bad value in: ${line}`);
      samples.push({ name, labels, value: raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw) });
    } else {
      throw new Error(`not a metrics line: ${JSON.stringify(line)}`);
    }
  }
  // Samples of one family are contiguous (the format requires it).
  const seen = new Set<string>();
  let last = "";
  for (const s of samples) {
    if (s.name !== last && seen.has(s.name)) throw new Error(`samples of ${s.name} are split`);
    seen.add(s.name);
    last = s.name;
  }
  return { types, helps, samples };
}

function metric(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
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

// ---- unit: formatting, addresses, clocks -------------------------------------------------------

describe("formatting", () => {
  test.each([
    [0, "0"],
    [999, "999"],
    [1000, "1,000"],
    [14674338, "14,674,338"],
    [-1234567, "-1,234,567"],
    [1e15, "1,000,000,000,000,000"],
  ])("thousands(%p) = %p", (n, s) => {
    expect(thousands(n)).toBe(s);
  });

  test.each([
    [0, "0 d 00:00:00"],
    [59, "0 d 00:00:59"],
    [3661, "0 d 01:01:01"],
    [93784, "1 d 02:03:04"],
  ])("formatUptime(%p) = %p", (n, s) => {
    expect(formatUptime(n)).toBe(s);
  });
});

describe("statsAllow addresses", () => {
  test.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:127.0.0.1", "127.0.0.1"], // an IPv4 client of a dual-stack socket
    ["::FFFF:7f00:1", "127.0.0.1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:DB8:0:0::1", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["", null],
    ["localhost", null],
    ["1.2.3", null],
  ])("canonicalAddress(%p) = %p", (ip, want) => {
    expect(canonicalAddress(ip)).toBe(want);
  });

  test("an empty list lets everyone in, even an unreadable address", () => {
    const ok = statsAccess([]);
    expect(ok("203.0.113.9")).toBe(true);
    expect(ok("")).toBe(true);
  });

  test("a list admits its addresses in any spelling and nothing else", () => {
    const ok = statsAccess(["127.0.0.1", "::1", "::ffff:10.0.0.7"]);
    expect(ok("127.0.0.1")).toBe(true);
    expect(ok("::ffff:127.0.0.1")).toBe(true);
    expect(ok("0::1")).toBe(true);
    expect(ok("10.0.0.7")).toBe(true);
    expect(ok("127.0.0.2")).toBe(false);
    expect(ok("::2")).toBe(false);
    expect(ok("")).toBe(false); // server.requestIP gave nothing: refuse
  });
});

describe("RateWindow", () => {
  test("averages the growth of the total over the window", () => {
    let now = 0;
    let total = 0;
    const w = new RateWindow(() => total, 10, () => now);
    // 5 requests a second for 30 s, sampled every second.
    for (let s = 1; s <= 30; s++) {
      now = s * 1000;
      total += 5;
      w.sample();
    }
    expect(w.rate()).toBeCloseTo(5, 6);
    // A burst of 100 in the current second counts over the 10 s window.
    total += 100;
    expect(w.rate()).toBeCloseTo(5 + 100 / 10, 6);
    // Then quiet for 20 s: the burst leaves the window.
    for (let s = 31; s <= 50; s++) {
      now = s * 1000;
      w.sample();
    }
    expect(w.rate()).toBe(0);
  });

  test("early in life it divides by at least one second", () => {
    let now = 0;
    let total = 0;
    const w = new RateWindow(() => total, 60, () => now);
    total = 7;
    now = 5; // 7 requests in 5 ms
    expect(w.rate()).toBe(7);
    now = 4000;
    expect(w.rate()).toBeCloseTo(7 / 4, 6);
  });
});

describe("cachedSwarmFigures", () => {
  test("walks the torrents at most once per ttl and agrees with the store", () => {
    const core = new TrackerRules(testConfig([]));
    let walks = 0;
    const original = core.store.countSeeders.bind(core.store);
    core.store.countSeeders = () => {
      walks++;
      return original();
    };
    let now = 0;
    const swarm = cachedSwarmFigures(core, 1000, () => now);
    const first = swarm();
    now = 999;
    expect(swarm()).toBe(first);
    expect(walks).toBe(1);
    now = 1000;
    swarm();
    expect(walks).toBe(2);
    expect(first).toMatchObject({ torrents: 0, peers: 0, seeders: 0, leechers: 0 });
  });
});

describe("renderers", () => {
  const core = new TrackerRules(testConfig([]));
  core.counters[C.http200] = 1234567;
  const snapshot: StatsSnapshot = collectStats(core, {
    openHttpRequests: () => 3,
    requestsPerSecond: () => 12.5,
    swarm: () => ({ torrents: 2, peers: 5, peersIPv4: 4, peersIPv6: 1, seeders: 2, leechers: 3, maxTorrents: 10, maxPeers: 20 }),
  });

  test("text: sc6-style aligned lines", () => {
    const text = renderStatsText(snapshot);
    expect(text).toMatch(/^start_time = \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/m);
    expect(text).toMatch(/^Load Avg = \d+\.\d\d \d+\.\d\d \d+\.\d\d$/m);
    expect(text).toContain("Open HTTP requests: 3\n");
    expect(text).toContain("Request per second ~ 12.50");
    expect(text).toContain("stats.http_200 =    1,234,567\n");
    expect(text).toMatch(/^peers_ipv6 += +1$/m);
    // Within a block the '=' signs line up.
    const block = text.split("\n\n").find((b) => b.includes("stats.http_200"))!;
    const columns = new Set(block.trim().split("\n").map((l) => l.indexOf("=")));
    expect(columns.size).toBe(1);
  });

  test("text leaves out open requests when they are unknown", () => {
    expect(renderStatsText({ ...snapshot, openHttpRequests: null })).not.toContain("Open HTTP requests");
  });

  test("metrics: every counter of stats-counters.ts is exported, as a counter ending in _total", () => {
    const families = metricFamilies(snapshot);
    const parsed = parseMetrics(renderMetrics(families));
    const counterSamples = parsed.samples.filter((s) => parsed.types.get(s.name) === "counter");
    expect(counterSamples.length).toBe(COUNTER_NAMES.length);
    for (const s of counterSamples) expect(s.name).toEndWith("_total");
    for (const [name, type] of parsed.types) {
      expect(name).toStartWith("tracker_");
      if (type === "gauge") expect(name).not.toEndWith("_total");
    }
    expect(metric(parsed.samples, "tracker_http_responses_total", { code: "200" })).toBe(1234567);
    expect(metric(parsed.samples, "tracker_peers", { family: "ipv6" })).toBe(1);
    expect(metric(parsed.samples, "tracker_http_open_requests")).toBe(3);
  });

  test("metrics: a counter with no mapping is still exported under a derived name", () => {
    const parsed = parseMetrics(renderMetrics(metricFamilies({ ...snapshot, counters: { ...snapshot.counters, someNewThing: 7 } })));
    expect(parsed.types.get("tracker_some_new_thing_total")).toBe("counter");
    expect(metric(parsed.samples, "tracker_some_new_thing_total")).toBe(7);
  });
});

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
      expect(s.intervalSeconds).toBe(t.core.interval);
      expect(s.openHttpRequests).toBeGreaterThanOrEqual(1); // this request is in flight
      expect(s.memory.rss).toBeGreaterThan(0);
      expect(s.memory.swarmStore).toBe(t.core.store.bytes());
      // Every announce so far asked for compact answers: no peer_id column yet.
      expect(s.memory.peerIds).toBe(0);
      expect(s.memory.peerIdState).toBe("unused");
      expect(Date.parse(s.startTime)).toBe(t.core.startedAt.getTime());
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
      expect(metric(parsed.samples, "tracker_announce_interval_seconds")).toBe(t.core.interval);
      expect(metric(parsed.samples, "tracker_swarm_store_bytes")).toBe(t.core.store.bytes());
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
      expect(t.core.counters[C.http403]).toBe(4);
      // The tracker itself still answers.
      expect((await fetch(`${base}/`)).status).toBe(200);
    });
  });

  test("statsAllow: a listed address reads the pages, in plain or IPv4-mapped spelling", async () => {
    for (const allow of ["127.0.0.1", "10.1.2.3,::ffff:127.0.0.1"]) {
      await withTracker(["--stats-allow", allow], async (t, base) => {
        expect((await fetch(`${base}/stats`)).status).toBe(200);
        expect((await fetch(`${base}/metrics`)).status).toBe(200);
        expect(t.core.counters[C.http403]).toBe(0);
      });
    }
  });
});
