/**
 * The dashboard's figures, read from what the tracker already keeps: the rules' counters (rates
 * are differences between two readings), the store's cheap gauges (peerCount, torrentCount), the
 * last sweep cycle's seeders and largest swarms, the loop-stall monitor, load and memory.
 *
 * Deliberately not store.figures(): it walks every torrent to count seeders (~50 ms at 10M
 * torrents, holding the loop), and this runs every second while a dashboard is open and every
 * 5 s always. The seeders shown are those the sweep counted instead (SweepReport.seeders): a
 * few seconds old on a small tracker, up to a sweep cycle (about a minute) on a large one.
 */
import { loadavg } from "node:os";
import { C, type CounterName } from "../../rules/counters.ts";
import type { TrackerRules } from "../../rules/tracker-rules.ts";
import type { StateStatus } from "../state-keeper.ts";
import { roundForChart } from "./history.ts";
import { type LiveMessage, type PerProtocol, type ReasonFigure, SERIES, type SeriesName } from "./wire.ts";

/** The largest swarms the page lists. */
export const TOP_TORRENTS = 10;

/** What the sampler reads of the rules. */
export type DashboardRules = Pick<TrackerRules, "counters" | "startedAt" | "interval" | "store" | "config">;

/** The live parts the sampler reads besides the rules (the operator routes keep them). */
export interface SamplerSources {
  /** The state file's status, or null when it is off. */
  state(): StateStatus | null;
  /** The longest loop stall over about the last minute and since the start, ms. */
  loopStall(): { lastMinuteMs: number; sinceStartMs: number };
  /**
   * A new reader of the longest loop stall since its own previous read, ms (LoopStallMonitor's
   * tap()): the sampler makes two, one per second and one per ring sample.
   */
  stallTap(): () => number;
  /** os.loadavg() unless given (tests). */
  loadAverage?(): [number, number, number];
  /** Resident memory in bytes, process.memoryUsage.rss() unless given (tests). */
  rss?(): number;
}

type Reason = readonly [key: string, label: string, counter: CounterName];

/** Requests the rules refused, by reason (the Prometheus `reason` labels of tracker_refusals_total). */
export const REFUSALS: readonly Reason[] = [
  ["torrent_capacity", "tracker full: torrents", "refusedTorrentCapacity"],
  ["peer_capacity", "tracker full: peers", "refusedPeerCapacity"],
  ["scrape_hashes", "too many hashes in a scrape", "refusedScrapeHashes"],
  ["full_scrape_off", "full scrape is off", "refusedFullScrape"],
  ["announce_rate", "per-address limits", "refusedAnnounceRate"],
  ["torrent_not_allowed", "access list", "refusedTorrentNotAllowed"],
  ["passkey", "no passkey in force", "refusedPasskey"],
  ["store_unavailable", "store unreachable", "refusedStoreUnavailable"],
];

/** Errors, by reason: answers that told a client it was wrong, and what was dropped or failed. */
export const ERRORS: readonly Reason[] = [
  ["http_failure", "HTTP failure reasons (bad requests, refusals)", "httpFailures"],
  ["http_400", "HTTP 400", "http400"],
  ["http_403", "HTTP 403 (operator pages)", "http403"],
  ["http_404", "HTTP 404", "http404"],
  ["http_405", "HTTP 405 (not GET)", "http405"],
  ["http_500", "HTTP 500", "http500"],
  ["http_503", "HTTP 503 (full scrapes over the limit)", "http503"],
  ["udp_error", "UDP error packets", "udpErrorsSent"],
  ["udp_bad_connection_id", "UDP bad connection ids", "udpBadConnectionId"],
  ["udp_dropped", "UDP junk dropped", "udpDropped"],
  ["udp_connect_throttled", "UDP connects throttled", "udpConnectsThrottled"],
  ["udp_bad_id_throttled", "UDP bad-id answers throttled", "udpBadIdThrottled"],
  ["udp_send_error", "UDP sends failed", "udpSendErrors"],
  ["udp_icmp", "ICMP errors", "udpIcmpErrors"],
  ["ws_failure", "WebSocket failure answers", "wsFailures"],
  ["ws_bad_message", "WebSocket malformed messages", "wsBadMessages"],
  ["ws_refused", "WebSocket connections refused", "wsConnectionsRefused"],
  ["ws_closed_rate", "WebSocket closed: message rate", "wsClosedRate"],
  ["ws_closed_size", "WebSocket closed: message size", "wsClosedTooBig"],
  ["ws_closed_backpressure", "WebSocket closed: backpressure", "wsClosedBackpressure"],
];

