/**
 * The UDP adapter: BEP 15 on Bun.udpSocket, served by the same rules and store as HTTP.
 *
 * Per packet: parse into one reused UdpRequest, authenticate the connection id, fill a
 * protocol-neutral request for the rules (src/rules/), write their result into a pooled reply
 * buffer and queue it (udp-replies.ts: one `sendMany` per event-loop turn, failed sends
 * retried). Nothing is allocated per packet except the reply's subarray view and Bun's own
 * Buffer and address string.
 *
 * Security:
 * - junk (too short, wrong protocol id, unknown action) is dropped without an answer;
 * - announce/scrape need a connection id made for the source address in the last 2-4 minutes;
 *   a wrong or expired one gets a BEP 15 error packet no larger than the request, so the
 *   tracker is never an amplifier for spoofed sources;
 * - the `ip` field of an announce is ignored: the peer's address is the packet's source;
 * - per-address limits (the rules' allowConnect / allowBadIdAnswer): past them, connects and
 *   packets with a bad connection id are dropped unanswered.
 *
 * ICMP: Bun enables IP_RECVERR, so a "port unreachable" from a client that went away surfaces
 * on the socket: as an `error` event (the process exits without a handler: counted here) or as
 * an exception from a later send (handled in udp-replies.ts).
 */
import { parseAddress, writePort } from "../protocol/compact.ts";
import {
  ACTION_ANNOUNCE, ACTION_CONNECT, MAX_SCRAPE_HASHES, PARSE_DROP, PARSE_ERROR, parseUdpRequest, UdpRequest,
  readUrlData, writeAnnounceHeader, writeConnectResponse, writeErrorResponse, writeScrapeEntry, writeScrapeHeader,
} from "../protocol/udp.ts";
import { passkeyOf } from "../protocol/passkey-path.ts";
import { C } from "../rules/counters.ts";
import { AnnounceRequest, ScrapeRequest } from "../rules/requests.ts";
import { AnnounceResult, ScrapeResult } from "../rules/results.ts";
import { nowSeconds, type TrackerRules } from "../rules/tracker-rules.ts";
import { ConnectionIds } from "./connection-id.ts";
import { announceOutcome, hex20, requestNote, scrapeOutcome } from "./request-log.ts";
import { UdpReplyQueue } from "./udp-replies.ts";

type Note = (result: string) => void;

/** Replies queued before a synchronous flush. */
const POOL_SIZE = 256;

export interface UdpServer {
  readonly port: number;
  /** Make and check connection ids with this secret from now on (see ConnectionIds.useSecret). */
  useSecret(secret: string): void;
  close(): void;
}

