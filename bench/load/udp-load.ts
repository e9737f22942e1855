/**
 * UDP mode (BEP 15): a bounded window of requests in flight, sent in batches with sendMany.
 *
 * Each client connects first and caches its connection id, refreshing it when older than
 * --conn-ttl (or after an error reply); then it announces (started, then regular, sometimes
 * completed or stopped) and sometimes scrapes. Clients are spread over K connected sockets
 * on the target's loopback address family; a client always uses the same socket, because a
 * tracker may bind the connection id to the client's source address and port.
 *
 * Hot path: every slot of the window owns a preallocated request buffer and its views
 * (connect, announce, scrape of 1..K hashes), the transaction id is (generation << 16 | slot)
 * so an answer finds its slot without a map, and all state lives in typed arrays. Replies are
 * handled in the socket callback; refilling the window is deferred to one setImmediate per
 * event-loop turn so requests leave in batches (one sendMany per socket).
 */
import { LatencyHistogram } from "./histogram.ts";
import type { LoadOptions } from "./options.ts";
import { KIND_ANNOUNCE, KIND_CONNECT, KIND_SCRAPE, Population } from "./population.ts";
import { buildResult, Counters, type LoadResult } from "./result.ts";
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_SCRAPE,
  checkReply,
  describeBad,
  TRACKER_ERROR,
  writeAnnounceRequest,
  writeConnectRequest,
  writeScrapeRequest,
  type AnnounceFields,
} from "./udp-wire.ts";

const MAX_WINDOW = 65_536; // the slot lives in the low 16 bits of the transaction id
const TIMEOUT_SCAN_MS = 50;
/**
 * The window opens gradually (like TCP slow start): RAMP_START requests at first, one more
 * per answer. Sending the whole window in one burst overflows the tracker's socket receive
 * buffer (212 KB by default: a few hundred datagrams; Bun cannot enlarge it), and every
 * request dropped there would idle its client for the whole timeout. After losses the
 * window shrinks to what is still in flight and regrows by one per AVOIDANCE_STEP answers:
 * otherwise the slots of a burst lost together time out together and are re-sent as the
 * same burst, which is lost again, every timeout period (an echo seen against both trackers).
 */
const RAMP_START = 64;
const AVOIDANCE_STEP = 16;