/**
 * The `errors` chart series: error answers of every protocol (failure reasons, HTTP errors
 * other than 404s, which are mostly scanners, UDP error packets) and dropped junk. Each counter
 * once: bad connection ids are among the UDP error packets, malformed WebSocket messages among
 * its failure answers.
 */
const CHART_ERRORS: readonly CounterName[] = [
  "httpFailures", "http400", "http405", "http500", "http503", "udpErrorsSent", "udpDropped", "wsFailures",
];

const indexes = (names: readonly CounterName[]): number[] => names.map((n) => C[n]);
const ANNOUNCES = indexes(["httpAnnounces", "udpAnnounces", "wsAnnounces"]);
const SCRAPES = indexes(["httpScrapes", "udpScrapes", "wsScrapes"]);
const REFUSAL_COUNTERS = REFUSALS.map((r) => C[r[2]]);
const CHART_ERROR_COUNTERS = indexes(CHART_ERRORS);

/** Counter differences between two readings, per second. Two copies of the counters, reused. */
export class CounterDeltas {
  private prev: Float64Array;
  private cur: Float64Array;
  private prevAt: number;
  private seconds = 0;

  constructor(private readonly counters: Float64Array, now: number) {
    this.prev = counters.slice();
    this.cur = counters.slice();
    this.prevAt = now;
  }

  /** Read the counters at `now` (ms): rates are then over the time since the last reading. */
  take(now: number): void {
    const p = this.prev;
    this.prev = this.cur;
    this.cur = p;
    this.cur.set(this.counters);
    this.seconds = (now - this.prevAt) / 1000;
    this.prevAt = now;
  }

  /** Counter i's increase per second between the last two readings (0 before a second one). */
  perSecond(i: number): number {
    return this.seconds > 0 ? (this.cur[i]! - this.prev[i]!) / this.seconds : 0;
  }

  sumPerSecond(list: readonly number[]): number {
    let s = 0;
    for (const i of list) s += this.perSecond(i);
    return s;
  }
}

export class DashboardSampler {
  /** Over the last second (live), and over the last ring sample; each with its stall reader. */
  private readonly second: CounterDeltas;
  private readonly sample: CounterDeltas;
  private readonly secondStall: () => number;
  private readonly sampleStall: () => number;
  /** The charted series over the last second (the charts' moving last point). */
  private secondRow: number[];

  constructor(private readonly rules: DashboardRules, private readonly src: SamplerSources, now: number) {
    this.second = new CounterDeltas(rules.counters, now);
    this.sample = new CounterDeltas(rules.counters, now);
    this.secondStall = src.stallTap();
    this.sampleStall = src.stallTap();
    this.secondRow = this.row(this.second, 0);
  }

  /** Every second: the next live message's rates are over the time since the last tick. */
  tick(now: number): void {
    this.second.take(now);
    this.secondRow = this.row(this.second, this.secondStall());
  }

  private loadAverage(): [number, number, number] {
    return this.src.loadAverage?.() ?? (loadavg() as [number, number, number]);
  }

  private rss(): number {
    return this.src.rss?.() ?? process.memoryUsage.rss();
  }

  /** Seeders and leechers the store's last sweep cycle counted: NaN where it does not say. */
  private sweptSeeders(): { seeders: number; leechers: number } {
    const sweep = this.rules.store.lastSweep;
    if (sweep.seeders === undefined || sweep.peers === undefined) return { seeders: NaN, leechers: NaN };
    return { seeders: sweep.seeders, leechers: Math.max(0, sweep.peers - sweep.seeders) };
  }

