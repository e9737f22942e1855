/**
 * Several tracker nodes sharing swarms through one real redis-server (the test's own, started
 * on a free port with persistence off): two tracker processes on different ports, peers
 * announced on one returned by the other over HTTP and UDP (with a connection id made by the
 * other node), scrape counts that agree, stopped peers gone from both; Redis killed and started
 * again under them; a node started while Redis is down.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { capture, killChildren, startTrackerProcess } from "./support/child.ts";
import { startRedis, type TestRedis } from "./support/redis-server.ts";
import { announceUrl, bytes20, compactPeers, getBencoded, pct, text } from "./support/tracker.ts";
import { announcePacket, errorMessage, readAnnounceAnswer, scrapePacket, UdpClient } from "./support/udp-client.ts";
import { bin20, WsClient } from "./support/ws-client.ts";

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  killChildren();
  if (!redis.running()) await redis.restart();
});
afterAll(async () => {
  await redis?.stop();
});

const base = (port: number) => `http://127.0.0.1:${port}`;

async function twoNodes(extra: string[] = []) {
  const c = await redis.client();
  await c.send("FLUSHALL", []);
  const args = ["--store", redis.url, ...extra];
  const a = await startTrackerProcess(args);
  const b = await startTrackerProcess(args);
  return { a, b };
}

async function scrapeCounts(port: number, hash: Uint8Array): Promise<number[]> {
  const r = await getBencoded(`${base(port)}/scrape?info_hash=${pct(hash)}`);
  const f = r.files[Buffer.from(hash).toString("latin1")] ?? r.files[Object.keys(r.files)[0]!];
  return [f.complete, f.incomplete, f.downloaded];
}

/** A UDP connection id that node `port` accepts (it shares its secret through Redis once up). */
async function connectionId(udp: UdpClient): Promise<Buffer> {
  return udp.connect();
}

