/**
 * The figures behind every operator page: StatsSnapshot (also the documented JSON API of
 * /stats?format=json), collectStats() that takes one, and the cached swarm figures.
 *
 * One snapshot feeds the three renderers (text.ts, json.ts, prometheus.ts), so the pages always
 * agree. Not a hot path: a request allocates its snapshot. The store is read only through
 * store.figures() and store.lastSweep. figures() walks every torrent for the seeders, so it is
 * taken once and reused for SWARM_CACHE_MS (cachedSwarmFigures): a scraper polling /metrics and
 * a person reloading /stats cannot make the tracker walk 10M torrents per request.
 */
import { loadavg } from "node:os";
import { C, COUNTER_NAMES, type CounterName } from "../../rules/counters.ts";
import type { TrackerRules } from "../../rules/tracker-rules.ts";
import type { AccessListStatus } from "../../access/access-list-keeper.ts";
import type { PrivateStatus } from "../../access/private-keeper.ts";
import { openFiles, openFilesLimit } from "../open-files.ts";
import type { StateStatus } from "../state-keeper.ts";
import type { StoreHealth } from "../../store/store.ts";
import type { TlsStatus } from "../../server/tls-keeper.ts";
import type { UdpReceiveStats } from "../udp-receive-stats.ts";
import { RATE_WINDOW_SECONDS } from "./rate-window.ts";

/** Swarm figures (store.figures() walks the torrents for the seeders) are reused for this long. */
export const SWARM_CACHE_MS = 1000;

/**
 * Every figure the pages show. `/stats?format=json` is exactly this object, so its field names
 * are the documented JSON API (keep them stable; add fields rather than rename).
 */
export interface StatsSnapshot {
  /** Start of the process's tracker, ISO 8601 UTC, and as Unix seconds. */
  startTime: string;
  startTimeSeconds: number;
  /** When the snapshot was taken, ISO 8601 UTC. */
  now: string;
  uptimeSeconds: number;
  /** os.loadavg(): 1, 5 and 15 minutes. */
  loadAverage: [number, number, number];
  /** The announce interval handed out now (seconds; `min interval` is the same). */
  intervalSeconds: number;
  /**
   * The longest time the event loop was held at once (a sweep slice, a render, a burst), ms:
   * over about the last minute and since the start; null when not measured.
   */
  loopStall: { longestLastMinuteMs: number; longestSinceStartMs: number } | null;
  /** File descriptors open now, and the process's limit (Linux); null where unknown. */
  openFiles: number | null;
  openFilesLimit: number | null;
  /** HTTP requests in flight (Bun's server.pendingRequests, this one included); null when unknown. */
  openHttpRequests: number | null;
  /** HTTP requests + UDP datagrams per second, averaged over requestsPerSecondWindowSeconds. */
  requestsPerSecond: number;
  requestsPerSecondWindowSeconds: number;
  /**
   * Bytes: process.memoryUsage(), and what the swarm store holds (its figures(), at most
   * SWARM_CACHE_MS old).
   */
  memory: {
    rss: number;
    heapUsed: number;
    heapTotal: number;
    external: number;
    arrayBuffers: number;
    swarmStore: number;
    /** Of swarmStore: the peer_id columns (0 until a client asks for compact=0 answers). */
    peerIds: number;
    /** "kept", "unused" (allowed, no client has asked for them yet) or "off" (--no-peer-ids). */
    peerIdState: "kept" | "unused" | "off";
  };
  /** Peers and torrents now (at most SWARM_CACHE_MS old), and the configured capacity. */
  swarm: {
    torrents: number;
    peers: number;
    peersIPv4: number;
    peersIPv6: number;
    seeders: number;
    leechers: number;
    maxTorrents: number;
    maxPeers: number;
  };
  /** The last complete sweep cycle (and, last, the longest slice since the start). */
  sweep: {
    removedPeers: number;
    removedTorrents: number;
    /** Peers of the largest swarm seen during the cycle. */
    maxPeers: number;
    /** Time the cycle's slices took together. */
    micros: number;
    /** The cycle's longest single slice: how long the sweep held the event loop at once. */
    longestSliceMicros: number;
    /** The longest single slice since the tracker started. */
    longestSliceMicrosSinceStart: number;
  };
  http: {
    requests: number;
    /** Answers by status code ("200", "400", "403", "404", "405", "500", "503"). */
    responses: Record<string, number>;
    /** Request URL characters received; answer body bytes sent. */
    bytesIn: number;
    bytesOut: number;
    announces: number;
    scrapes: number;
    fullScrapes: number;
    fullScrapeRenders: number;
    /** Answers carrying a bencoded `failure reason` (sent with status 200). */
    failures: number;
    /**
     * Whether the listener is paused now because fewer than a few file descriptors are free
     * (null when there is no HTTP listener), and how many times that happened.
     */
    acceptPaused: boolean | null;
    acceptPauses: number;
  };
  udp: {
    packets: number;
    bytesIn: number;
    bytesOut: number;
    connects: number;
    announces: number;
    scrapes: number;
    /** BEP 15 error packets sent (bad or expired connection id, full tracker, bad request). */
    errorsSent: number;
    badConnectionId: number;
    /** Junk dropped without an answer. */
    dropped: number;
    sendErrors: number;
    /** ICMP errors (e.g. port unreachable) reported on the socket. */
    icmpErrors: number;
    /**
     * Datagrams the kernel dropped because the socket's receive buffer was full (they never
     * reached the tracker), and the bytes waiting in it now. From /proc/net/udp(6); null where
     * that cannot be read. Drops mean: raise net.core.rmem_default (README, "UDP receive buffer").
     */
    receiveDrops: number | null;
    receiveQueueBytes: number | null;
  };
  /**
   * The swarm store: "memory", or "redis" with where it is (URL without password), whether it
   * answers now, its median round trip over the last requests (ms), requests refused because
   * it could not answer, and connections lost, since start. With a Redis store, `swarm` counts
   * are not known to a node (zeros): Redis holds them for every node.
   */
  store: StoreHealth;
  /** The state file (--state-file): its last write and what the start restored; null when off. */
  state: StateStatus | null;
  /**
   * HTTPS (--tls-port): the certificate in force (subject, expiry, days left) and its last
   * reload; null when off.
   */
  tls: (TlsStatus & { port: number }) | null;
  /** The access list (--access-list): mode, size, last reload; null while access-mode is off. */
  access: AccessListStatus | null;
  /** Private mode (--private): the database and the keys in force; null when off. */
  private: PrivateStatus | null;
  /** The WebSocket (WebTorrent) tracker; null when it is off (--no-ws or --no-http). */
  ws: {
    openConnections: number;
    /** WebRTC peers and swarms now, and relayed offers still waiting for their answer. */
    peers: number;
    swarms: number;
    pendingOffers: number;
    messages: number;
    announces: number;
    scrapes: number;
    offersRelayed: number;
    answersRelayed: number;
    /** Answers refused: no such offer pending for that answerer (forged, replayed, expired). */
    answersRefused: number;
    /** Messages answered with a failure reason; of those, malformed ones (JSON, fields, binary). */
    failures: number;
    badMessages: number;
  } | null;
  /** Every raw counter by its stats-counters.ts name (new counters appear here first). */
  counters: Record<string, number>;
}

