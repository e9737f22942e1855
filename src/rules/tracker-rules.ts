/**
 * The tracker's rules, once, for every protocol. No sockets, no encoding: an adapter (HTTP, UDP,
 * and every later one) parses a request into an AnnounceRequest or ScrapeRequest, calls
 * `announce` or `scrape` here, and encodes the result object it owns. Everything a tracker
 * decides is decided here:
 *
 *   numwant      absent (-1) -> numwantDefault; anything above numwantMax -> numwantMax
 *   seeder       exactly `left = 0` (the adapters read it exactly, even past 2^53)
 *   events       stopped: the peer leaves its swarm and gets no peers back; completed: one
 *                download counted, once per peer (the store remembers who was counted), and
 *                at most completionsPerAddress per address and torrent an hour (one host on
 *                many ports cannot inflate the count);
 *                started, paused (BEP 21) and none: a regular announce
 *   self         a peer never gets itself back (the store's selection guarantees it)
 *   rate         at most announcesPerMinute announces per address (every protocol together);
 *                the UDP adapter asks allowConnect / allowBadIdAnswer for its own per-address
 *                limits, so those live here too
 *   capacity     a new torrent past maxTorrents, or a new peer past maxPeers, is refused with
 *                BEP 31 `retry in` = the interval; the refused announce creates nothing
 *   peer ids     kept from the first request that will show them (compact=0 without
 *                no_peer_id); a dictionary answer only when every chosen peer's id is known
 *   scrape       at most scrapeMaxHashes per request, else refused; none at all asks for a full
 *                scrape, refused unless fullScrape is on
 *   interval     the current announce interval (moved by the load rule, src/operator/), also
 *                sent as `min interval`
 *
 * A new rule (an access list, a passkey check) goes here, as a check before the store call that
 * fills `res.refusal`: every protocol then obeys it, and it is tested once, in
 * test/tracker-rules.test.ts.
 */
import type { Config } from "../config/types.ts";
import { EVENT_COMPLETED, EVENT_STOPPED } from "../protocol/events.ts";
import { MemoryStore } from "../store/memory/memory-store.ts";
import { STORE_FULL_TORRENTS, STORE_OK, StoreAnnounce, type SwarmStore } from "../store/store.ts";
import { AddressRate } from "./address-rate.ts";
import { CompletionLimit } from "./completion-limit.ts";
import { C, newCounters } from "./counters.ts";
import type { AnnounceRequest, ScrapeRequest } from "./requests.ts";
import type { AnnounceResult, ScrapeResult } from "./results.ts";

export const REFUSED_TOO_MANY_TORRENTS = "tracker is full (too many torrents), try later";
export const REFUSED_TOO_MANY_PEERS = "tracker is full (too many peers), try later";
export const REFUSED_ANNOUNCE_RATE = "too many announces from your address: try again in a minute";
export const REFUSED_FULL_SCRAPE = "full scrape is disabled on this tracker: give one or more info_hash parameters";

export class TrackerRules {
  /** The settings in force (SIGHUP may replace it with one whose live settings changed). */
  config: Config;
  readonly store: SwarmStore;
  readonly counters = newCounters();
  /** The announce interval handed to clients now, seconds. `min interval` equals it. */
  interval: number;
  readonly startedAt = new Date();
  /** Where one-off notices go (the first client that asks for peer ids). */
  log: (line: string) => void = (line) => console.log(line);

  /** The store's view of the announce being served: one, reused. */
  private readonly op = new StoreAnnounce();
  private readonly tooManyHashes: string;
  private readonly completions: CompletionLimit;
  private readonly announceRate: AddressRate;
  private readonly connectRate: AddressRate;
  private readonly badIdRate: AddressRate;

  constructor(config: Config, store?: SwarmStore) {
    this.config = config;
    this.interval = config.interval;
    this.store = store ?? new MemoryStore({
      maxTorrents: config.maxTorrents,
      maxPeers: config.maxPeers,
      peerTimeout: config.peerTimeout,
      torrentRetention: config.torrentRetention,
      peerIds: config.peerIds,
    });
    this.tooManyHashes = `too many info_hash values in one scrape (at most ${config.scrapeMaxHashes})`;
    this.completions = new CompletionLimit(config.completionsPerAddress);
    this.announceRate = new AddressRate(config.announcesPerMinute);
    this.connectRate = new AddressRate(config.udpConnectsPerMinute);
    this.badIdRate = new AddressRate(config.udpBadIdAnswersPerMinute);
  }