describe("two tracker nodes on one Redis", () => {
  test("HTTP: a peer announced on node A is returned by node B; scrape counts agree; stopped peers vanish from both", async () => {
    const { a, b } = await twoNodes();
    const ih = bytes20(0x31);
    const first = await getBencoded(announceUrl(base(a.port), { infoHash: ih, port: 1001, left: "0", event: "completed" }));
    expect(first["failure reason"]).toBeUndefined();
    const seen = await getBencoded(announceUrl(base(b.port), { infoHash: ih, port: 1002 }));
    expect(compactPeers(seen.peers, 6)).toEqual(["127.0.0.1:1001"]);
    expect([seen.complete, seen.incomplete, seen.downloaded]).toEqual([1, 1, 1]);
    expect(await scrapeCounts(a.port, ih)).toEqual([1, 1, 1]);
    expect(await scrapeCounts(b.port, ih)).toEqual([1, 1, 1]);
    await getBencoded(announceUrl(base(b.port), { infoHash: ih, port: 1001, event: "stopped" }));
    const after = await getBencoded(announceUrl(base(a.port), { infoHash: ih, port: 1003 }));
    expect(compactPeers(after.peers, 6)).toEqual(["127.0.0.1:1002"]);
    expect(await scrapeCounts(a.port, ih)).toEqual([0, 2, 1]);
    expect(await scrapeCounts(b.port, ih)).toEqual([0, 2, 1]);
  });

  test("UDP: a connection id made by node A is accepted by node B, which returns A's peers", async () => {
    const { a, b } = await twoNodes();
    const ih = bytes20(0x32);
    await getBencoded(announceUrl(base(a.port), { infoHash: ih, port: 2001 }));
    const ua = await UdpClient.open("127.0.0.1", a.port);
    const ub = await UdpClient.open("127.0.0.1", b.port);
    try {
      // Both nodes switch to the secret kept in Redis as soon as they reach it; an id made
      // before the switch (a few ms after start) would be refused, so ask until B takes A's.
      let answer: Buffer | null = null;
      for (let i = 0; i < 40 && answer === null; i++) {
        const id = await connectionId(ua);
        const r = await ub.request(announcePacket({ connId: id, infoHash: ih, port: 2002, numWant: 10 }));
        if (errorMessage(r) === null) answer = r;
        else await Bun.sleep(50);
      }
      expect(answer).not.toBeNull();
      const ann = readAnnounceAnswer(answer!);
      expect(compactPeers(ann.peers, 6)).toEqual(["127.0.0.1:2001"]);
      expect([ann.seeders, ann.leechers]).toEqual([0, 2]);
      // And the other way round, with a scrape.
      const idB = await connectionId(ub);
      const s = await ua.request(scrapePacket(idB, [ih]));
      expect(errorMessage(s)).toBeNull();
      expect([s.readUInt32BE(8), s.readUInt32BE(12), s.readUInt32BE(16)]).toEqual([0, 0, 2]);
    } finally {
      ua.close();
      ub.close();
    }
  });

  test("WebSocket: a peer on node A gets the offer of a peer on node B, B gets its answer; counts agree; stopped and closed peers vanish from both", async () => {
    const { a, b } = await twoNodes();
    const H = bin20("h");
    const [X, Y, Z] = [bin20("x"), bin20("y"), bin20("z")];
    const announce = (peer: string, extra: Record<string, unknown> = {}) => ({
      action: "announce", info_hash: H, peer_id: peer, uploaded: 0, downloaded: 0, left: 100, event: "started", ...extra,
    });
    const offer = { offer: { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" }, offer_id: bin20("1") };
    const x = await WsClient.open(`ws://127.0.0.1:${a.port}/announce`);
    const y = await WsClient.open(`ws://127.0.0.1:${b.port}/`);
    try {
      expect(await x.request(announce(X, { left: 0 }))).toMatchObject({ action: "announce", complete: 1, incomplete: 0 });
      expect(await y.request(announce(Y, { offers: [offer] }))).toMatchObject({ complete: 1, incomplete: 1 });
      // Y's offer crosses from node B to node A, to X.
      const toX = await x.next(3000);
      expect(toX).toEqual({ action: "announce", info_hash: H, peer_id: Y, offer: offer.offer, offer_id: offer.offer_id });
      // X's answer crosses back to Y only.
      x.send({ action: "announce", info_hash: H, peer_id: X, to_peer_id: Y, offer_id: offer.offer_id, answer: { type: "answer", sdp: "ans" } });
      expect(await y.next(3000)).toEqual({ action: "announce", info_hash: H, peer_id: X, answer: { type: "answer", sdp: "ans" }, offer_id: offer.offer_id });
      // Replayed: refused by node A, which remembered the offer for X.
      expect(await x.request({ action: "announce", info_hash: H, peer_id: X, to_peer_id: Y, offer_id: offer.offer_id, answer: {} }))
        .toMatchObject({ "failure reason": "answer refused: no such offer was sent to you by that peer (or it expired)" });
      expect(await y.quiet()).toBe(true);
      // The same counts on both nodes.
      const scrapeBoth = async () => [
        await x.request({ action: "scrape", info_hash: H }),
        await y.request({ action: "scrape", info_hash: [H] }),
      ];
      for (const s of await scrapeBoth()) expect(s).toEqual({ action: "scrape", files: { [H]: { complete: 1, incomplete: 1, downloaded: 0 } } });
      // Stopped on B: gone from both.
      expect(await y.request(announce(Y, { event: "stopped" }))).toMatchObject({ complete: 1, incomplete: 0 });
      for (const s of await scrapeBoth()) expect(s.files[H]).toEqual({ complete: 1, incomplete: 0, downloaded: 0 });
      // Closed on A: gone from both (a new peer on B is alone).
      x.close();
      await x.closed;
      const z = await WsClient.open(`ws://127.0.0.1:${b.port}/`);
      try {
        let counts: any = null;
        for (let i = 0; i < 40; i++) {
          counts = (await z.request({ action: "scrape", info_hash: H })).files[H];
          if (counts.complete === 0) break;
          await Bun.sleep(25);
        }
        expect(counts).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
        expect(await z.request(announce(Z, { offers: [offer] }))).toMatchObject({ complete: 0, incomplete: 1 });
      } finally {
        z.close();
      }
    } finally {
      x.close();
      y.close();
    }
  });

  test("the pages say which store is in use and how it is doing", async () => {
    const { a } = await twoNodes();
    const json = (await (await fetch(`${base(a.port)}/stats?format=json`)).json()) as any;
    expect(json.store).toMatchObject({ kind: "redis", where: redis.url, up: true });
    const metrics = await (await fetch(`${base(a.port)}/metrics`)).text();
    expect(metrics).toContain('tracker_store_up{kind="redis"} 1');
    expect(metrics).toContain("tracker_store_round_trip_seconds");
    const page = await (await fetch(`${base(a.port)}/stats`)).text();
    expect(page).toContain(`store = redis ${redis.url} (up`);
  });

  test("Redis killed: failure reasons with retry in (UDP: an error packet), no crash; service again once it is back", async () => {
    const { a, b } = await twoNodes();
    const errA = capture(a.proc.stderr);
    const outA = capture(a.proc.stdout);
    const ih = bytes20(0x33);
    expect((await getBencoded(announceUrl(base(a.port), { infoHash: ih, port: 3001 })))["failure reason"]).toBeUndefined();
    const udp = await UdpClient.open("127.0.0.1", b.port);
    try {
      const id = await udp.connect();
      await redis.kill();
      const down = await getBencoded(announceUrl(base(a.port), { infoHash: ih, port: 3002 }));
      expect(text(down["failure reason"])).toBe("tracker storage unavailable, try again shortly");
      expect(down["retry in"]).toBe(30);
      const scr = await getBencoded(`${base(b.port)}/scrape?info_hash=${pct(ih)}`);
      expect(text(scr["failure reason"])).toBe("tracker storage unavailable, try again shortly");
      const r = await udp.request(announcePacket({ connId: id, infoHash: ih, port: 3003 }));
      expect(errorMessage(r)).toBe("tracker storage unavailable, try again shortly");
      const stats = (await (await fetch(`${base(b.port)}/stats?format=json`)).json()) as any;
      expect(stats.store.up).toBe(false);
      await redis.restart();
      // Both nodes reconnect by themselves (every second) and serve again.
      for (const port of [a.port, b.port]) {
        let ok = false;
        for (let i = 0; i < 100 && !ok; i++) {
          const res = await getBencoded(announceUrl(base(port), { infoHash: ih, port: 3004 }));
          ok = res["failure reason"] === undefined;
          if (!ok) await Bun.sleep(50);
        }
        expect(ok).toBe(true);
      }
      expect(a.proc.exitCode).toBeNull();
      expect(b.proc.exitCode).toBeNull();
      expect(errA.text).toContain(`lost ${redis.url}`);
      expect(outA.text).toContain("answers again");
      expect(((await (await fetch(`${base(a.port)}/stats?format=json`)).json()) as any).store).toMatchObject({ up: true, disconnects: 1 });
    } finally {
      udp.close();
    }
  });

  test("a node started while Redis is down says so, naming the URL, answers with failure reasons, then serves", async () => {
    await redis.kill();
    try {
      const node = await startTrackerProcess(["--store", redis.url]);
      const err = capture(node.proc.stderr);
      const ih = bytes20(0x34);
      const down = await getBencoded(announceUrl(base(node.port), { infoHash: ih, port: 4001 }));
      expect(text(down["failure reason"])).toBe("tracker storage unavailable, try again shortly");
      await redis.restart();
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        ok = (await getBencoded(announceUrl(base(node.port), { infoHash: ih, port: 4001 })))["failure reason"] === undefined;
        if (!ok) await Bun.sleep(50);
      }
      expect(ok).toBe(true);
      await Bun.sleep(50);
      expect(err.text).toContain(`cannot reach ${redis.url}`);
    } finally {
      if (!redis.running()) await redis.restart();
    }
  });

  test("a bad store URL, or a store with state-file or full-scrape, is refused at start with exit code 2", async () => {
    for (const args of [["--store", "http://x:1"], ["--store", redis.url, "--state-file", "/tmp/x"], ["--store", redis.url, "--full-scrape"]]) {
      const p = Bun.spawn([process.execPath, "run", "src/main.ts", "0", ...args], { stdout: "pipe", stderr: "pipe", cwd: `${import.meta.dir}/..` });
      expect(await p.exited).toBe(2);
      expect(await new Response(p.stderr).text()).toMatch(/store/);
    }
  });
});