  /** The ring's row for a sample taken at `now` (ms): SERIES order, rates since the last sample. */
  sampleRow(now: number): number[] {
    this.sample.take(now);
    return this.row(this.sample, this.sampleStall());
  }

  /** The charted series (SERIES order): rates from `d`, the rest as they are now. */
  private row(d: CounterDeltas, stallMs: number): number[] {
    const store = this.rules.store;
    const { seeders, leechers } = this.sweptSeeders();
    const v: Record<SeriesName, number> = {
      announcesHttp: d.perSecond(ANNOUNCES[0]!),
      announcesUdp: d.perSecond(ANNOUNCES[1]!),
      announcesWs: d.perSecond(ANNOUNCES[2]!),
      scrapesHttp: d.perSecond(SCRAPES[0]!),
      scrapesUdp: d.perSecond(SCRAPES[1]!),
      scrapesWs: d.perSecond(SCRAPES[2]!),
      peers: store.peerCount,
      seeders,
      leechers,
      torrents: store.torrentCount,
      refusals: d.sumPerSecond(REFUSAL_COUNTERS),
      errors: d.sumPerSecond(CHART_ERROR_COUNTERS),
      rssMiB: this.rss() / 1048576,
      stallMs,
      load1: this.loadAverage()[0],
      interval: this.rules.interval,
    };
    return SERIES.map((k) => v[k]);
  }

  /** The live message at `now` (ms); `ring` describes the history ring. */
  live(now: number, ring: LiveMessage["ring"]): LiveMessage {
    const k = this.rules.counters;
    const d = this.second;
    const cfg = this.rules.config;
    const store = this.rules.store;
    const { seeders, leechers } = this.sweptSeeders();
    const per = (list: number[]): PerProtocol => [d.perSecond(list[0]!), d.perSecond(list[1]!), d.perSecond(list[2]!)];
    const total = (list: number[]): PerProtocol => [k[list[0]!]!, k[list[1]!]!, k[list[2]!]!];
    const reasons = (list: readonly Reason[]): ReasonFigure[] =>
      list.map(([key, label, name]) => ({ key, label, perSecond: d.perSecond(C[name]), total: k[C[name]]! }));
    const top = store.topTorrents?.(TOP_TORRENTS) ?? null;
    const health = store.health();
    const started = this.rules.startedAt.getTime();
    return {
      now,
      startTime: this.rules.startedAt.toISOString(),
      uptimeSeconds: Math.max(0, Math.floor((now - started) / 1000)),
      protocols: { http: cfg.http, udp: cfg.udp, ws: cfg.http && cfg.ws },
      announces: { perSecond: per(ANNOUNCES), total: total(ANNOUNCES) },
      scrapes: { perSecond: per(SCRAPES), total: total(SCRAPES) },
      swarm: {
        peers: store.peerCount,
        torrents: store.torrentCount,
        seeders: Number.isNaN(seeders) ? null : seeders,
        leechers: Number.isNaN(leechers) ? null : leechers,
        maxPeers: cfg.maxPeers,
        maxTorrents: cfg.maxTorrents,
      },
      refusals: reasons(REFUSALS),
      errors: reasons(ERRORS),
      intervalSeconds: this.rules.interval,
      loadAverage: this.loadAverage(),
      rss: this.rss(),
      loopStall: this.src.loopStall(),
      store: health,
      state: this.src.state(),
      top: top === null
        ? { kept: false, note: `the ${health.kind} store keeps no list of the largest swarms${health.kind === "redis" ? " (the swarms live in Redis, shared by every node)" : ""}`, torrents: [] }
        : { kept: true, note: "which swarms: as the last sweep cycle found them; counts: now", torrents: top },
      ring,
      row: this.secondRow.map((v) => (Number.isNaN(v) ? null : roundForChart(v))),
    };
  }
}
