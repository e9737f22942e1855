/**
 * The operator pages: /stats (sc6's plain-text page), /stats?format=json (the same figures as
 * JSON) and /metrics (Prometheus text exposition format 0.0.4), plus the wiring of full scrape.
 *
 * One snapshot (collectStats) feeds the three renderers, so the pages always agree. Not a hot
 * path: a request allocates its snapshot and its text. Two costs are bounded on purpose:
 *   - seeders need a walk over every torrent (store.countSeeders()); the swarm figures are
 *     therefore taken together and reused for SWARM_CACHE_MS, so a scraper polling /metrics
 *     and a person reloading /stats cannot make the tracker walk 10M torrents per request;
 *   - requests per second come from a ring of (time, total) samples taken by a 1 s timer, an
 *     average over the last RATE_WINDOW_SECONDS, which costs one array write per second.
 *
 * Access: config.statsAllow lists the addresses that may read /stats and /metrics (empty =
 * everyone, as in sc6). The address is the socket's, never a proxy header: the header is
 * client-controlled unless a proxy sets it, and the stats pages should not trust it. Addresses
 * are compared in canonical form, so "::ffff:127.0.0.1" (an IPv4 client of a dual-stack socket)
 * matches "127.0.0.1", and "0:0::1" matches "::1". Refused clients get 403 (counter http403).
 */
import { loadavg } from "node:os";
import { udpReceiveStatsReader, type UdpReceiveStats } from "./udp-receive-stats.ts";
import { createFullScrape } from "./full-scrape.ts";
import { formatAddress, parseAddress } from "../protocol/compact.ts";
import type { HttpHandlerOptions } from "../server/http.ts";
import { C, COUNTER_NAMES, type CounterName } from "../rules/counters.ts";
import { formatLocalTime } from "./terminal-line.ts";
import type { TrackerRules } from "../rules/tracker-rules.ts";

/** Swarm figures (seeders walk the torrent columns) are reused for this long. */
export const SWARM_CACHE_MS = 1000;
/** Requests per second are averaged over this many seconds (sampled once a second). */
export const RATE_WINDOW_SECONDS = 60;

// ---- the snapshot (also the JSON document) --------------------------------------------------

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
  /** HTTP requests in flight (Bun's server.pendingRequests, this one included); null when unknown. */
  openHttpRequests: number | null;
  /** HTTP requests + UDP datagrams per second, averaged over requestsPerSecondWindowSeconds. */
  requestsPerSecond: number;
  requestsPerSecondWindowSeconds: number;
  /** Bytes: process.memoryUsage() and the swarm store's typed arrays (store.bytes()). */
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
  /** The last complete sweep cycle. */
  sweep: {
    removedPeers: number;
    removedTorrents: number;
    /** Peers of the largest swarm seen during the cycle. */
    maxPeers: number;
    micros: number;
  };
  http: {
    requests: number;
    /** Answers by status code ("200", "400", "403", "404", "405", "500"). */
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
     * that cannot be read. Drops mean: raise net.core.rmem_default (README, Deployment).
     */
    receiveDrops: number | null;
    receiveQueueBytes: number | null;
  };
  /** Every raw counter by its stats-counters.ts name (new counters appear here first). */
  counters: Record<string, number>;
}

/** What collectStats needs besides the core: the live parts the pages keep. */
export interface StatsSources {
  /** HTTP requests in flight, or null when there is no HTTP server to ask. */
  openHttpRequests(): number | null;
  requestsPerSecond(): number;
  swarm(): StatsSnapshot["swarm"];
  /** The kernel's figures for the UDP socket, or null when unknown. Optional: null if absent. */
  udpReceive?(): UdpReceiveStats | null;
}

const HTTP_STATUS_COUNTERS: readonly [string, CounterName][] = [
  ["200", "http200"],
  ["400", "http400"],
  ["403", "http403"],
  ["404", "http404"],
  ["405", "http405"],
  ["500", "http500"],
];