export async function startUdpServer(rules: TrackerRules, hostname: string, port: number): Promise<UdpServer> {
  const cfg = rules.config;
  const counters = rules.counters;
  const ids = new ConnectionIds(cfg.udpSecret);
  const packet = new UdpRequest();
  const announceReq = new AnnounceRequest();
  const announceRes = new AnnounceResult();
  const scrapeReq = new ScrapeRequest();
  const scrapeRes = new ScrapeResult(cfg.scrapeMaxHashes);
  const maxReply = Math.max(20 + 18 * cfg.numwantMax, 8 + 12 * cfg.scrapeMaxHashes, 256);
  const replies = new UdpReplyQueue(POOL_SIZE, maxReply, () => counters[C.udpSendErrors]!++);
  // Private mode reads the passkey from the announce's BEP 41 URL data (public mode never looks).
  const privateMode = cfg.private;
  const asyncStore = rules.store.async;
  const urlData = new Uint8Array(privateMode ? 255 * 4 : 0);

  function queue(len: number, rport: number, address: string): void {
    counters[C.udpBytesOut]! += len;
    replies.queue(len, rport, address);
  }

  /** A BEP 15 error packet, never longer than the request (`requestLength`) it answers. */
  function queueError(out: Buffer, tid: number, message: string, requestLength: number, rport: number, address: string): void {
    counters[C.udpErrorsSent]!++;
    queue(writeErrorResponse(out, tid, message, requestLength), rport, address);
  }

  /** Whether the rules refused (then the refusal is queued as an error packet). */
  function refused(refusal: string | null, out: Buffer, tid: number, requestLength: number, rport: number, address: string): boolean {
    if (refusal === null) return false;
    queueError(out, tid, refusal, requestLength, rport, address);
    return true;
  }

  /** A bug, not traffic: count it and keep serving. */
  function onBug(e: unknown): void {
    counters[C.udpDropped]!++;
    console.error("udp: unexpected error", e);
  }

  function onPacket(buf: Buffer, rport: number, address: string): void {
    const len = buf.length;
    counters[C.udpPacketsIn]!++;
    counters[C.udpBytesIn]! += len;
    // Every hash a datagram can carry is read: how many a scrape may ask for is the rules' call.
    const status = parseUdpRequest(buf, len, packet, MAX_SCRAPE_HASHES);
    if (status === PARSE_DROP) {
      counters[C.udpDropped]!++;
      return;
    }
    const rec = announceReq.record;
    const family = parseAddress(address, rec, 0);
    if (family === 0) {
      counters[C.udpDropped]!++;
      return;
    }
    const addrLen = family === 4 ? 4 : 16;
    const now = nowSeconds();
    const out = replies.next();
    const tid = packet.transactionId;
    // --log-requests (live: read per packet; nothing is formatted when it is off)
    const note = rules.config.logRequests ? noteFor(packet, buf, status, address) : null;
    if (packet.action === ACTION_CONNECT) {
      counters[C.udpConnects]!++;
      if (!rules.allowConnect(rec, addrLen, now)) return note?.("dropped: over --udp-connects-per-minute"); // no answer
      ids.make(rec, 0, addrLen, now);
      queue(writeConnectResponse(out, tid, ids.hi, ids.lo), rport, address);
      return note?.("ok");
    }
    if (!ids.check(rec, 0, addrLen, packet.connIdHi, packet.connIdLo, now)) {
      counters[C.udpBadConnectionId]!++;
      if (!rules.allowBadIdAnswer(rec, addrLen, now)) return note?.("dropped: bad connection id, over --udp-bad-id-answers-per-minute");
      queueError(out, tid, "bad or expired connection id: connect again", len, rport, address);
      return note?.("refused: bad or expired connection id");
    }
    if (status === PARSE_ERROR) {
      queueError(out, tid, packet.error, len, rport, address);
      return note?.(`failure: ${packet.error}`);
    }
    if (packet.action === ACTION_ANNOUNCE) {
      counters[C.udpAnnounces]!++;
      const r = announceReq;
      // Port 0 means "the port this packet came from" (clients behind NAT do this).
      writePort(rec, addrLen, packet.port === 0 ? rport : packet.port);
      r.family = family;
      r.infoHash = buf;
      r.infoHashOff = packet.infoHashOff;
      r.peerId = buf;
      r.peerIdOff = packet.peerIdOff;
      r.leftIsZero = packet.leftIsZero;
      r.event = packet.event;
      r.numwant = packet.numWant;
      r.uploaded = packet.uploaded;
      r.downloaded = packet.downloaded;
      if (privateMode) {
        const n = readUrlData(buf, len, urlData);
        r.passkey = n === 0 ? null : passkeyOf(Buffer.from(urlData.buffer, 0, n).toString("latin1"), "announce");
      }
      // A remote store answers later, and other packets come in meanwhile: a result of its own,
      // and the reply written into a pool buffer taken when the answer is there.
      const res = asyncStore ? new AnnounceResult() : announceRes;
      const pending = rules.announce(r, res);
      if (pending === undefined) answerAnnounce(out, res, family, tid, len, rport, address, note);
      else pending.then(() => answerAnnounce(replies.next(), res, family, tid, len, rport, address, note)).catch(onBug);
      return;
    }
    // ACTION_SCRAPE
    counters[C.udpScrapes]!++;
    scrapeReq.hashes = buf;
    scrapeReq.hashesOff = packet.scrapeHashOff;
    scrapeReq.count = packet.scrapeCount;
    // BEP 41 defines URL data for announces only: a UDP scrape carries no passkey, and private
    // mode refuses it (scrape over HTTP at /<passkey>/scrape).
    const res = asyncStore ? new ScrapeResult(Math.max(1, packet.scrapeCount)) : scrapeRes;
    const pending = rules.scrape(scrapeReq, res);
    if (pending === undefined) answerScrape(out, res, tid, len, rport, address, note);
    else pending.then(() => answerScrape(replies.next(), res, tid, len, rport, address, note)).catch(onBug);
  }

  /** The --log-requests note for a packet (its action, and the info_hash or the count of hashes). */
  function noteFor(p: UdpRequest, buf: Buffer, status: number, address: string): (result: string) => void {
    const action = p.action === ACTION_CONNECT ? "connect" : p.action === ACTION_ANNOUNCE ? "announce" : "scrape";
    const what = status === PARSE_ERROR ? "" : p.action === ACTION_ANNOUNCE ? hex20(buf, p.infoHashOff) : p.action === ACTION_CONNECT ? "" : `${p.scrapeCount} hashes`;
    return requestNote(rules.log, "udp", address, action, what);
  }

  function answerAnnounce(
    out: Buffer, res: AnnounceResult, family: 4 | 6, tid: number, len: number, rport: number, address: string, note: Note | null,
  ): void {
    note?.(announceOutcome(res));
    if (refused(res.refusal, out, tid, len, rport, address)) return;
    // A BEP 15 answer carries the announcer's family only.
    writeAnnounceHeader(out, tid, res.interval, res.incomplete, res.complete);
    queue(res.peers(family).writeCompact(out, 20), rport, address);
  }

  function answerScrape(out: Buffer, res: ScrapeResult, tid: number, len: number, rport: number, address: string, note: Note | null): void {
    note?.(scrapeOutcome(res));
    if (refused(res.refusal, out, tid, len, rport, address)) return;
    let o = writeScrapeHeader(out, tid);
    for (let i = 0; i < res.count; i++) o = writeScrapeEntry(out, o, res.complete[i]!, res.downloaded[i]!, res.incomplete[i]!);
    queue(o, rport, address);
  }

  const sock = await Bun.udpSocket({
    hostname,
    port,
    binaryType: "buffer",
    socket: {
      data(_s, buf, rport, address) {
        try {
          onPacket(buf, rport, address);
        } catch (e) {
          onBug(e);
        }
      },
      error(_s, _err) {
        // ICMP errors (port unreachable from a departed client) arrive here; nothing to do.
        counters[C.udpIcmpErrors]!++;
      },
    },
  });
  replies.sock = sock;
  return {
    port: sock.port,
    useSecret: (secret) => ids.useSecret(secret),
    close() {
      replies.flush();
      sock.close();
      replies.sock = null;
    },
  };
}
