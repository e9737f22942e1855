/**
 * The UDP adapter: BEP 15 on Bun.udpSocket, sharing the swarm store with HTTP.
 *
 * Per packet: parse into one reused UdpRequest, authenticate the connection id, call the store,
 * write the answer into a pooled reply buffer and queue it (udp-replies.ts: one `sendMany` per
 * event-loop turn, failed sends retried). Nothing is allocated per packet except the reply's
 * subarray view and Bun's own Buffer and address string.
 *
 * Security:
 * - junk (too short, wrong protocol id, unknown action) is dropped without an answer;
 * - announce/scrape need a connection id made for the source address in the last 2-4 minutes;
 *   a wrong or expired one gets a BEP 15 error packet no larger than the request, so the
 *   tracker is never an amplifier for spoofed sources;
 * - the `ip` field of an announce is ignored: the peer's address is the packet's source.
 *
 * ICMP: Bun enables IP_RECVERR, so a "port unreachable" from a client that went away surfaces
 * on the socket: as an `error` event (the process exits without a handler: counted here) or as
 * an exception from a later send (handled in udp-replies.ts).
 */
import { parseAddress, writePort } from "../protocol/compact.ts";
import {
  ACTION_ANNOUNCE, ACTION_CONNECT, PARSE_DROP, PARSE_ERROR, parseUdpRequest, UdpRequest,
  writeAnnounceHeader, writeConnectResponse, writeErrorResponse, writeScrapeEntry, writeScrapeHeader,
} from "../protocol/udp.ts";
import { C } from "../rules/counters.ts";
import { ANNOUNCE_OK } from "../store/memory/memory-store.ts";
import { nowSeconds, type TrackerRules } from "../rules/tracker-rules.ts";
import { ConnectionIds } from "./connection-id.ts";
import { UdpReplyQueue } from "./udp-replies.ts";

/** Replies queued before a synchronous flush. */
const POOL_SIZE = 256;

export interface UdpServer {
  readonly port: number;
  close(): void;
}

export async function startUdpServer(core: TrackerRules, hostname: string, port: number): Promise<UdpServer> {
  const cfg = core.config;
  const store = core.store;
  const counters = core.counters;
  const ids = new ConnectionIds(cfg.udpSecret);
  const req = new UdpRequest();
  const rec = new Uint8Array(18);
  const maxReply = Math.max(20 + 18 * cfg.numwantMax, 8 + 12 * cfg.scrapeMaxHashes, 256);
  const replies = new UdpReplyQueue(POOL_SIZE, maxReply, () => counters[C.udpSendErrors]!++);

  function queue(len: number, rport: number, address: string): void {
    counters[C.udpBytesOut]! += len;
    replies.queue(len, rport, address);
  }

  function onPacket(buf: Buffer, rport: number, address: string): void {
    const len = buf.length;
    counters[C.udpPacketsIn]!++;
    counters[C.udpBytesIn]! += len;
    const status = parseUdpRequest(buf, len, req, cfg.scrapeMaxHashes);
    if (status === PARSE_DROP) {
      counters[C.udpDropped]!++;
      return;
    }
    const family = parseAddress(address, rec, 0);
    if (family === 0) {
      counters[C.udpDropped]!++;
      return;
    }
    const addrLen = family === 4 ? 4 : 16;
    const now = nowSeconds();
    const out = replies.next();
    const tid = req.transactionId;
    if (req.action === ACTION_CONNECT) {
      counters[C.udpConnects]!++;
      ids.make(rec, 0, addrLen, now);
      queue(writeConnectResponse(out, tid, ids.hi, ids.lo), rport, address);
      return;
    }
    if (!ids.check(rec, 0, addrLen, req.connIdHi, req.connIdLo, now)) {
      counters[C.udpBadConnectionId]!++;
      counters[C.udpErrorsSent]!++;
      queue(writeErrorResponse(out, tid, "bad or expired connection id: connect again", len), rport, address);
      return;
    }
    if (status === PARSE_ERROR) {
      counters[C.udpErrorsSent]!++;
      queue(writeErrorResponse(out, tid, req.error, len), rport, address);
      return;
    }
    if (req.action === ACTION_ANNOUNCE) {
      counters[C.udpAnnounces]!++;
      // Port 0 means "the port this packet came from" (clients behind NAT do this).
      writePort(rec, addrLen, req.port === 0 ? rport : req.port);
      const st = store.announce(
        buf, req.infoHashOff, family, rec, 0, buf, req.peerIdOff,
        req.leftIsZero, req.event, core.numwant(req.numWant), false, now,
      );
      if (st !== ANNOUNCE_OK) {
        counters[C.udpErrorsSent]!++;
        queue(writeErrorResponse(out, tid, "tracker is full, try later", len), rport, address);
        return;
      }
      writeAnnounceHeader(out, tid, core.interval, store.incomplete, store.complete);
      queue(store.writeCompact(family, out, 20), rport, address);
      return;
    }
    // ACTION_SCRAPE
    counters[C.udpScrapes]!++;
    let o = writeScrapeHeader(out, tid);
    for (let i = 0; i < req.scrapeCount; i++) {
      const t = store.findTorrent(buf, req.scrapeHashOff + i * 20);
      o = t < 0
        ? writeScrapeEntry(out, o, 0, 0, 0)
        : writeScrapeEntry(out, o, store.seeders[t]!, store.downloaded[t]!, store.leechersOf(t));
    }
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
          // A bug, not traffic: count it and keep serving.
          counters[C.udpDropped]!++;
          console.error("udp: unexpected error", e);
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
    close() {
      replies.flush();
      sock.close();
      replies.sock = null;
    },
  };
}
