/** The WebTorrent message codec (protocol/ws-messages.ts): what is accepted, what is refused and why. */
import { describe, expect, test } from "bun:test";
import { EVENT_COMPLETED, EVENT_NONE, EVENT_PAUSED, EVENT_STARTED, EVENT_STOPPED } from "../src/protocol/events.ts";
import {
  announceAnswer, failureAnswer, isBinary20, readWsRequest, relayedAnswer, relayedOffer, scrapeAnswer,
} from "../src/protocol/ws-messages.ts";

const H = "\u0000\u00ff" + "h".repeat(18);
const P = "p".repeat(20);
const O = "o".repeat(20);
const read = (m: unknown) => readWsRequest(m, 10, 3);
const announce = (extra: Record<string, unknown> = {}) => read({ action: "announce", info_hash: H, peer_id: P, ...extra });

describe("readWsRequest: announces", () => {
  test("a started announce with offers, as the npm client sends it", () => {
    const r = announce({ uploaded: 0, downloaded: 0, left: 100, event: "started", numwant: 2, offers: [{ offer: { type: "offer", sdp: "v=0" }, offer_id: O }] });
    expect(r).toMatchObject({ kind: "announce", infoHash: H, peerId: P, leftIsZero: false, event: EVENT_STARTED, numwant: 2, answer: null });
    expect(r.kind === "announce" && r.offers).toEqual([{ offerId: O, offer: { type: "offer", sdp: "v=0" } }]);
  });

  test("events: started, stopped, completed, paused, empty, absent", () => {
    const events: [unknown, number][] = [["started", EVENT_STARTED], ["stopped", EVENT_STOPPED], ["completed", EVENT_COMPLETED], ["paused", EVENT_PAUSED], ["", EVENT_NONE], [undefined, EVENT_NONE]];
    for (const [event, want] of events) expect(announce({ event })).toMatchObject({ event: want });
    expect(announce({ event: "exploded" })).toMatchObject({ kind: "bad", reason: "invalid event", action: "announce", infoHash: H });
  });

  test("left: exactly 0 is a seeder; missing or not a number is a leecher", () => {
    expect(announce({ left: 0 })).toMatchObject({ leftIsZero: true });
    expect(announce({ left: "0" })).toMatchObject({ leftIsZero: true });
    expect(announce({})).toMatchObject({ leftIsZero: false });
    expect(announce({ left: "lots" })).toMatchObject({ leftIsZero: false });
  });

  test("an answer needs to_peer_id, offer_id and an answer object", () => {
    expect(announce({ to_peer_id: O, offer_id: O, answer: { type: "answer", sdp: "x" } })).toMatchObject({ answer: { toPeerId: O, offerId: O } });
    expect(announce({ offer_id: O, answer: {} })).toMatchObject({ kind: "bad", reason: "invalid to_peer_id (required with an answer)" });
    expect(announce({ to_peer_id: O, answer: {} })).toMatchObject({ kind: "bad", reason: "invalid offer_id (required with an answer)" });
    expect(announce({ to_peer_id: O, offer_id: O, answer: "sdp" })).toMatchObject({ kind: "bad", reason: "invalid answer: an object" });
  });

  test("wrong types and shapes are refused with the info_hash when it is known", () => {
    expect(read({ action: "announce", info_hash: "short", peer_id: P })).toMatchObject({ kind: "bad", action: "announce", infoHash: null });
    expect(read({ action: "announce", info_hash: "\u0100".repeat(20), peer_id: P })).toMatchObject({ kind: "bad", infoHash: null }); // not byte-sized
    expect(read({ action: "announce", info_hash: H, peer_id: 5 })).toMatchObject({ kind: "bad", infoHash: H });
    expect(announce({ offers: "many" })).toMatchObject({ kind: "bad", reason: "invalid offers: an array" });
    expect(announce({ offers: [{ offer_id: O }] })).toMatchObject({ kind: "bad" });
    expect(announce({ offers: Array.from({ length: 11 }, () => ({ offer: {}, offer_id: O })) })).toMatchObject({ kind: "bad", reason: "too many offers (at most 10)" });
    expect(announce({ numwant: -3 })).toMatchObject({ kind: "bad", reason: "invalid numwant" });
  });

  test("not an object, or an unknown action", () => {
    for (const m of [null, 3, "x", [1], true]) expect(read(m)).toMatchObject({ kind: "bad", reason: "a message must be a JSON object" });
    expect(read({ action: "connect" })).toMatchObject({ kind: "bad", reason: "unknown action: connect", action: null });
  });
});

describe("readWsRequest: scrapes", () => {
  test("one hash, a list, or none (a full scrape)", () => {
    expect(read({ action: "scrape", info_hash: H })).toEqual({ kind: "scrape", infoHashes: [H] });
    expect(read({ action: "scrape", info_hash: [H, P] })).toEqual({ kind: "scrape", infoHashes: [H, P] });
    expect(read({ action: "scrape" })).toEqual({ kind: "scrape", infoHashes: [] });
  });

  test("bad hashes and too many are refused", () => {
    expect(read({ action: "scrape", info_hash: [H, "x"] })).toMatchObject({ kind: "bad", action: "scrape" });
    expect(read({ action: "scrape", info_hash: 7 })).toMatchObject({ kind: "bad", action: "scrape" });
    expect(read({ action: "scrape", info_hash: [H, H, H, H] })).toMatchObject({ kind: "bad", reason: "too many info_hash values in one scrape (at most 3)" });
  });
});

describe("answers", () => {
  test("each is valid JSON carrying what the clients match on, binary strings intact", () => {
    const j = JSON.stringify;
    expect(JSON.parse(announceAnswer(j(H), 1, 2, 120))).toEqual({ action: "announce", info_hash: H, complete: 1, incomplete: 2, interval: 120 });
    expect(JSON.parse(relayedOffer(j(H), j(P), j({ type: "offer", sdp: "a\r\nb\"c" }), j(O)))).toEqual({
      action: "announce", info_hash: H, peer_id: P, offer: { type: "offer", sdp: "a\r\nb\"c" }, offer_id: O,
    });
    expect(JSON.parse(relayedAnswer(j(H), j(P), j({ type: "answer", sdp: "z" }), j(O)))).toEqual({ action: "announce", info_hash: H, peer_id: P, answer: { type: "answer", sdp: "z" }, offer_id: O });
    expect(JSON.parse(scrapeAnswer([{ infoHash: H, complete: 1, incomplete: 0, downloaded: 3 }]))).toEqual({
      action: "scrape", files: { [H]: { complete: 1, incomplete: 0, downloaded: 3 } },
    });
    expect(JSON.parse(failureAnswer("no", "announce", H))).toEqual({ "failure reason": "no", action: "announce", info_hash: H });
    expect(JSON.parse(failureAnswer("no", null, null))).toEqual({ "failure reason": "no" });
  });

  test("isBinary20: 20 characters of codes 0-255", () => {
    expect(isBinary20("\u0000".repeat(20))).toBe(true);
    expect(isBinary20("\u00ff".repeat(20))).toBe(true);
    expect(isBinary20("a".repeat(19))).toBe(false);
    expect(isBinary20("\u0100" + "a".repeat(19))).toBe(false);
    expect(isBinary20(null)).toBe(false);
  });
});
