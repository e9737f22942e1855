/**
 * The WebSocket (WebTorrent) tracker on a real tracker, over real WebSocket connections: the
 * announce answer, offers relayed one per chosen peer, answers relayed only for an offer really
 * sent (forged and replayed ones refused), stopped and close leaving the swarm, scrape, the
 * rules shared with HTTP/UDP (access list, passkeys, capacity), limits, and hostile frames.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tracker } from "../src/tracker.ts";
import { C as COUNTER } from "../src/rules/counters.ts";
import { announceUrl, getBencoded, withTracker } from "./support/tracker.ts";
import { bin20, WsClient } from "./support/ws-client.ts";

const dir = mkdtempSync(join(tmpdir(), "sc6-ws-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const H = bin20("h");
const url = (t: Tracker, path = "/announce") => `ws://127.0.0.1:${t.httpPort}${path}`;
const offer = (id: string, sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n") => ({ offer: { type: "offer", sdp }, offer_id: id });
const announce = (peer: string, extra: Record<string, unknown> = {}) => ({
  action: "announce", info_hash: H, peer_id: peer, uploaded: 0, downloaded: 0, left: 100, event: "started", ...extra,
});
const ARGS = ["--host", "127.0.0.1"];

describe("announce, offers and answers", () => {
  test("offers go one per chosen peer; the answer goes back to the offerer only", async () => {
    await withTracker(ARGS, async (t) => {
      const [a, b, c] = await Promise.all([WsClient.open(url(t)), WsClient.open(url(t, "/")), WsClient.open(url(t))]);
      const [A, B, C] = [bin20("a"), bin20("b"), bin20("c")];
      expect(await a.request(announce(A, { left: 0 }))).toEqual({ action: "announce", info_hash: H, complete: 1, incomplete: 0, interval: t.rules.interval });
      expect(await b.request(announce(B))).toMatchObject({ complete: 1, incomplete: 1 });
      // C sends two offers: A and B get one each.
      expect(await c.request(announce(C, { numwant: 2, offers: [offer(bin20("1")), offer(bin20("2"))] }))).toMatchObject({ complete: 1, incomplete: 2 });
      const toA = await a.next();
      const toB = await b.next();
      expect(toA).toMatchObject({ action: "announce", info_hash: H, peer_id: C, offer: { type: "offer" } });
      expect(new Set([toA.offer_id, toB.offer_id])).toEqual(new Set([bin20("1"), bin20("2")]));
      // A answers its offer: C gets it, nobody else.
      a.send({ action: "announce", info_hash: H, peer_id: A, to_peer_id: C, offer_id: toA.offer_id, answer: { type: "answer", sdp: "ans" } });
      expect(await c.next()).toEqual({ action: "announce", info_hash: H, peer_id: A, answer: { type: "answer", sdp: "ans" }, offer_id: toA.offer_id });
      expect(await b.quiet()).toBe(true);
      // Replayed, forged offer_id, forged to_peer_id, or claimed by another connection: refused.
      const refused = "answer refused: no such offer was sent to you by that peer (or it expired)";
      expect(await a.request({ action: "announce", info_hash: H, peer_id: A, to_peer_id: C, offer_id: toA.offer_id, answer: {} })).toMatchObject({ "failure reason": refused });
      expect(await b.request({ action: "announce", info_hash: H, peer_id: B, to_peer_id: C, offer_id: bin20("9"), answer: {} })).toMatchObject({ "failure reason": refused });
      expect(await b.request({ action: "announce", info_hash: H, peer_id: B, to_peer_id: A, offer_id: toB.offer_id, answer: {} })).toMatchObject({ "failure reason": refused });
      expect(await a.request({ action: "announce", info_hash: H, peer_id: B, to_peer_id: C, offer_id: toB.offer_id, answer: {} })).toMatchObject({ "failure reason": refused, action: "announce", info_hash: H });
      expect(await c.quiet()).toBe(true);
      expect(t.rules.webrtc.peerCount).toBe(3);
      expect([t.rules.counters[COUNTER.wsOffersRelayed], t.rules.counters[COUNTER.wsAnswersRelayed], t.rules.counters[COUNTER.wsAnswersRefused]]).toEqual([2, 1, 4]);
      for (const x of [a, b, c]) x.close();
    });
  });

  test("numwant caps the offers relayed; a lone peer's offers go nowhere", async () => {
    await withTracker(ARGS, async (t) => {
      const [a, b, c] = await Promise.all([WsClient.open(url(t)), WsClient.open(url(t)), WsClient.open(url(t))]);
      expect(await a.request(announce(bin20("a"), { offers: [offer(bin20("1"))] }))).toMatchObject({ incomplete: 1 });
      expect(await a.quiet()).toBe(true);
      await b.request(announce(bin20("b")));
      await c.request(announce(bin20("c"), { numwant: 1, offers: [offer(bin20("1")), offer(bin20("2"))] }));
      const got = (await a.quiet(300) ? 0 : 1) + (await b.quiet(300) ? 0 : 1);
      expect(got).toBe(1);
      for (const x of [a, b, c]) x.close();
    });
  });

  test("stopped, and closing the connection, take the peer out of every swarm it joined", async () => {
    await withTracker(ARGS, async (t) => {
      const [a, b] = await Promise.all([WsClient.open(url(t)), WsClient.open(url(t))]);
      const H2 = bin20("i");
      await a.request(announce(bin20("a")));
      await a.request({ ...announce(bin20("a")), info_hash: H2 });
      await b.request(announce(bin20("b"), { left: 0 }));
      expect(await b.request({ action: "scrape", info_hash: [H, H2] })).toEqual({
        action: "scrape", files: { [H]: { complete: 1, incomplete: 1, downloaded: 0 }, [H2]: { complete: 0, incomplete: 1, downloaded: 0 } },
      });
      expect(await b.request(announce(bin20("b"), { event: "stopped" }))).toMatchObject({ complete: 0, incomplete: 1 });
      a.close();
      await a.closed;
      for (let i = 0; i < 50 && t.rules.webrtc.peerCount > 0; i++) await Bun.sleep(10);
      expect(t.rules.webrtc.peerCount).toBe(0);
      expect(await b.request({ action: "scrape", info_hash: H })).toEqual({ action: "scrape", files: { [H]: { complete: 0, incomplete: 0, downloaded: 0 } } });
      b.close();
    });
  });

  test("a peer_id announced on one connection cannot be taken over from another while it is open", async () => {
    await withTracker(ARGS, async (t) => {
      const [a, b] = await Promise.all([WsClient.open(url(t)), WsClient.open(url(t))]);
      await a.request(announce(bin20("a")));
      expect(await b.request(announce(bin20("a")))).toMatchObject({ "failure reason": "peer_id in use on another connection in this swarm", info_hash: H });
      a.close();
      await a.closed;
      let answer: any = null;
      for (let i = 0; i < 50; i++) {
        answer = await b.request(announce(bin20("a")));
        if (answer["failure reason"] === undefined) break;
        await Bun.sleep(10);
      }
      expect(answer).toMatchObject({ action: "announce", incomplete: 1 }); // free once its connection closed
      b.close();
    });
  });

  test("one connection announcing several peer_ids in one swarm takes all of them along when it closes", async () => {
    await withTracker(ARGS, async (t) => {
      const a = await WsClient.open(url(t));
      await a.request(announce(bin20("x")));
      await a.request(announce(bin20("y")));
      expect(t.rules.webrtc.peerCount).toBe(2);
      a.close();
      await a.closed;
      for (let i = 0; i < 50 && t.rules.webrtc.peerCount > 0; i++) await Bun.sleep(10);
      expect(t.rules.webrtc.peerCount).toBe(0);
    });
  });

  test("completed counts one download per peer; WebRTC and TCP/UDP swarms of one hash are counted apart", async () => {
    await withTracker(ARGS, async (t) => {
      const a = await WsClient.open(url(t));
      await a.request(announce(bin20("a")));
      expect(await a.request(announce(bin20("a"), { event: "completed", left: 0 }))).toMatchObject({ complete: 1, incomplete: 0 });
      await a.request(announce(bin20("a"), { event: "completed", left: 0 }));
      expect(await a.request({ action: "scrape", info_hash: H })).toMatchObject({ files: { [H]: { downloaded: 1 } } });
      // The same info_hash over HTTP: its own swarm.
      const hash = Uint8Array.from(H, (ch) => ch.charCodeAt(0));
      const http = await getBencoded(announceUrl(`http://127.0.0.1:${t.httpPort}`, { infoHash: hash, port: 6881, left: "0" }));
      expect([http.complete, http.incomplete, http.downloaded]).toEqual([1, 0, 0]);
      a.close();
    });
  });
});

describe("rules shared with HTTP and UDP", () => {
  test("the access list refuses a torrent over WebSocket too, with its info_hash", async () => {
    const list = join(dir, "deny.txt");
    writeFileSync(list, Buffer.from(H, "latin1").toString("hex") + "\n");
    await withTracker([...ARGS, "--access-mode", "deny", "--access-list", list], async (t) => {
      const a = await WsClient.open(url(t));
      expect(await a.request(announce(bin20("a")))).toEqual({ "failure reason": "torrent not allowed", action: "announce", info_hash: H });
      expect(await a.request({ action: "scrape", info_hash: H })).toEqual({ "failure reason": "torrent not allowed", action: "scrape" });
      expect(t.rules.webrtc.peerCount).toBe(0);
      a.close();
    });
  });

  test("private mode: the passkey comes from the upgrade URL", async () => {
    const db = join(dir, "keys.sqlite");
    const { PasskeyDb } = await import("../src/access/passkey-db.ts");
    const keys = new PasskeyDb(db);
    const key = keys.addKey({}, Math.floor(Date.now() / 1000)).key;
    keys.close();
    await withTracker([...ARGS, "--private", "--db", db], async (t) => {
      const good = await WsClient.open(url(t, `/${key}/announce`));
      expect(await good.request(announce(bin20("a")))).toMatchObject({ action: "announce", complete: 0, incomplete: 1 });
      const none = await WsClient.open(url(t));
      expect(await none.request(announce(bin20("b")))).toMatchObject({ "failure reason": expect.stringContaining("private tracker") });
      const wrong = await WsClient.open(url(t, `/${"W".repeat(32)}/announce`));
      expect(await wrong.request(announce(bin20("c")))).toMatchObject({ "failure reason": "unknown or revoked passkey" });
      for (const x of [good, none, wrong]) x.close();
    });
  });

  test("capacity: a new peer past max-peers is refused and creates nothing", async () => {
    await withTracker([...ARGS, "--max-peers", "1"], async (t) => {
      const [a, b] = await Promise.all([WsClient.open(url(t)), WsClient.open(url(t))]);
      await a.request(announce(bin20("a")));
      expect(await b.request(announce(bin20("b")))).toMatchObject({ "failure reason": "tracker is full (too many peers), try later", info_hash: H });
      expect(t.rules.webrtc.peerCount).toBe(1);
      a.close();
      b.close();
    });
  });
});

describe("limits and bad input", () => {
  test("binary frames, bad JSON, wrong fields, too many offers: a failure reason each, counted; the connection stays", async () => {
    await withTracker(ARGS, async (t) => {
      const a = await WsClient.open(url(t));
      expect(await a.request(new Uint8Array([1, 2, 3]))).toEqual({ "failure reason": "binary frames are not part of the protocol: send JSON text" });
      expect(await a.request("{not json")).toEqual({ "failure reason": "invalid JSON" });
      expect(await a.request({ action: "announce", info_hash: H, peer_id: 7 })).toMatchObject({ action: "announce", info_hash: H });
      const eleven = Array.from({ length: 11 }, (_, i) => offer(bin20(String(i % 10))));
      expect(await a.request(announce(bin20("a"), { offers: eleven }))).toMatchObject({ "failure reason": "too many offers (at most 10)" });
      expect(t.rules.counters[COUNTER.wsBadMessages]).toBe(4);
      expect(await a.request(announce(bin20("a")))).toMatchObject({ action: "announce", incomplete: 1 });
      a.close();
    });
  });

  test("a message over ws-max-message-bytes closes with 1009; past ws-messages-per-minute, 1008", async () => {
    await withTracker([...ARGS, "--ws-max-message-bytes", "1024", "--ws-messages-per-minute", "5"], async (t) => {
      const big = await WsClient.open(url(t));
      big.send(announce(bin20("a"), { offers: [offer(bin20("1"), "x".repeat(2000))] }));
      expect(await big.closed).toBe(1009);
      const chatty = await WsClient.open(url(t));
      for (let i = 0; i < 5; i++) expect(await chatty.request({ action: "scrape", info_hash: H })).toMatchObject({ action: "scrape" });
      chatty.send({ action: "scrape", info_hash: H });
      expect(await chatty.closed).toBe(1008);
    });
  });

  test("past ws-max-connections the upgrade gets 503", async () => {
    await withTracker([...ARGS, "--ws-max-connections", "1"], async (t) => {
      const a = await WsClient.open(url(t));
      await expect(WsClient.open(url(t))).rejects.toThrow();
      const res = await fetch(`http://127.0.0.1:${t.httpPort}/announce`, {
        headers: { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" },
      });
      expect(res.status).toBe(503);
      a.close();
    });
  });

  test("hostile frames (random JSON and text) never crash the tracker or corrupt a swarm", async () => {
    await withTracker(ARGS, async (t) => {
      const a = await WsClient.open(url(t));
      const good = await WsClient.open(url(t));
      await good.request(announce(bin20("g"), { left: 0 }));
      const junk = fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.json(),
        fc.record({
          action: fc.constantFrom("announce", "scrape", "x"),
          info_hash: fc.oneof(fc.string({ minLength: 20, maxLength: 20 }), fc.array(fc.string(), { maxLength: 5 }), fc.integer()),
          peer_id: fc.oneof(fc.string({ minLength: 20, maxLength: 20 }), fc.constant(null)),
          event: fc.oneof(fc.constantFrom("started", "stopped", "completed", ""), fc.string()),
          offers: fc.oneof(fc.array(fc.record({ offer: fc.object(), offer_id: fc.string({ minLength: 20, maxLength: 20 }) }), { maxLength: 12 }), fc.anything()),
          to_peer_id: fc.option(fc.string({ minLength: 20, maxLength: 20 })),
          answer: fc.option(fc.object()),
          offer_id: fc.option(fc.string({ minLength: 20, maxLength: 20 })),
          left: fc.oneof(fc.integer(), fc.string()),
        }, { requiredKeys: ["action"] }),
      );
      const frames = fc.sample(junk, { numRuns: 300, seed: 13 });
      for (const f of frames) a.send(typeof f === "string" ? f : JSON.stringify(f));
      // Every frame got exactly one answer or none (relays to self are impossible): drain them.
      let answers = 0;
      while (!(await a.quiet(300))) answers++;
      expect(answers).toBeGreaterThan(0);
      // The tracker still serves, and the good peer's swarm is as it was (plus what junk joined).
      expect(await good.request({ action: "scrape", info_hash: H })).toMatchObject({ files: { [H]: { complete: 1 } } });
      a.close();
      await a.closed;
      for (let i = 0; i < 50 && t.rules.webrtc.peerCount > 1; i++) await Bun.sleep(10);
      expect(t.rules.webrtc.peerCount).toBe(1); // everything the junk connection joined left with it
      good.close();
    });
  });
});

test("--no-ws: an upgrade is not taken (the banner page answers)", async () => {
  await withTracker([...ARGS, "--no-ws"], async (t) => {
    await expect(WsClient.open(url(t, "/"))).rejects.toThrow();
    expect(await (await fetch(`http://127.0.0.1:${t.httpPort}/`)).text()).toContain("a BitTorrent tracker");
  });
});
