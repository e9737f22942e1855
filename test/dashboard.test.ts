/**
 * The dashboard without a browser: the history ring, the sampler's rates and rows, the event
 * streams' bounds, the page's files, and the guarded handler (every path 403 for a disallowed
 * address). test/dashboard-browser.test.ts runs the page in Chromium.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createDashboard, type Dashboard } from "../src/operator/dashboard/routes.ts";
import { rewriteReferences } from "../src/operator/dashboard/assets.ts";
import { EventStreams, sseMessage } from "../src/operator/dashboard/event-stream.ts";
import { HistoryRing } from "../src/operator/dashboard/history.ts";
import { DashboardSampler } from "../src/operator/dashboard/sampler.ts";
import {
  HISTORY_SAMPLES, type HistoryMessage, type LiveMessage, SAMPLE_SECONDS, type SampleMessage, SERIES,
} from "../src/operator/dashboard/wire.ts";
import { renderStatsText } from "../src/operator/stats/text.ts";
import { C } from "../src/rules/counters.ts";
import { TrackerRules } from "../src/rules/tracker-rules.ts";
import { sampleSnapshot } from "./stats-support.ts";
import { testConfig } from "./support/tracker.ts";

const ROOT = join(import.meta.dir, "..");

describe("HistoryRing", () => {
  test("keeps the newest `capacity` samples, oldest first; NaN comes out as null", () => {
    const ring = new HistoryRing(3, 2);
    expect(ring.length).toBe(0);
    expect(ring.newest()).toBeNull();
    expect(ring.columns()).toEqual({ t: [], values: [[], []] });
    ring.push(10, [1, 2]);
    ring.push(15, [3, NaN]);
    expect(ring.columns()).toEqual({ t: [10, 15], values: [[1, 3], [2, null]] });
    ring.push(20, [5]); // a short row: the rest unknown
    ring.push(25, [7, 8]); // wraps: 10 drops off
    expect(ring.length).toBe(3);
    expect(ring.columns()).toEqual({ t: [15, 20, 25], values: [[3, 5, 7], [null, null, 8]] });
    expect(ring.time(0)).toBe(15);
    expect(ring.value(2, 1)).toBe(8);
    expect(ring.newest()).toEqual({ t: 25, values: [7, 8] });
    for (let i = 0; i < 10; i++) ring.push(30 + i, [i, i]);
    expect(ring.columns().t).toEqual([37, 38, 39]);
  });

  test("Float32 values are rounded for the JSON; times stay exact", () => {
    const ring = new HistoryRing(2, 1);
    ring.push(1_796_303_645.9, [0.2]);
    const c = ring.columns();
    expect(c.t).toEqual([1_796_303_645.9]);
    expect(c.values[0]).toEqual([0.2]); // Float32 holds 0.20000000298...
  });

  test("the dashboard's ring: an hour of 5 s samples in fixed typed arrays (51,840 bytes)", () => {
    expect(SAMPLE_SECONDS * HISTORY_SAMPLES).toBe(3600);
    const ring = new HistoryRing(HISTORY_SAMPLES, SERIES.length);
    expect(ring.bytes).toBe(HISTORY_SAMPLES * (8 + 4 * SERIES.length));
    expect(ring.bytes).toBe(51_840);
    for (let i = 0; i < 3 * HISTORY_SAMPLES; i++) ring.push(i, new Array(SERIES.length).fill(i));
    expect(ring.length).toBe(HISTORY_SAMPLES);
    expect(ring.bytes).toBe(51_840);
    expect(ring.time(0)).toBe(2 * HISTORY_SAMPLES);
  });

  test("a ring needs room", () => {
    expect(() => new HistoryRing(0, 1)).toThrow();
  });
});

describe("DashboardSampler", () => {
  function sampler(rules: TrackerRules, t0: number) {
    let peak = 0;
    return {
      s: new DashboardSampler(rules, {
        state: () => null,
        loopStall: () => ({ lastMinuteMs: 3, sinceStartMs: 9 }),
        stallTap: () => () => peak,
        loadAverage: () => [0.5, 0.25, 0.125],
        rss: () => 64 * 1048576,
      }, t0),
      setPeak: (ms: number) => (peak = ms),
    };
  }

  test("rates are counter differences over the time between readings, by protocol", () => {
    const rules = new TrackerRules(testConfig([]));
    const k = rules.counters;
    const { s, setPeak } = sampler(rules, 1_000_000);
    k[C.httpAnnounces] = 10;
    k[C.udpAnnounces] = 20;
    k[C.wsScrapes] = 4;
    k[C.refusedPeerCapacity] = 2;
    k[C.refusedPasskey] = 3;
    k[C.httpFailures] = 5;
    k[C.udpErrorsSent] = 5;
    k[C.http404] = 100; // not in the errors series: scanners
    setPeak(12.5);
    const row = s.sampleRow(1_005_000); // 5 s later
    const v = Object.fromEntries(SERIES.map((name, i) => [name, row[i]]));
    expect(v.announcesHttp).toBe(2);
    expect(v.announcesUdp).toBe(4);
    expect(v.announcesWs).toBe(0);
    expect(v.scrapesWs).toBe(0.8);
    expect(v.refusals).toBe(1);
    expect(v.errors).toBe(2);
    expect(v.rssMiB).toBe(64);
    expect(v.stallMs).toBe(12.5);
    expect(v.load1).toBe(0.5);
    expect(v.interval).toBe(rules.interval);
    expect(v.peers).toBe(0);
    // Before the store's first sweep cycle its seeders are not known yet.
    expect(Number.isNaN(v.seeders!)).toBe(true);

    // Live: over the last tick (1 s), totals since the start, every reason listed.
    s.tick(1_005_000);
    k[C.httpAnnounces] = 13;
    s.tick(1_006_000);
    const live = s.live(1_006_000, { samples: 1, capacity: 720, bytes: 1 });
    expect(live.announces.perSecond).toEqual([3, 0, 0]);
    expect(live.announces.total).toEqual([13, 20, 0]);
    expect(live.refusals.find((r) => r.key === "passkey")!.total).toBe(3);
    expect(live.errors.find((r) => r.key === "http_404")!.total).toBe(100);
    expect(live.row[SERIES.indexOf("announcesHttp")]).toBe(3);
    expect(live.loopStall).toEqual({ lastMinuteMs: 3, sinceStartMs: 9 });
    expect(live.top).toEqual({ kept: true, note: expect.any(String), torrents: [] });
    expect(live.swarm.seeders).toBeNull();
    expect(live.store.kind).toBe("memory");
    expect(JSON.parse(JSON.stringify(live))).toEqual(live);
  });
});

describe("EventStreams", () => {
  const text = async (r: { read(): Promise<{ value?: Uint8Array }> }) => new TextDecoder().decode((await r.read()).value);

  test("a stream gets its first messages, then every send; at most maxStreams; close() ends them", async () => {
    const streams = new EventStreams(2, 5);
    const a = streams.open([sseMessage("hello", "{}")])!.getReader();
    const b = streams.open([])!;
    expect(streams.open([])).toBeNull();
    expect(streams.size).toBe(2);
    expect(await text(a)).toBe("event: hello\ndata: {}\n\n");
    streams.send(sseMessage("live", `{"n":1}`));
    expect(await text(a)).toBe(`event: live\ndata: {"n":1}\n\n`);
    await b.cancel(); // the client went away
    expect(streams.size).toBe(1);
    streams.close();
    expect((await a.read()).done).toBe(true);
    expect(streams.size).toBe(0);
  });

  test("a stream whose reader falls more than maxBacklog messages behind is closed", async () => {
    const streams = new EventStreams(4, 3);
    const slow = streams.open([])!.getReader();
    for (let i = 0; i < 10; i++) streams.send(sseMessage("live", String(i)));
    expect(streams.size).toBe(0);
    // What was queued before the cut is still readable, then the stream ends.
    let n = 0;
    while (!(await slow.read()).done) n++;
    expect(n).toBeLessThanOrEqual(5);
  });
});

test("rewriteReferences points the bundle's file names under the base, and only those", () => {
  const html = `<link href="./chunk-a1.css"><script src="/chunk-b2.js"></script><script src="x/chunk-b2.js"></script><a href="./other.css">`;
  expect(rewriteReferences(html, ["chunk-a1.css", "chunk-b2.js"], "/dashboard/")).toBe(
    `<link href="/dashboard/chunk-a1.css"><script src="/dashboard/chunk-b2.js"></script><script src="/dashboard/chunk-b2.js"></script><a href="./other.css">`,
  );
});

test("the /stats text page names /dashboard", () => {
  expect(renderStatsText(sampleSnapshot())).toContain("Live charts: /dashboard");
});

describe("the guarded handler", () => {
  let dashboard: Dashboard | null = null;
  afterEach(() => dashboard?.close());

  function make(allowed: (ip: string) => boolean, clock = () => 1_800_000_000_000): { d: Dashboard; rules: TrackerRules } {
    const rules = new TrackerRules(testConfig([]));
    dashboard = createDashboard(rules, {
      allowed,
      state: () => null,
      loopStall: () => ({ lastMinuteMs: 0, sinceStartMs: 0 }),
      stallTap: () => () => 0,
      clock,
    });
    return { d: dashboard, rules };
  }
  const get = (d: Dashboard, path: string, ip = "127.0.0.1", method = "GET") =>
    d.handle(new Request(`http://tracker${path}`, { method }), ip);

  test("every path under /dashboard is 403 for an address not allowed, and counted", async () => {
    const { d, rules } = make((ip) => ip === "10.0.0.1");
    for (const path of ["/dashboard", "/dashboard/", "/dashboard/events", "/dashboard/chunk-abc.js", "/dashboard/nope"]) {
      const r = await get(d, path, "127.0.0.1");
      expect(r.status).toBe(403);
      expect(await r.text()).toContain("forbidden");
    }
    expect(rules.counters[C.http403]).toBe(5);
    expect(rules.counters[C.httpRequests]).toBe(5);
  });

  test("the page, its files (bundled with uPlot) and the rest", async () => {
    const { d, rules } = make(() => true);
    const page = await get(d, "/dashboard");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.some((r) => r.endsWith(".js"))).toBe(true);
    expect(refs.some((r) => r.endsWith(".css"))).toBe(true);
    expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
    for (const ref of refs) {
      const r = await get(d, ref);
      expect(r.status).toBe(200);
      const body = await r.text();
      if (ref.endsWith(".js")) expect(body).toContain("u-legend"); // uPlot is in it
      if (ref.endsWith(".css")) expect(body).toContain(".uplot");
    }
    expect((await get(d, "/dashboard/")).status).toBe(200);
    expect((await get(d, "/dashboard/missing.js")).status).toBe(404);
    expect((await get(d, "/dashboard", "127.0.0.1", "POST")).status).toBe(405);
    const head = await get(d, "/dashboard", "127.0.0.1", "HEAD");
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect(rules.counters[C.http200]).toBe(2 + refs.length + 1);
  });

  test("the event stream: history, then live every tick and a sample every 5 ticks; close() ends it", async () => {
    let now = 1_800_000_000_000;
    const { d, rules } = make(() => true, () => now);
    const r = await get(d, "/dashboard/events");
    expect(r.headers.get("content-type")).toBe("text/event-stream");
    const reader = r.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    const events: { event: string; data: unknown }[] = [];
    /** Read until `n` events have arrived in all (bounded by the test's timeout). */
    async function until(n: number): Promise<void> {
      while (events.length < n) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffered += decoder.decode(value);
        let end: number;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      }
    }
    await until(2);
    expect(events[0]!.event).toBe("history");
    const history = events[0]!.data as HistoryMessage;
    expect(history).toEqual({ sampleSeconds: 5, capacity: 720, t: [], values: SERIES.map(() => []) });
    expect(events[1]!.event).toBe("live");

    rules.counters[C.udpAnnounces] = 50;
    for (let i = 0; i < SAMPLE_SECONDS; i++) {
      now += 1000;
      d.tick();
    }
    await until(2 + SAMPLE_SECONDS + 1);
    const kinds = events.slice(2).map((e) => e.event);
    expect(kinds.filter((k) => k === "live").length).toBe(SAMPLE_SECONDS);
    const sample = events.find((e) => e.event === "sample")!.data as SampleMessage;
    expect(sample.t).toBe(now / 1000);
    expect(sample.values[SERIES.indexOf("announcesUdp")]).toBe(10); // 50 in 5 s
    const live = events[events.length - 1]!.data as LiveMessage;
    expect(live.ring.samples).toBe(1);
    expect(d.ring.length).toBe(1);

    // A new stream starts with the ring.
    const again = await get(d, "/dashboard/events");
    const r2 = again.body!.getReader();
    expect(decoder.decode((await r2.read()).value)).toBe("retry: 2000\n\n");
    expect(decoder.decode((await r2.read()).value)).toContain(`"t":[${now / 1000}]`);

    d.close();
    for (;;) if ((await reader.read()).done) break;
  });
});

test("the page's script type-checks as browser code (its own tsconfig: the DOM's types)", () => {
  const r = Bun.spawnSync([process.execPath, join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", join(ROOT, "src/operator/dashboard/page")], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(r.stdout.toString() + r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
}, 60_000);