export function collectStats(core: TrackerRules, src: StatsSources, now = new Date()): StatsSnapshot {
  const k = core.counters;
  const n = (name: CounterName): number => k[C[name]]!;
  const mem = process.memoryUsage();
  const sweep = core.store.lastSweep;
  const kernel = src.udpReceive?.() ?? null;
  const counters: Record<string, number> = {};
  for (const name of COUNTER_NAMES) counters[name] = n(name);
  const responses: Record<string, number> = {};
  for (const [code, name] of HTTP_STATUS_COUNTERS) responses[code] = n(name);
  return {
    startTime: core.startedAt.toISOString(),
    startTimeSeconds: Math.floor(core.startedAt.getTime() / 1000),
    now: now.toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((now.getTime() - core.startedAt.getTime()) / 1000)),
    loadAverage: loadavg() as [number, number, number],
    intervalSeconds: core.interval,
    openHttpRequests: src.openHttpRequests(),
    requestsPerSecond: src.requestsPerSecond(),
    requestsPerSecondWindowSeconds: RATE_WINDOW_SECONDS,
    memory: {
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      swarmStore: core.store.bytes(),
      peerIds: core.store.peerIdBytes(),
      peerIdState: core.store.peerIdState(),
    },
    swarm: src.swarm(),
    sweep: {
      removedPeers: sweep.removedPeers,
      removedTorrents: sweep.removedTorrents,
      maxPeers: sweep.maxPeers,
      micros: sweep.micros,
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
    counters,
  };
}

// ---- the swarm figures, cached ----------------------------------------------------------------

/** Swarm figures taken together (one countSeeders() walk), reused for ttlMs. */
export function cachedSwarmFigures(core: TrackerRules, ttlMs = SWARM_CACHE_MS, clock = () => performance.now()) {
  let cached: StatsSnapshot["swarm"] | null = null;
  let takenAt = 0;
  return function swarm(): StatsSnapshot["swarm"] {
    const t = clock();
    if (cached === null || t - takenAt >= ttlMs) {
      const store = core.store;
      const seeders = store.countSeeders();
      const peers = store.peerCount;
      cached = {
        torrents: store.torrentCount,
        peers,
        peersIPv4: store.v4.count,
        peersIPv6: store.v6.count,
        seeders,
        leechers: Math.max(0, peers - seeders),
        maxTorrents: core.config.maxTorrents,
        maxPeers: core.config.maxPeers,
      };
      takenAt = t;
    }
    return cached;
  };
}

// ---- requests per second: a ring of once-a-second samples ---------------------------------

/**
 * Average rate of a growing total over a sliding window. sample() is called about once a
 * second (by a timer); rate() compares the total now with the oldest sample still in the
 * window. Two Float64Arrays of windowSeconds + 1 entries: no allocation after construction.
 */
export class RateWindow {
  private readonly times: Float64Array;
  private readonly totals: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(
    private readonly read: () => number,
    private readonly windowSeconds = RATE_WINDOW_SECONDS,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.times = new Float64Array(windowSeconds + 1);
    this.totals = new Float64Array(windowSeconds + 1);
    this.sample();
  }

  sample(): void {
    this.times[this.next] = this.clock();
    this.totals[this.next] = this.read();
    this.next = (this.next + 1) % this.times.length;
    if (this.filled < this.times.length) this.filled++;
  }

  /** Per second over the window (or since the first sample, early in life; at least over 1 s). */
  rate(): number {
    const t = this.clock();
    const total = this.read();
    const size = this.times.length;
    // Oldest sample no older than the window; the ring holds windowSeconds + 1 of them.
    const limit = t - this.windowSeconds * 1000;
    let i = (this.next - this.filled + size) % size;
    for (let k = 0; k < this.filled - 1 && this.times[i]! < limit; k++) i = (i + 1) % size;
    // At least one second: right after start a few requests over a few milliseconds would
    // otherwise read as thousands per second.
    const seconds = Math.max(1, (t - this.times[i]!) / 1000);
    return Math.max(0, total - this.totals[i]!) / seconds;
  }
}

