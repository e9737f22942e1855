/** The WebRTC swarms (store/webrtc-swarms.ts): membership, picks, pending offers, sweep. */
import { expect, test } from "bun:test";
import { MAX_PENDING_PER_PEER, WEBRTC_FULL_PEERS, WEBRTC_FULL_TORRENTS, WEBRTC_OK, WEBRTC_PEER_ID_TAKEN, WebRtcSwarms, type WebRtcPeer } from "../src/store/webrtc-swarms.ts";

const limits = { maxTorrents: 10, maxPeers: 100, peerTimeout: 60, offerTimeout: 120, maxPendingOffers: 3 };
const H = "h".repeat(20);
const id = (c: string) => c.repeat(20);
const out: WebRtcPeer<object>[] = [];

test("picks are distinct, never the announcer, at most numwant", () => {
  const s = new WebRtcSwarms<object>(limits);
  const conns = Array.from({ length: 10 }, () => ({}));
  conns.forEach((c, i) => s.announce(H, id(String(i)), c, false, false, false, 0, 1, out));
  for (let round = 0; round < 50; round++) {
    expect(s.announce(H, id("0"), conns[0]!, false, false, false, 4, 1, out)).toBe(WEBRTC_OK);
    expect(out.length).toBe(4);
    expect(new Set(out).size).toBe(4);
    expect(out.some((p) => p.id === id("0"))).toBe(false);
  }
  s.announce(H, id("0"), conns[0]!, false, false, false, 50, 1, out);
  expect(out.length).toBe(9); // every other peer
});

test("seeders, completions once per peer; a peer_id stays with its connection; stopped leaves", () => {
  const s = new WebRtcSwarms<object>(limits);
  const c1 = {};
  const c2 = {};
  s.announce(H, id("a"), c1, false, false, false, 0, 1, out);
  s.announce(H, id("a"), c1, true, false, true, 0, 1, out);
  s.announce(H, id("a"), c1, true, false, true, 0, 1, out);
  expect(s.counts(H)).toEqual({ complete: 1, incomplete: 0, downloaded: 1 });
  expect(s.announce(H, id("a"), c2, false, false, false, 0, 1, out)).toBe(WEBRTC_PEER_ID_TAKEN); // another connection
  s.announce(H, id("a"), c2, false, true, false, 0, 1, out); // nor may it stop the peer
  expect(s.counts(H)).toEqual({ complete: 1, incomplete: 0, downloaded: 1 });
  s.announce(H, id("a"), c1, false, true, false, 0, 1, out);
  expect(s.peerCount).toBe(0);
  expect(s.swarms.size).toBe(0);
  expect(s.announce(H, id("a"), c2, false, false, false, 0, 1, out)).toBe(WEBRTC_OK); // free again
});

test("capacity: torrents and peers", () => {
  const s = new WebRtcSwarms<object>({ ...limits, maxTorrents: 1, maxPeers: 2 });
  expect(s.announce(H, id("a"), {}, false, false, false, 0, 1, out)).toBe(WEBRTC_OK);
  expect(s.announce("g".repeat(20), id("a"), {}, false, false, false, 0, 1, out)).toBe(WEBRTC_FULL_TORRENTS);
  expect(s.announce(H, id("b"), {}, false, false, false, 0, 1, out)).toBe(WEBRTC_OK);
  expect(s.announce(H, id("c"), {}, false, false, false, 0, 1, out)).toBe(WEBRTC_FULL_PEERS);
  expect(s.peerCount).toBe(2);
});

test("a pending offer is answered once, by its target, to its sender, before it expires; their number is bounded", () => {
  const s = new WebRtcSwarms<object>(limits);
  const O = id("o");
  s.announce(H, id("a"), {}, false, false, false, 0, 100, out);
  s.announce(H, id("b"), {}, false, false, false, 0, 100, out);
  s.announce(H, id("c"), {}, false, false, false, 0, 100, out);
  const [b, c] = [s.peer(H, id("b"))!, s.peer(H, id("c"))!];
  expect(s.addOffer(b, O, id("a"), 100)).toBe(true);
  expect(s.takeOffer(c, O, id("a"), 100)).toBeNull(); // not sent to c
  expect(s.takeOffer(b, O, id("x"), 100)).toBeNull(); // not from x (and now used up)
  expect(s.takeOffer(b, O, id("a"), 100)).toBeNull();
  s.addOffer(b, O, id("a"), 100);
  expect(s.takeOffer(b, O, id("a"), 221)).toBeNull(); // expired (120 s)
  s.addOffer(b, O, id("a"), 100);
  expect(s.takeOffer(b, O, id("a"), 220)).toMatchObject({ from: id("a"), node: null });
  s.addOffer(b, O, id("a"), 100, "node0002"); // relayed from a peer on another node
  expect(s.takeOffer(b, O, id("a"), 100)).toMatchObject({ from: id("a"), node: "node0002" });
  expect(s.pendingOffers).toBe(0);
  for (const t of ["1", "2", "3"]) expect(s.addOffer(b, id(t), id("a"), 100)).toBe(true);
  expect(s.addOffer(b, id("4"), id("a"), 100)).toBe(false); // maxPendingOffers
  s.sweep(150);
  expect(s.pendingOffers).toBe(3); // not expired yet
  s.sweep(300);
  expect(s.pendingOffers).toBe(0);
  expect(s.peerCount).toBe(0); // (and the peers, silent since 100, are gone too)
  const dConn = {};
  s.announce(H, id("d"), dConn, false, false, false, 0, 300, out);
  s.addOffer(s.peer(H, id("d"))!, id("5"), id("a"), 300);
  expect(s.pendingOffers).toBe(1);
  s.announce(H, id("d"), dConn, false, true, false, 0, 300, out); // d leaves: its pending offers go
  expect(s.pendingOffers).toBe(0);
});

test("a peer keeps at most MAX_PENDING_PER_PEER unanswered offers: the oldest go first", () => {
  const s = new WebRtcSwarms<object>({ ...limits, maxPendingOffers: 1_000_000 });
  s.announce(H, id("b"), {}, false, false, false, 0, 100, out);
  const b = s.peer(H, id("b"))!;
  const offer = (k: number) => String(k).padStart(20, "0");
  for (let k = 0; k < MAX_PENDING_PER_PEER + 10; k++) s.addOffer(b, offer(k), id("a"), 100);
  expect(s.pendingOffers).toBe(MAX_PENDING_PER_PEER);
  expect(s.takeOffer(b, offer(0), id("a"), 100)).toBeNull(); // evicted
  expect(s.takeOffer(b, offer(MAX_PENDING_PER_PEER + 9), id("a"), 100)).not.toBeNull();
});

test("the sweep drops peers silent for peerTimeout", () => {
  const s = new WebRtcSwarms<object>(limits);
  s.announce(H, id("a"), {}, false, false, false, 0, 100, out);
  s.announce(H, id("b"), {}, false, false, false, 0, 150, out);
  expect(s.sweep(170)).toBe(1);
  expect(s.peerCount).toBe(1);
  expect(s.peer(H, id("b"))).toBeDefined();
});