  /** The numwant to use: the default when the client did not say (< 0), capped by the config. */
  numwant(asked: number): number {
    if (asked < 0) return this.config.numwantDefault;
    return asked < this.config.numwantMax ? asked : this.config.numwantMax;
  }

  /** Serve one announce: fills `res` (reset first) with the counts and peers, or a refusal. */
  announce(req: AnnounceRequest, res: AnnounceResult): void {
    res.reset();
    res.interval = this.interval;
    res.minInterval = this.interval;
    const now = nowSeconds();
    if (!this.announceRate.allow(req.record, 0, req.family === 4 ? 4 : 16, now)) {
      this.counters[C.refusedAnnounceRate]!++;
      res.refusal = REFUSED_ANNOUNCE_RATE;
      res.retryIn = 60;
      return;
    }
    const store = this.store;
    // Peer ids cost 20 bytes per peer and modern clients never look at them: keep them only
    // once a client asks for an answer that shows them.
    if (req.wantsPeerIds && store.peerIdState() === "unused") {
      store.usePeerIds();
      this.log("peer ids: a client asked for a compact=0 answer; keeping peer_ids from now on (20 bytes per peer)");
    }
    const op = this.op;
    op.infoHash = req.infoHash;
    op.infoHashOff = req.infoHashOff;
    op.family = req.family;
    op.record = req.record;
    op.recordOff = 0;
    op.peerId = req.peerId;
    op.peerIdOff = req.peerIdOff;
    op.seeder = req.leftIsZero;
    op.leaving = req.event === EVENT_STOPPED;
    op.numwant = this.numwant(req.numwant);
    op.bothFamilies = req.bothFamilies;
    op.now = now;
    op.completed = req.event === EVENT_COMPLETED && this.countCompletion(req, op.now);
    const status = store.announce(op, res);
    if (status !== STORE_OK) {
      const torrents = status === STORE_FULL_TORRENTS;
      this.counters[torrents ? C.refusedTorrentCapacity : C.refusedPeerCapacity]!++;
      res.refusal = torrents ? REFUSED_TOO_MANY_TORRENTS : REFUSED_TOO_MANY_PEERS;
      res.retryIn = this.interval;
      return;
    }
    if (req.wantsPeerIds) res.peerIdsKnown = res.peers4.allIdsKnown() && res.peers6.allIdsKnown();
  }

  /**
   * Whether a BEP 15 connect from the address in address[0 .. length) may be answered (udpConnectsPerMinute); a refused
   * one is dropped unanswered by the adapter.
   */
  allowConnect(address: Uint8Array, length: number, now: number): boolean {
    if (this.connectRate.allow(address, 0, length, now)) return true;
    this.counters[C.udpConnectsThrottled]!++;
    return false;
  }

  /**
   * Whether a packet with a wrong or expired connection id from that address may get its error
   * packet (udpBadIdAnswersPerMinute). Past the limit it is dropped: the address may be spoofed,
   * and error packets to it are traffic the tracker would send to a victim.
   */
  allowBadIdAnswer(address: Uint8Array, length: number, now: number): boolean {
    if (this.badIdRate.allow(address, 0, length, now)) return true;
    this.counters[C.udpBadIdThrottled]!++;
    return false;
  }

  /** Whether a completion may count: not past completionsPerAddress for its address and torrent. */
  private countCompletion(req: AnnounceRequest, now: number): boolean {
    if (this.completions.allow(req.infoHash, req.infoHashOff, req.record, req.family === 4 ? 4 : 16, now)) return true;
    this.counters[C.completionsNotCounted]!++;
    return false;
  }

  /** Serve one scrape: fills `res` (reset first) with counts in request order, or a refusal. */
  scrape(req: ScrapeRequest, res: ScrapeResult): void {
    res.reset();
    if (req.count > this.config.scrapeMaxHashes) {
      this.counters[C.refusedScrapeHashes]!++;
      res.refusal = this.tooManyHashes;
      return;
    }
    if (req.count === 0) {
      if (this.config.fullScrape) res.full = true;
      else {
        this.counters[C.refusedFullScrape]!++;
        res.refusal = REFUSED_FULL_SCRAPE;
      }
      return;
    }
    this.store.scrape(req.hashes, req.hashesOff, req.count, res);
    res.count = req.count;
  }
}

/** The store's clock: whole seconds since the Unix epoch (fits a Uint32 until 2106). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
