/**
 * The WebSocket adapter: WebTorrent's tracker protocol (protocol/ws-messages.ts) on Bun.serve's
 * `websocket` handlers, on the HTTP port. Parse -> rules (TrackerRules.announceWebRtc,
 * answerTarget, scrapeWebRtc) -> send; the only thing decided here is transport:
 *
 * - Upgrade: `/` and `/announce` (private mode: `/<passkey>/announce`) with `Upgrade:
 *   websocket`; past wsMaxConnections open connections the upgrade gets 503 instead.
 * - Frames: text only. A binary frame, invalid JSON or a malformed message gets
 *   `{"failure reason": ...}` (with action and info_hash when known) and is counted; the
 *   connection stays. Past wsMessagesPerMinute a connection is closed (1008); a message over
 *   wsMaxMessageBytes is closed by Bun (1009); a client that does not read its messages is
 *   closed at BACKPRESSURE_LIMIT bytes queued, so it holds no more memory than that.
 * - Offers: each goes to one chosen peer, serialised once; the rules remember it as pending,
 *   so the answer reaches only the peer that sent the offer.
 * - Close: the peer leaves every swarm it joined on this connection.
 * - A shared store (Redis, store.webrtcDirectory): the swarms span every node. The rules answer
 *   later (a Promise) and may choose peers connected to other nodes; their offers, and answers
 *   to offerers there, are handed to the directory, which publishes them to that node; what other
 *   nodes publish for peers connected here arrives in `relayed`.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { parseAddress } from "../protocol/compact.ts";
import { EVENT_STOPPED } from "../protocol/events.ts";
import {
  announceAnswer, failureAnswer, readWsRequest, relayedAnswer, relayedOffer, scrapeAnswer, type WsAnnounce,
} from "../protocol/ws-messages.ts";
import { C } from "../rules/counters.ts";
import { WebRtcAnnounceRequest } from "../rules/requests.ts";
import { WebRtcAnnounceResult } from "../rules/results.ts";
import type { TrackerRules, WebRtcScrapeFile } from "../rules/tracker-rules.ts";
import type { WebRtcRelay } from "../store/store.ts";
import { hexOfBinary, requestNote } from "./request-log.ts";

/** Bytes queued for one slow client before it is closed. */
const BACKPRESSURE_LIMIT = 1024 * 1024;

/** What each connection carries. */
export interface WsData {
  /** The client's address as a wire record (address bytes; the port is unused). */
  record: Uint8Array;
  family: 4 | 6;
  /** Private mode: the key from the upgrade URL, or null. */
  passkey: string | null;
  /** The client's address as text (for --log-requests). */
  address: string;
  /** info_hash + peer_id of every peer this connection announced (to leave on close). */
  joined: Set<string>;
  /** Messages in the current minute, and when that minute started (ms). */
  messages: number;
  windowStart: number;
}

export type WsServer = Server<WsData>;

export interface WebSocketTracker {
  /** Bun.serve's `websocket` option. */
  readonly handler: WebSocketHandler<WsData>;
  /**
   * Upgrade the request (undefined: it was upgraded, Bun answers it), or a Response refusing
   * it. `clientIp` is the address the HTTP adapter read (proxy header rules included).
   */
  upgrade(req: Request, server: WsServer, clientIp: string, passkey: string | null): Response | undefined;
  /** Connections open now. */
  readonly open: number;
  /** Close every connection (1001, going away): the tracker stops. */
  closeAll(): void;
}