/** The store's figures as the pages show them, taken together from one store.figures(). */
export interface SwarmFigures {
  swarm: StatsSnapshot["swarm"];
  /** The store's part of StatsSnapshot.memory. */
  memory: Pick<StatsSnapshot["memory"], "swarmStore" | "peerIds" | "peerIdState">;
}

/** What collectStats needs besides the rules: the live parts the pages keep. */
export interface StatsSources {
  /** HTTP requests in flight, or null when there is no HTTP server to ask. */
  openHttpRequests(): number | null;
  /** Whether the HTTP listener is paused for lack of descriptors; null if unknown. Optional. */
  acceptPaused?(): boolean | null;
  requestsPerSecond(): number;
  /** The store's figures, at most SWARM_CACHE_MS old (cachedSwarmFigures). */
  swarm(): SwarmFigures;
  /** The kernel's figures for the UDP socket, or null when unknown. Optional: null if absent. */
  udpReceive?(): UdpReceiveStats | null;
  /** The state file's status, or null when it is off. Optional: null if absent. */
  state?(): StateStatus | null;
  /** The access list's status, or null when access-mode is off. Optional: null if absent. */
  access?(): AccessListStatus | null;
  /** Private mode's status, or null when it is off. Optional: null if absent. */
  private?(): PrivateStatus | null;
  /** The HTTPS certificate in force, or null without --tls-port. Optional: null if absent. */
  tls?(): TlsStatus | null;
  /** The loop-stall figures, or null. Optional: null if absent. */
  loopStall?(): StatsSnapshot["loopStall"];
}

/** What collectStats reads of the rules. */
export type StatsRules = Pick<TrackerRules, "counters" | "startedAt" | "interval" | "store" | "webrtc" | "config">;

const HTTP_STATUS_COUNTERS: readonly [string, CounterName][] = [
  ["200", "http200"],
  ["400", "http400"],
  ["403", "http403"],
  ["404", "http404"],
  ["405", "http405"],
  ["500", "http500"],
  ["503", "http503"],
];

