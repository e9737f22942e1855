/**
 * The UDP adapter: BEP 15 on Bun.udpSocket, sharing the swarm store with HTTP.
 *
 * Per packet: parse into one reused UdpRequest, authenticate the connection id, call the store,
 * write the answer into a pooled reply buffer and queue it. Queued replies go out in one
 * `sendMany` from setImmediate (measured ~1.2x over one `send` per packet, DESIGN.md), or at
 * once when the pool is full. Nothing is allocated per packet except the reply's subarray view
 * and Bun's own address string.
 *
 * Security:
 * - junk (too short, wrong protocol id, unknown action) is dropped without an answer;
 * - announce/scrape need a connection id made for the source address in the last 2-4 minutes;
 *   a wrong or expired one gets a BEP 15 error packet no larger than the request, so the
 *   tracker is never an amplifier for spoofed sources;
 * - the `ip` field of an announce is ignored: the peer's address is the packet's source.
 *
 * ICMP: Bun enables IP_RECVERR, so a "port unreachable" from a client that went away surfaces
 * on the socket: as an `error` event (the process exits without a handler) or as an exception
 * from the next send, and `sendMany` stops at the failing packet. flush() therefore sends what
 * sendMany left over one by one, each guarded, so the next healthy client still gets its answer.
 */
import type { udp } from "bun";
import { parseAddress, writePort } from "../protocol/compact.ts";
import {
  ACTION_ANNOUNCE, ACTION_CONNECT, PARSE_DROP, PARSE_ERROR, parseUdpRequest, UdpRequest,
  writeAnnounceHeader, writeConnectResponse, writeErrorResponse, writeScrapeEntry, writeScrapeHeader,
} from "../protocol/udp.ts";
import { C } from "../stats-counters.ts";
import { ANNOUNCE_OK } from "../swarm/swarm-store.ts";
import { nowSeconds, type TrackerCore } from "../tracker-core.ts";
import { ConnectionIds } from "./connection-id.ts";

/** Replies queued before a synchronous flush. */
const POOL_SIZE = 256;

export interface UdpServer {
  readonly port: number;
  close(): void;
}

export async function startUdpServer(core: TrackerCore, hostname: string, port: number): Promise<UdpServer> {
  const cfg = core.config;
  const store = core.store;
  const counters = core.counters;
  const ids = new ConnectionIds(cfg.udpSecret);
  const req = new UdpRequest();
  const rec = new Uint8Array(18);
  const maxReply = Math.max(20 + 18 * cfg.numwantMax, 8 + 12 * cfg.scrapeMaxHashes, 256);
  const pool: Buffer[] = [];
  for (let i = 0; i < POOL_SIZE; i++) pool.push(Buffer.allocUnsafe(maxReply));
  /** sendMany's flat argument list: data, port, address, data, port, address, ... */
  const batch: (Buffer | number | string)[] = [];
  let queued = 0;
  let flushScheduled = false;
  let sock: udp.Socket<"buffer"> | null = null;

  function flush(): void {
    flushScheduled = false;
    const n = queued;
    if (n === 0 || sock === null) return;
    queued = 0;
    let i = 0;
    while (i < n) {
      let sent = 0;
      try {
        // The common case sends the whole batch in one call; a retry after a failure sends the
        // rest (slice: the error path only).
        sent = sock.sendMany(i === 0 ? batch : batch.slice(i * 3));
      } catch {
        sent = 0;
      }
      i += sent;
      if (i >= n) break;
      // Packet i did not go. Most often a reply to a departed client came back as ICMP "port
      // unreachable", and the kernel reports that pending error on this later send, which then
      // fails without sending: sending the same datagram again works (the error is consumed).
      sendOne(i);
      i++;
    }
    batch.length = 0;
  }

  /** Send queued reply k on its own, retrying after a reported ICMP error. */
  function sendOne(k: number): void {
    const data = batch[k * 3] as Buffer;
    const rport = batch[k * 3 + 1] as number;
    const address = batch[k * 3 + 2] as string;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (sock!.send(data, rport, address)) return;
      } catch {
        // a pending ICMP error, consumed by this call: try again
      }
    }
    counters[C.udpSendErrors]!++;
  }

  function queue(len: number, rport: number, address: string): void {
    const buf = pool[queued]!;
    batch.push(buf.subarray(0, len), rport, address);
    counters[C.udpBytesOut]! += len;
    queued++;
    if (queued === POOL_SIZE) flush();
    else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
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
    const out = pool[queued]!;
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

  sock = await Bun.udpSocket({
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
  const s = sock;
  return {
    port: s.port,
    close() {
      flush();
      s.close();
      sock = null;
    },
  };
}