export async function runUdpLoad(options: LoadOptions): Promise<LoadResult> {
  const pop = new Population(options);
  // Requests sent during the warm-up are accounted apart (and not reported): the tracker's
  // and the generator's JITs, caches and socket buffers settle first.
  const counters = new Counters();
  const latency = new LatencyHistogram();
  const warmCounters = new Counters();
  const warmLatency = new LatencyHistogram();
  let measureStart = Infinity; // set when the sockets are open
  const window = Math.min(options.window, MAX_WINDOW);
  const socketCount = options.sockets;
  const clients = options.clients;
  const peerSize = options.target.ipv6 ? 18 : 6;
  const ttlMs = options.connectionTtlSeconds * 1000;
  const timeoutMs = options.timeoutMs;
  const scrapeMax = options.scrapeMax;

  // Per-client connection id cache.
  const connHi = new Uint32Array(clients);
  const connLo = new Uint32Array(clients);
  const connAt = new Float64Array(clients).fill(-Infinity);

  // The window: one slot per request in flight.
  const slotSize = Math.max(98, 16 + 20 * scrapeMax);
  const arena = Buffer.alloc(slotSize * window);
  const slotBuf: Buffer[] = [];
  const connectView: Buffer[] = [];
  const announceView: Buffer[] = [];
  const scrapeView: Buffer[][] = [];
  for (let s = 0; s < window; s++) {
    const b = arena.subarray(s * slotSize, (s + 1) * slotSize);
    slotBuf.push(b);
    connectView.push(b.subarray(0, 16));
    announceView.push(b.subarray(0, 98));
    const views: Buffer[] = [];
    for (let n = 0; n <= scrapeMax; n++) views.push(b.subarray(0, 16 + 20 * n));
    scrapeView.push(views);
  }
  const slotActive = new Uint8Array(window);
  const slotGen = new Uint16Array(window);
  const slotClient = new Int32Array(window);
  const slotKind = new Uint8Array(window);
  const slotEvent = new Uint8Array(window);
  const slotExpected = new Int32Array(window);
  const slotSentAt = new Float64Array(window);
  const freeStack = new Int32Array(window);
  let freeTop = 0;
  for (let s = window - 1; s >= 0; s--) freeStack[freeTop++] = s;
  let inFlight = 0;

  // Per-socket batches, reused across flushes.
  const batches: Buffer[][] = [];
  const batchSlots: Int32Array[] = [];
  const batchLen = new Int32Array(socketCount);
  for (let k = 0; k < socketCount; k++) {
    batches.push([]);
    batchSlots.push(new Int32Array(window));
  }

  const fields: AnnounceFields = {
    connHi: 0, connLo: 0, txid: 0, torrent: 0, client: 0, left: 0, event: 0, key: 0,
    numwant: options.numwant, port: 0,
  };

  let stopped = false;
  let windowCap = Math.min(window, RAMP_START); // the open part of the window
  let growthStep = 1; // answers per window increment: 1 in slow start, AVOIDANCE_STEP after a loss
  let growth = 0;
  let fillScheduled = false;

  function release(slot: number): void {
    slotActive[slot] = 0;
    pop.busy[slotClient[slot]!] = 0;
    freeStack[freeTop++] = slot;
    inFlight--;
  }

  function scheduleFill(): void {
    if (!fillScheduled && !stopped) {
      fillScheduled = true;
      setImmediate(fill);
    }
  }

  function fill(): void {
    fillScheduled = false;
    if (stopped) return;
    const now = performance.now();
    const acct = now >= measureStart ? counters : warmCounters;
    while (freeTop > 0 && inFlight < windowCap) {
      const client = pop.nextIdleClient();
      if (client < 0) break;
      const slot = freeStack[--freeTop]!;
      const gen = (slotGen[slot]! + 1) & 0xffff;
      slotGen[slot] = gen;
      const txid = ((gen << 16) | slot) >>> 0;
      const buf = slotBuf[slot]!;
      let view: Buffer;
      if (now - connAt[client]! > ttlMs) {
        writeConnectRequest(buf, txid);
        slotKind[slot] = KIND_CONNECT;
        view = connectView[slot]!;
      } else if (pop.planKind() === KIND_ANNOUNCE) {
        const event = pop.planEvent(client);
        fields.connHi = connHi[client]!;
        fields.connLo = connLo[client]!;
        fields.txid = txid;
        fields.torrent = pop.torrentOf[client]!;
        fields.client = client;
        fields.left = pop.leftFor(client, event);
        fields.event = event;
        fields.key = client;
        fields.port = pop.portOf[client]!;
        writeAnnounceRequest(buf, fields, pop.infoHashes, pop.peerIds);
        slotKind[slot] = KIND_ANNOUNCE;
        slotEvent[slot] = event;
        slotExpected[slot] = options.numwant;
        view = announceView[slot]!;
      } else {
        const n = pop.planScrape();
        writeScrapeRequest(buf, connHi[client]!, connLo[client]!, txid, pop.infoHashes, pop.scrapeTorrents, n);
        slotKind[slot] = KIND_SCRAPE;
        slotExpected[slot] = n;
        view = scrapeView[slot]![n]!;
      }
      slotClient[slot] = client;
      slotSentAt[slot] = now;
      slotActive[slot] = 1;
      pop.busy[client] = 1;
      inFlight++;
      const k = client % socketCount;
      const len = batchLen[k]!;
      batches[k]![len] = view;
      batchSlots[k]![len] = slot;
      batchLen[k] = len + 1;
    }
    for (let k = 0; k < socketCount; k++) {
      const len = batchLen[k]!;
      if (len === 0) continue;
      const batch = batches[k]!;
      batch.length = len;
      let sent = 0;
      try {
        sent = sockets[k]!.sendMany(batch);
      } catch {
        sent = 0;
      }
      acct.sent += sent;
      // What the kernel refused was never sent: free those slots, the next fill retries.
      for (let i = sent; i < len; i++) {
        acct.sendErrors++;
        release(batchSlots[k]![i]!);
      }
      batchLen[k] = 0;
    }
  }

  function onReply(buf: Buffer): void {
    const now = performance.now();
    const current = now >= measureStart ? counters : warmCounters;
    if (buf.length < 8) {
      current.invalidReply(() => `short datagram (${buf.length} bytes)`);
      return;
    }
    const txid = buf.readUInt32BE(4);
    const slot = txid & 0xffff;
    if (slot >= window) {
      current.invalidReply(() => `unknown transaction id ${txid}`);
      return;
    }
    if (slotActive[slot] === 0 || slotGen[slot] !== txid >>> 16) {
      current.late++; // an answer to a request already counted lost
      return;
    }
    const client = slotClient[slot]!;
    const kind = slotKind[slot]!;
    const action = kind === KIND_CONNECT ? ACTION_CONNECT : kind === KIND_ANNOUNCE ? ACTION_ANNOUNCE : ACTION_SCRAPE;
    const code = checkReply(buf, action, slotExpected[slot]!, peerSize);
    const sentAt = slotSentAt[slot]!;
    const event = slotEvent[slot]!;
    const measured = sentAt >= measureStart;
    const acct = measured ? counters : warmCounters;
    release(slot);
    if (code >= 0) {
      if (windowCap < window && ++growth >= growthStep) {
        windowCap++;
        growth = 0;
      }
      (measured ? latency : warmLatency).record((now - sentAt) * 1000);
      if (kind === KIND_CONNECT) {
        connHi[client] = buf.readUInt32BE(8);
        connLo[client] = buf.readUInt32BE(12);
        connAt[client] = now;
        acct.connects++;
      } else if (kind === KIND_ANNOUNCE) {
        acct.announces++;
        acct.peersReceived += code;
        pop.announced(client, event);
      } else {
        acct.scrapes++;
      }
    } else {
      if (code === TRACKER_ERROR) {
        acct.trackerErrors++;
        connAt[client] = -Infinity; // most likely an expired connection id: reconnect
      }
      acct.invalidReply(() => describeBad(code, buf));
    }
    scheduleFill();
  }

  const hostname = options.target.ipv6 ? "::1" : "127.0.0.1";
  const sockets: Bun.udp.ConnectedSocket<"buffer">[] = [];
  function openSocket(): Promise<Bun.udp.ConnectedSocket<"buffer">> {
    return Bun.udpSocket({
      hostname,
      port: 0,
      binaryType: "buffer",
      connect: { hostname: options.target.host, port: options.target.port },
      socket: {
        data(_socket, buf) {
          onReply(buf);
        },
        error() {
          // ICMP errors (nothing listening yet, or gone): the requests time out as lost.
          (performance.now() >= measureStart ? counters : warmCounters).sendErrors++;
        },
      },
    });
  }
  for (let k = 0; k < socketCount; k++) sockets.push(await openSocket());

  measureStart = performance.now() + options.warmup * 1000;
  const timeoutTimer = setInterval(() => {
    const now = performance.now();
    const lostBefore = counters.lost + warmCounters.lost;
    for (let s = 0; s < window; s++) {
      if (slotActive[s] === 1 && now - slotSentAt[s]! > timeoutMs) {
        (slotSentAt[s]! >= measureStart ? counters : warmCounters).lost++;
        if (slotKind[s] === KIND_CONNECT) connAt[slotClient[s]!] = -Infinity;
        release(s);
      }
    }
    if (counters.lost + warmCounters.lost > lostBefore) {
      windowCap = Math.max(RAMP_START, Math.min(inFlight, windowCap));
      growthStep = AVOIDANCE_STEP;
    }
    fill();
  }, TIMEOUT_SCAN_MS);

  fill();
  await Bun.sleep((options.warmup + options.seconds) * 1000);
  stopped = true;
  const elapsed = (performance.now() - measureStart) / 1000;
  clearInterval(timeoutTimer);
  for (const s of sockets) s.close();

  let measuredInFlight = 0;
  for (let s = 0; s < window; s++) if (slotActive[s] === 1 && slotSentAt[s]! >= measureStart) measuredInFlight++;
  return buildResult(options, counters, latency, elapsed, measuredInFlight);
}