export function collectStats(rules: StatsRules, src: StatsSources, now = new Date()): StatsSnapshot {
  const k = rules.counters;
  const n = (name: CounterName): number => k[C[name]]!;
  const mem = process.memoryUsage();
  const figures = src.swarm();
  const sweep = rules.store.lastSweep;
  const kernel = src.udpReceive?.() ?? null;
  const counters: Record<string, number> = {};
  for (const name of COUNTER_NAMES) counters[name] = n(name);
  const responses: Record<string, number> = {};
  for (const [code, name] of HTTP_STATUS_COUNTERS) responses[code] = n(name);
  return {
    startTime: rules.startedAt.toISOString(),
    startTimeSeconds: Math.floor(rules.startedAt.getTime() / 1000),
    now: now.toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((now.getTime() - rules.startedAt.getTime()) / 1000)),
    loadAverage: loadavg() as [number, number, number],
    intervalSeconds: rules.interval,
    loopStall: src.loopStall?.() ?? null,
    openFiles: openFiles(),
    openFilesLimit: openFilesLimit(),
    openHttpRequests: src.openHttpRequests(),
    requestsPerSecond: src.requestsPerSecond(),
    requestsPerSecondWindowSeconds: RATE_WINDOW_SECONDS,
    memory: {
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      swarmStore: figures.memory.swarmStore,
      peerIds: figures.memory.peerIds,
      peerIdState: figures.memory.peerIdState,
    },
    swarm: figures.swarm,
    sweep: {
      removedPeers: sweep.removedPeers,
      removedTorrents: sweep.removedTorrents,
      maxPeers: sweep.maxPeers,
      micros: sweep.micros,
      longestSliceMicros: sweep.longestSliceMicros,
      longestSliceMicrosSinceStart: rules.store.longestSweepSliceMicros,
    },
    http: {
      requests: n("httpRequests"),
      responses,
      bytesIn: n("httpBytesIn"),
      bytesOut: n("httpBytesOut"),
      announces: n("httpAnnounces"),
      scrapes: n("httpScrapes"),
      fullScrapes: n("httpFullScrapes"),
      fullScrapeRenders: n("httpFullScrapeRenders"),
      failures: n("httpFailures"),
      acceptPaused: src.acceptPaused?.() ?? null,
      acceptPauses: n("httpAcceptPauses"),
    },
    udp: {
      packets: n("udpPacketsIn"),
      bytesIn: n("udpBytesIn"),
      bytesOut: n("udpBytesOut"),
      connects: n("udpConnects"),
      announces: n("udpAnnounces"),
      scrapes: n("udpScrapes"),
      errorsSent: n("udpErrorsSent"),
      badConnectionId: n("udpBadConnectionId"),
      dropped: n("udpDropped"),
      sendErrors: n("udpSendErrors"),
      icmpErrors: n("udpIcmpErrors"),
      receiveDrops: kernel === null ? null : kernel.drops,
      receiveQueueBytes: kernel === null ? null : kernel.queuedBytes,
    },
    store: rules.store.health(),
    tls: (() => {
      const t = src.tls?.() ?? null;
      return t === null ? null : { ...t, port: rules.config.tlsPort };
    })(),
    state: src.state?.() ?? null,
    access: src.access?.() ?? null,
    private: src.private?.() ?? null,
    ws: !rules.config.ws || !rules.config.http ? null : {
      openConnections: n("wsConnections") - n("wsConnectionsClosed"),
      peers: rules.webrtc.peerCount,
      swarms: rules.webrtc.swarms.size,
      pendingOffers: rules.webrtc.pendingOffers,
      messages: n("wsMessagesIn"),
      announces: n("wsAnnounces"),
      scrapes: n("wsScrapes"),
      offersRelayed: n("wsOffersRelayed"),
      answersRelayed: n("wsAnswersRelayed"),
      answersRefused: n("wsAnswersRefused"),
      failures: n("wsFailures"),
      badMessages: n("wsBadMessages"),
    },
    counters,
  };
}

/** What cachedSwarmFigures reads of the rules. */
export type SwarmRules = Pick<TrackerRules, "store" | "config">;

/** The store's figures taken together (one store.figures() walk), reused for ttlMs. */
export function cachedSwarmFigures(
  rules: SwarmRules, ttlMs = SWARM_CACHE_MS, clock = () => performance.now(),
): () => SwarmFigures {
  let cached: SwarmFigures | null = null;
  let takenAt = 0;
  return function swarm(): SwarmFigures {
    const t = clock();
    if (cached === null || t - takenAt >= ttlMs) {
      const f = rules.store.figures();
      cached = {
        swarm: {
          torrents: f.torrents,
          peers: f.peers,
          peersIPv4: f.peersIPv4,
          peersIPv6: f.peersIPv6,
          seeders: f.seeders,
          leechers: Math.max(0, f.peers - f.seeders),
          maxTorrents: rules.config.maxTorrents,
          maxPeers: rules.config.maxPeers,
        },
        memory: { swarmStore: f.bytes, peerIds: f.peerIdBytes, peerIdState: f.peerIdState },
      };
      takenAt = t;
    }
    return cached;
  };
}