export function createWebSocketTracker(rules: TrackerRules): WebSocketTracker {
  const cfg = rules.config;
  const counters = rules.counters;
  const req = new WebRtcAnnounceRequest();
  const res = new WebRtcAnnounceResult();
  const sockets = new Set<ServerWebSocket<WsData>>();
  // A shared store (Redis) spans the WebRTC swarms of every node: peers connected elsewhere are
  // reached through it.
  const directory = rules.store.webrtcDirectory;

  function send(ws: ServerWebSocket<WsData>, text: string): void {
    counters[C.wsBytesOut]! += text.length;
    ws.send(text);
  }

  function fail(ws: ServerWebSocket<WsData>, reason: string, action: "announce" | "scrape" | null, infoHash: string | null): void {
    counters[C.wsFailures]!++;
    send(ws, failureAnswer(reason, action, infoHash));
  }

  function announce(ws: ServerWebSocket<WsData>, m: WsAnnounce): void {
    const d = ws.data;
    // --log-requests (live: read per message; nothing is formatted when it is off)
    const note = rules.config.logRequests
      ? requestNote(rules.log, "ws", d.address, m.answer !== null ? "answer" : "announce", hexOfBinary(m.infoHash))
      : null;
    if (m.answer !== null) {
      const target = rules.answerTarget(m.infoHash, m.peerId, m.answer.toPeerId, m.answer.offerId, ws, d.passkey);
      note?.(typeof target === "string" ? `refused: ${target}` : "ok: relayed to the offerer");
      if (typeof target === "string") return fail(ws, target, "announce", m.infoHash);
      const j = JSON.stringify;
      const text = relayedAnswer(j(m.infoHash), j(m.peerId), j(m.answer.answer), j(m.answer.offerId));
      if ("conn" in target) {
        counters[C.wsAnswersRelayed]!++;
        send(target.conn as ServerWebSocket<WsData>, text);
      } else {
        // The offerer is connected to another node (shared store): that node delivers it.
        counters[C.wsRelayedToNodes]!++;
        directory!.relay(target.node, {
          kind: "answer", infoHash: m.infoHash, to: target.peerId, from: m.peerId, fromNode: directory!.node, offerId: m.answer.offerId, text,
        });
      }
      return;
    }
    counters[C.wsAnnounces]!++;
    req.infoHash = m.infoHash;
    req.peerId = m.peerId;
    req.conn = ws;
    req.family = d.family;
    req.record.set(d.record);
    req.leftIsZero = m.leftIsZero;
    req.event = m.event;
    req.numwant = m.numwant;
    req.offers = m.offers.length;
    req.uploaded = m.uploaded;
    req.downloaded = m.downloaded;
    req.passkey = d.passkey;
    // A shared store answers later, and other messages come in meanwhile: a result of its own.
    const r = directory === null ? res : new WebRtcAnnounceResult();
    const pending = rules.announceWebRtc(req, r);
    if (pending === undefined) answered(ws, m, r, note);
    else pending.then(() => answered(ws, m, r, note)).catch((e) => console.error("ws: unexpected error", e));
  }

  /** The announce's answer, and its offers relayed to the chosen peers (here, or on other nodes). */
  function answered(ws: ServerWebSocket<WsData>, m: WsAnnounce, r: WebRtcAnnounceResult, note: ((result: string) => void) | null): void {
    note?.(r.refusal !== null
      ? `refused: ${r.refusal}`
      : `ok: ${Math.min(m.offers.length, r.peers.length + r.remote.length)} offers relayed (${r.complete} seeders, ${r.incomplete} leechers)`);
    if (r.refusal !== null) return fail(ws, r.refusal, "announce", m.infoHash);
    const d = ws.data;
    if (m.event === EVENT_STOPPED) d.joined.delete(m.infoHash + m.peerId);
    else d.joined.add(m.infoHash + m.peerId);
    const hashJson = JSON.stringify(m.infoHash);
    send(ws, announceAnswer(hashJson, r.complete, r.incomplete, r.interval));
    if (r.peers.length === 0 && r.remote.length === 0) return;
    const now = Math.floor(Date.now() / 1000);
    const fromJson = JSON.stringify(m.peerId);
    let k = 0;
    for (; k < r.peers.length; k++) {
      const peer = r.peers[k]!;
      const offer = m.offers[k]!;
      if (!rules.webrtc.addOffer(peer, offer.offerId, m.peerId, now)) return; // too many pending
      counters[C.wsOffersRelayed]!++;
      send(peer.conn as ServerWebSocket<WsData>, relayedOffer(hashJson, fromJson, JSON.stringify(offer.offer), JSON.stringify(offer.offerId)));
    }
    for (let i = 0; i < r.remote.length && k < m.offers.length; i++, k++) {
      const to = r.remote[i]!;
      const offer = m.offers[k]!;
      counters[C.wsRelayedToNodes]!++;
      directory!.relay(to.node, {
        kind: "offer", infoHash: m.infoHash, to: to.peerId, from: m.peerId, fromNode: directory!.node, offerId: offer.offerId,
        text: relayedOffer(hashJson, fromJson, JSON.stringify(offer.offer), JSON.stringify(offer.offerId)),
      });
    }
  }

  /**
   * A message another node relays to a peer connected here (shared store). An offer is
   * remembered as pending for that peer first, with the offerer's node, so the answer can only
   * go back there.
   */
  function relayed(msg: WebRtcRelay): void {
    const peer = rules.webrtc.peer(msg.infoHash, msg.to);
    if (peer === undefined) return; // gone meanwhile: the offerer's client tries other peers
    if (msg.kind === "offer") {
      if (!rules.webrtc.addOffer(peer, msg.offerId, msg.from, Math.floor(Date.now() / 1000), msg.fromNode)) return;
      counters[C.wsOffersRelayed]!++;
    } else counters[C.wsAnswersRelayed]!++;
    send(peer.conn as ServerWebSocket<WsData>, msg.text);
  }
  if (directory !== null) directory.onRelay = relayed;

  function message(ws: ServerWebSocket<WsData>, raw: string | Buffer): void {
    counters[C.wsMessagesIn]!++;
    counters[C.wsBytesIn]! += raw.length;
    const d = ws.data;
    if (cfg.wsMessagesPerMinute > 0) {
      const now = performance.now();
      if (now - d.windowStart >= 60_000) {
        d.windowStart = now;
        d.messages = 0;
      }
      if (++d.messages > cfg.wsMessagesPerMinute) {
        counters[C.wsClosedRate]!++;
        ws.close(1008, "too many messages");
        return;
      }
    }
    if (typeof raw !== "string") {
      counters[C.wsBadMessages]!++;
      return fail(ws, "binary frames are not part of the protocol: send JSON text", null, null);
    }
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      counters[C.wsBadMessages]!++;
      return fail(ws, "invalid JSON", null, null);
    }
    const m = readWsRequest(msg, cfg.wsMaxOffers, cfg.scrapeMaxHashes);
    switch (m.kind) {
      case "bad":
        counters[C.wsBadMessages]!++;
        if (rules.config.logRequests) requestNote(rules.log, "ws", d.address, m.action ?? "message", "")(`failure: ${m.reason}`);
        return fail(ws, m.reason, m.action, m.infoHash);
      case "announce":
        return announce(ws, m);
      case "scrape": {
        counters[C.wsScrapes]!++;
        const note = rules.config.logRequests ? requestNote(rules.log, "ws", d.address, "scrape", `${m.infoHashes.length} hashes`) : null;
        const files = rules.scrapeWebRtc(m.infoHashes, d.passkey);
        if (!(files instanceof Promise)) return scraped(ws, files, note);
        files.then((f) => scraped(ws, f, note)).catch((e) => console.error("ws: unexpected error", e));
        return;
      }
    }
  }

  function scraped(ws: ServerWebSocket<WsData>, files: WebRtcScrapeFile[] | string, note: ((result: string) => void) | null): void {
    note?.(typeof files === "string" ? `refused: ${files}` : `ok: ${files.length} torrents`);
    if (typeof files === "string") return fail(ws, files, "scrape", null);
    send(ws, scrapeAnswer(files));
  }

  const handler: WebSocketHandler<WsData> = {
    maxPayloadLength: cfg.wsMaxMessageBytes,
    idleTimeout: cfg.wsIdleTimeout,
    backpressureLimit: BACKPRESSURE_LIMIT,
    closeOnBackpressureLimit: true,
    sendPings: true,
    open(ws) {
      sockets.add(ws);
      counters[C.wsConnections]!++;
    },
    message(ws, raw) {
      try {
        message(ws, raw);
      } catch (e) {
        console.error("ws: unexpected error", e);
      }
    },
    close(ws, code) {
      sockets.delete(ws);
      counters[C.wsConnectionsClosed]!++;
      if (code === 1009) counters[C.wsClosedTooBig]!++;
      else if (code === 1006 && ws.getBufferedAmount() >= BACKPRESSURE_LIMIT) counters[C.wsClosedBackpressure]!++;
      rules.webRtcConnectionClosed(ws, ws.data.joined);
    },
  };

  return {
    handler,
    get open() {
      return sockets.size;
    },
    closeAll() {
      for (const ws of sockets) ws.close(1001, "tracker stopping");
    },
    upgrade(request, server, clientIp, passkey) {
      if (sockets.size >= cfg.wsMaxConnections) {
        counters[C.wsConnectionsRefused]!++;
        return new Response("too many WebSocket connections, try later\n", { status: 503, headers: { "Retry-After": "60" } });
      }
      const record = new Uint8Array(18);
      const family = parseAddress(clientIp, record, 0);
      if (family === 0) return new Response("cannot read your address\n", { status: 400 });
      const data: WsData = {
        record, family, passkey, address: clientIp, joined: new Set(), messages: 0, windowStart: performance.now(),
      };
      if (server.upgrade(request, { data })) return undefined;
      return new Response("a WebSocket upgrade was expected\n", { status: 400 });
    },
  };
}