// ---- plain text, sc6 style ----------------------------------------------------------------------

/** 14674338 -> "14,674,338" (integers; fractions are rounded). */
export function thousands(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = String(Math.round(Math.abs(n)));
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ",";
    out += s[i];
  }
  return n < 0 ? "-" + out : out;
}

/** "3 d 04:05:06". */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const clock = `${two(Math.floor(s / 3600) % 24)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
  return `${Math.floor(s / 86400)} d ${clock}`;
}

type Row = [name: string, value: number, note?: string];

/** A block of `name = value (note)` lines: names padded to the longest, values to 12 (sc6's %12s). */
function block(rows: Row[]): string {
  const width = Math.max(...rows.map((r) => r.length > 0 ? r[0].length : 0));
  return rows
    .map(([name, value, note]) => `${name.padEnd(width)} = ${thousands(value).padStart(12)}${note ? ` (${note})` : ""}\n`)
    .join("");
}

/** Counters the text page already shows under a friendlier name; the rest get listed raw. */
const SHOWN_COUNTERS = new Set<string>([
  "httpRequests", "http200", "http400", "http403", "http404", "http405", "http500", "httpBytesIn",
  "httpBytesOut", "httpAnnounces", "httpScrapes", "httpFullScrapes", "httpFullScrapeRenders",
  "httpFailures", "udpPacketsIn", "udpBytesIn", "udpBytesOut", "udpConnects", "udpAnnounces",
  "udpScrapes", "udpErrorsSent", "udpDropped", "udpBadConnectionId", "udpSendErrors", "udpIcmpErrors",
]);

const PEER_ID_NOTES = {
  kept: "kept: a client asked for compact=0 answers",
  unused: "not kept: no client has asked for compact=0 answers",
  off: "not kept: --no-peer-ids",
} as const;

/** The /stats page: sc6's layout, with this runtime's figures (Bun memory instead of malloc). */
export function renderStatsText(s: StatsSnapshot): string {
  const start = new Date(s.startTimeSeconds * 1000);
  const h = s.http;
  const u = s.udp;
  const w = s.swarm;
  const m = s.memory;
  const sections: string[] = [];
  sections.push(
    `start_time = ${formatLocalTime(start)} ${start.getFullYear()}\n` +
    `uptime     = ${formatUptime(s.uptimeSeconds)}\n`,
  );
  sections.push(
    `Load Avg = ${s.loadAverage.map((x) => x.toFixed(2)).join(" ")}\n` +
    `Interval = ${s.intervalSeconds}\n` +
    (s.openHttpRequests === null ? "" : `Open HTTP requests: ${thousands(s.openHttpRequests)}\n`),
  );
  sections.push(`Request per second ~ ${s.requestsPerSecond.toFixed(2)} (HTTP + UDP, last ${s.requestsPerSecondWindowSeconds} s)\n`);
  sections.push(block([
    ["memory.rss", m.rss],
    ["memory.heap_used", m.heapUsed],
    ["memory.heap_total", m.heapTotal],
    ["memory.external", m.external],
    ["memory.array_buffers", m.arrayBuffers],
    ["memory.swarm_store", m.swarmStore, "typed arrays"],
    ["memory.peer_ids", m.peerIds, PEER_ID_NOTES[m.peerIdState]],
  ]));
  sections.push(block([
    ["torrents", w.torrents, `max ${thousands(w.maxTorrents)}`],
    ["peers", w.peers, `max ${thousands(w.maxPeers)}`],
    ["peers_ipv4", w.peersIPv4],
    ["peers_ipv6", w.peersIPv6],
    ["seeders", w.seeders],
    ["leechers", w.leechers],
  ]));
  sections.push(block([
    ["sweep.removed_peers", s.sweep.removedPeers, "last cycle"],
    ["sweep.removed_torrents", s.sweep.removedTorrents],
    ["sweep.max_peers", s.sweep.maxPeers, "largest swarm"],
    ["sweep.micros", s.sweep.micros],
  ]));
  sections.push(block([
    ["stats.http_200", h.responses["200"] ?? 0],
    ["stats.http_400", h.responses["400"] ?? 0],
    ["stats.http_403", h.responses["403"] ?? 0, "stats access"],
    ["stats.http_404", h.responses["404"] ?? 0],
    ["stats.http_405", h.responses["405"] ?? 0, "Not GET"],
    ["stats.http_500", h.responses["500"] ?? 0],
  ]));
  sections.push(block([
    ["stats.requests", h.requests],
    ["stats.failures", h.failures, "failure reason"],
  ]));
  sections.push(block([
    ["stats.sent_bytes", h.bytesOut],
    ["stats.recv_bytes", h.bytesIn, "request URLs"],
  ]));
  sections.push(block([
    ["stats.sent_bytes_udp", u.bytesOut],
    ["stats.recv_bytes_udp", u.bytesIn],
  ]));
  sections.push(block([
    ["stats.announce", h.announces],
    ["stats.scrape", h.scrapes],
    ["stats.full_scrape", h.fullScrapes, `${thousands(h.fullScrapeRenders)} rendered`],
  ]));
  sections.push(block([
    ["stats.recv_pass_udp", u.packets],
    ["stats.connect_udp", u.connects],
    ["stats.announce_udp", u.announces],
    ["stats.scrape_udp", u.scrapes],
  ]));
  sections.push(block([
    ["stats.bad_connection_id_udp", u.badConnectionId],
    ["stats.errors_sent_udp", u.errorsSent],
    ["stats.dropped_udp", u.dropped, "junk"],
    ["stats.send_failed_udp", u.sendErrors],
    ["stats.icmp_udp", u.icmpErrors],
    ...(u.receiveDrops === null ? [] : [
      ["stats.receive_drops_udp", u.receiveDrops, "kernel: receive buffer full; raise net.core.rmem_default"] as Row,
      ["stats.receive_queue_bytes_udp", u.receiveQueueBytes ?? 0, "waiting in the receive buffer now"] as Row,
    ]),
  ]));
  const others: Row[] = Object.keys(s.counters)
    .filter((name) => !SHOWN_COUNTERS.has(name))
    .map((name) => [`stats.${name}`, s.counters[name]!]);
  if (others.length > 0) sections.push(block(others));
  return sections.join("\n");
}

// ---- Prometheus text exposition format 0.0.4 ---------------------------------------------------

export interface MetricFamily {
  /** tracker_*, counters end in _total. */
  name: string;
  type: "counter" | "gauge";
  help: string;
  /** [label text without braces ("" for none), value]. */
  samples: [labels: string, value: number][];
}

/** How each counter is exported: one family may hold several counters told apart by labels. */
const COUNTER_METRICS: Partial<Record<CounterName, { name: string; labels: string; help: string }>> = {
  httpRequests: { name: "tracker_requests_total", labels: 'protocol="http"', help: "Requests received: HTTP requests and UDP datagrams." },
  udpPacketsIn: { name: "tracker_requests_total", labels: 'protocol="udp"', help: "" },
  http200: { name: "tracker_http_responses_total", labels: 'code="200"', help: "HTTP answers by status code (bencoded failure reasons are sent as 200)." },
  http400: { name: "tracker_http_responses_total", labels: 'code="400"', help: "" },
  http403: { name: "tracker_http_responses_total", labels: 'code="403"', help: "" },
  http404: { name: "tracker_http_responses_total", labels: 'code="404"', help: "" },
  http405: { name: "tracker_http_responses_total", labels: 'code="405"', help: "" },
  http500: { name: "tracker_http_responses_total", labels: 'code="500"', help: "" },
  httpBytesIn: { name: "tracker_received_bytes_total", labels: 'protocol="http"', help: "Bytes received (HTTP: request URL characters; UDP: datagram payloads)." },
  udpBytesIn: { name: "tracker_received_bytes_total", labels: 'protocol="udp"', help: "" },
  httpBytesOut: { name: "tracker_sent_bytes_total", labels: 'protocol="http"', help: "Bytes sent (HTTP: answer bodies; UDP: datagram payloads)." },
  udpBytesOut: { name: "tracker_sent_bytes_total", labels: 'protocol="udp"', help: "" },
  httpAnnounces: { name: "tracker_announces_total", labels: 'protocol="http"', help: "Announce requests." },
  udpAnnounces: { name: "tracker_announces_total", labels: 'protocol="udp"', help: "" },
  httpScrapes: { name: "tracker_scrapes_total", labels: 'protocol="http"', help: "Scrape requests (HTTP: full scrapes included)." },
  udpScrapes: { name: "tracker_scrapes_total", labels: 'protocol="udp"', help: "" },
  udpConnects: { name: "tracker_connects_total", labels: 'protocol="udp"', help: "BEP 15 connect requests." },
  httpFullScrapes: { name: "tracker_full_scrapes_total", labels: "", help: "Full scrapes (/scrape without info_hash) answered." },
  httpFullScrapeRenders: { name: "tracker_full_scrape_renders_total", labels: "", help: "Full scrape bodies rendered (the rest came from the cache)." },
  httpFailures: { name: "tracker_http_failures_total", labels: "", help: "HTTP answers carrying a bencoded failure reason." },
  udpErrorsSent: { name: "tracker_udp_errors_sent_total", labels: "", help: "BEP 15 error packets sent." },
  udpBadConnectionId: { name: "tracker_udp_bad_connection_id_total", labels: "", help: "UDP requests with a wrong or expired connection id." },
  udpDropped: { name: "tracker_udp_dropped_total", labels: "", help: "UDP datagrams dropped without an answer (junk)." },
  udpSendErrors: { name: "tracker_udp_send_errors_total", labels: "", help: "UDP answers that could not be sent." },
  udpIcmpErrors: { name: "tracker_udp_icmp_errors_total", labels: "", help: "ICMP errors (e.g. port unreachable) reported on the UDP socket." },
};

/** httpFooBar -> http_foo_bar. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()).replace(/[^a-zA-Z0-9_]/g, "_");
}

/** The metric families, counters first. A counter without an entry above is exported as tracker_<snake>_total. */
export function metricFamilies(s: StatsSnapshot): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const add = (name: string, type: MetricFamily["type"], help: string, labels: string, value: number) => {
    let f = families.get(name);
    if (f === undefined) {
      f = { name, type, help, samples: [] };
      families.set(name, f);
    } else if (f.help === "") f.help = help;
    f.samples.push([labels, value]);
  };
  for (const name of Object.keys(s.counters)) {
    const spec = COUNTER_METRICS[name as CounterName];
    const value = s.counters[name]!;
    if (spec) add(spec.name, "counter", spec.help, spec.labels, value);
    else add(`tracker_${snake(name)}_total`, "counter", `Counter ${name}.`, "", value);
  }
  const gauge = (name: string, help: string, value: number, labels = "") => add(name, "gauge", help, labels, value);
  gauge("tracker_start_time_seconds", "When the tracker started, Unix seconds.", s.startTimeSeconds);
  gauge("tracker_uptime_seconds", "Seconds since the tracker started.", s.uptimeSeconds);
  const load = "System load average (os.loadavg).";
  gauge("tracker_load_average", load, s.loadAverage[0], 'minutes="1"');
  gauge("tracker_load_average", load, s.loadAverage[1], 'minutes="5"');
  gauge("tracker_load_average", load, s.loadAverage[2], 'minutes="15"');
  gauge("tracker_announce_interval_seconds", "The announce interval handed to clients now.", s.intervalSeconds);
  if (s.openHttpRequests !== null) {
    gauge("tracker_http_open_requests", "HTTP requests in flight (this scrape included).", s.openHttpRequests);
  }
  gauge(
    "tracker_requests_per_second",
    `HTTP requests + UDP datagrams per second over the last ${s.requestsPerSecondWindowSeconds} s.`,
    s.requestsPerSecond,
  );
  const mem = "Process memory (process.memoryUsage), bytes.";
  gauge("tracker_memory_bytes", mem, s.memory.rss, 'kind="rss"');
  gauge("tracker_memory_bytes", mem, s.memory.heapUsed, 'kind="heap_used"');
  gauge("tracker_memory_bytes", mem, s.memory.heapTotal, 'kind="heap_total"');
  gauge("tracker_memory_bytes", mem, s.memory.external, 'kind="external"');
  gauge("tracker_memory_bytes", mem, s.memory.arrayBuffers, 'kind="array_buffers"');
  if (s.udp.receiveDrops !== null) {
    add(
      "tracker_udp_receive_drops_total", "counter",
      "UDP datagrams the kernel dropped because the socket's receive buffer was full (raise net.core.rmem_default).",
      "", s.udp.receiveDrops,
    );
    gauge("tracker_udp_receive_queue_bytes", "Bytes waiting in the UDP socket's receive buffer now.", s.udp.receiveQueueBytes ?? 0);
  }
  gauge("tracker_swarm_store_bytes", "Bytes held by the swarm store's typed arrays.", s.memory.swarmStore);
  gauge("tracker_peer_id_bytes", "Of the swarm store: bytes of kept peer_ids (0 until a client asks for compact=0 answers).", s.memory.peerIds);
  gauge("tracker_torrents", "Torrents known now.", s.swarm.torrents);
  gauge("tracker_torrents_limit", "Capacity: the most torrents (config maxTorrents).", s.swarm.maxTorrents);
  const peers = "Peers known now, by address family.";
  gauge("tracker_peers", peers, s.swarm.peersIPv4, 'family="ipv4"');
  gauge("tracker_peers", peers, s.swarm.peersIPv6, 'family="ipv6"');
  gauge("tracker_peers_limit", "Capacity: the most peers (config maxPeers).", s.swarm.maxPeers);
  gauge("tracker_seeders", "Peers with nothing left to download.", s.swarm.seeders);
  gauge("tracker_leechers", "Peers still downloading.", s.swarm.leechers);
  gauge("tracker_sweep_removed_peers", "Peers removed by the last sweep cycle.", s.sweep.removedPeers);
  gauge("tracker_sweep_removed_torrents", "Torrents removed by the last sweep cycle.", s.sweep.removedTorrents);
  gauge("tracker_sweep_max_swarm_peers", "Peers of the largest swarm seen by the last sweep cycle.", s.sweep.maxPeers);
  gauge("tracker_sweep_duration_seconds", "Time the last sweep cycle spent sweeping.", s.sweep.micros / 1e6);
  return [...families.values()];
}

/** A sample value in the exposition format (Go's ParseFloat spellings for the specials). */
function metricValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** HELP text escaping (format 0.0.4): backslash and newline. */
function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function renderMetrics(families: MetricFamily[]): string {
  let out = "";
  for (const f of families) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const [labels, value] of f.samples) {
      out += `${f.name}${labels === "" ? "" : `{${labels}}`} ${metricValue(value)}\n`;
    }
  }
  return out;
}

// ---- access ------------------------------------------------------------------------------------

const addressScratch = new Uint8Array(16);

/**
 * An address in one canonical text form, or null if it is not an IP literal: IPv4-mapped IPv6
 * becomes dotted IPv4, IPv6 is RFC 5952 text (lower case, longest zero run as "::"), a zone is
 * dropped.
 */
export function canonicalAddress(ip: string): string | null {
  const family = parseAddress(ip, addressScratch, 0);
  if (family === 0) return null;
  return formatAddress(addressScratch, 0, family);
}

/** Who may read the stats pages: everyone when the list is empty. */
export function statsAccess(allow: readonly string[]): (clientIp: string) => boolean {
  if (allow.length === 0) return () => true;
  const allowed = new Set<string>();
  for (const a of allow) {
    const c = canonicalAddress(a);
    if (c !== null) allowed.add(c);
  }
  return (clientIp) => {
    const c = canonicalAddress(clientIp);
    return c !== null && allowed.has(c);
  };
}

// ---- the routes ----------------------------------------------------------------------------------

/** What the pages read from Bun's server (only pendingRequests). */
export interface ServerGauges {
  readonly pendingRequests: number;
  /** The port HTTP (and UDP, the same number) listens on. */
  readonly port?: number | undefined;
}

/** HttpHandlerOptions plus close(), which stops the 1 s sampling timer. */
export interface OperatorRoutes extends HttpHandlerOptions {
  close(): void;
}

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";
/** The content type Prometheus expects for the text format. */
const PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The operator routes for createHttpHandler: `extra` answers /stats and /metrics (null for any
 * other path), and `fullScrape` is set when config.fullScrape is on.
 *
 * @param server  Bun's server, read at request time for pendingRequests (it is created after
 *                the handler, hence a function); omit it, or return null, to leave the figure out.
 */
export function createOperatorRoutes(core: TrackerRules, server: () => ServerGauges | null = () => null): OperatorRoutes {
  const counters = core.counters;
  const allowed = statsAccess(core.config.statsAllow);
  const rate = new RateWindow(() => counters[C.httpRequests]! + counters[C.udpPacketsIn]!);
  const timer = setInterval(() => rate.sample(), 1000);
  timer.unref();
  let udpReader: (() => UdpReceiveStats | null) | null = null;
  const sources: StatsSources = {
    openHttpRequests: () => server()?.pendingRequests ?? null,
    requestsPerSecond: () => rate.rate(),
    swarm: cachedSwarmFigures(core),
    udpReceive: () => {
      const port = server()?.port;
      if (port === undefined) return null;
      udpReader ??= udpReceiveStatsReader(port);
      return udpReader();
    },
  };
  const encoder = new TextEncoder();

  function send(status: number, counter: number, body: string, type: string): Response {
    const bytes = encoder.encode(body);
    counters[counter]!++;
    counters[C.httpBytesOut]! += bytes.length;
    return new Response(bytes, { status, headers: { "Content-Type": type, "Cache-Control": "no-store" } });
  }

  function extra(_req: Request, path: string, query: string, clientIp: string): Response | null {
    if (path !== "/stats" && path !== "/metrics") return null;
    if (!allowed(clientIp)) return send(403, C.http403, "forbidden: your address is not in statsAllow\n", TEXT);
    if (path === "/metrics") {
      return send(200, C.http200, renderMetrics(metricFamilies(collectStats(core, sources))), PROMETHEUS);
    }
    const format = new URLSearchParams(query).get("format") ?? "text";
    if (format === "json") return send(200, C.http200, JSON.stringify(collectStats(core, sources), null, 2) + "\n", JSON_TYPE);
    if (format === "text") return send(200, C.http200, renderStatsText(collectStats(core, sources)), TEXT);
    return send(400, C.http400, "unknown format: use format=json or format=text\n", TEXT);
  }

  const routes: OperatorRoutes = { extra, close: () => clearInterval(timer) };
  if (core.config.fullScrape) routes.fullScrape = createFullScrape(core);
  return routes;
}
