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
 *   passkey      private mode: an announce or scrape must carry a passkey in force (not
 *                revoked, not expired); what it reports is accounted per key and torrent
 *   access list  access-mode allow: only listed torrents; deny: all but listed ones. A
 *                refused announce creates nothing; a refused torrent in a scrape gets no
 *                counts (a scrape of refused torrents only is refused); the sweep removes
 *                what a torrent that became refused still holds
 *
 * Order of the checks: rate, passkey, access list, then the store (capacity). A new rule goes
 * here, as a check before the store call that fills `res.refusal`: every protocol then obeys
 * it, and it is tested once, in test/tracker-rules.test.ts.
 */
import type { Accounting } from "../access/accounting.ts";
import type { InfoHashSet } from "../access/info-hash-list.ts";
import type { PasskeyTable } from "../access/passkey.ts";
import type { Config } from "../config/types.ts";
import { EVENT_COMPLETED, EVENT_STOPPED } from "../protocol/events.ts";
import { memoryStoreFor } from "../store/open-store.ts";
import {
  STORE_FULL_TORRENTS, STORE_OK, STORE_REFUSED_TORRENT, STORE_UNAVAILABLE, StoreAnnounce, type StoreStatus, type SwarmStore,
  WebRtcDirectoryResult, type WebRtcMember,
} from "../store/store.ts";
import { AddressRate } from "./address-rate.ts";
import { CompletionLimit } from "./completion-limit.ts";
import { C, newCounters } from "./counters.ts";
import { WEBRTC_FULL_TORRENTS, WEBRTC_OK, WEBRTC_PEER_ID_TAKEN, WebRtcSwarms, type WebRtcPeer } from "../store/webrtc-swarms.ts";
import type { AnnounceRequest, ScrapeRequest, WebRtcAnnounceRequest } from "./requests.ts";
import type { AnnounceResult, ScrapeResult, WebRtcAnnounceResult } from "./results.ts";

export const REFUSED_TOO_MANY_TORRENTS = "tracker is full (too many torrents), try later";
export const REFUSED_TOO_MANY_PEERS = "tracker is full (too many peers), try later";
export const REFUSED_ANNOUNCE_RATE = "too many announces from your address: try again in a minute";
export const REFUSED_FULL_SCRAPE = "full scrape is disabled on this tracker: give one or more info_hash parameters";
export const REFUSED_TORRENT = "torrent not allowed";
export const REFUSED_NO_PASSKEY = "this is a private tracker: use your personal announce URL, /<passkey>/announce";
export const REFUSED_PASSKEY_UNKNOWN = "unknown or revoked passkey";
export const REFUSED_PASSKEY_EXPIRED = "passkey expired";
export const REFUSED_PEER_ID_TAKEN = "peer_id in use on another connection in this swarm";
export const REFUSED_STORE_UNAVAILABLE = "tracker storage unavailable, try again shortly";
/** BEP 31 `retry in` with an unavailable store, seconds: long enough not to hammer a node that waits for Redis. */
export const STORE_RETRY_IN = 30;
export const REFUSED_ANSWER = "answer refused: no such offer was sent to you by that peer (or it expired)";

/** Most relayed offers waiting for their answer at once (all swarms): ~100 bytes each. */
const MAX_PENDING_OFFERS = 1_000_000;

/** What a refusal is written into: every announce result has these. */
interface Refusable {
  refusal: string | null;
  retryIn: number;
}

/** The accounting's name for each AnnounceEvent (BEP 21 paused is a regular announce). */
const EVENT_NAMES = ["none", "started", "completed", "stopped", "none"] as const;

/** access-mode as the rules hold it. */
export const ACCESS_OFF = 0;
export const ACCESS_ALLOW = 1;
export const ACCESS_DENY = 2;
export type AccessMode = typeof ACCESS_OFF | typeof ACCESS_ALLOW | typeof ACCESS_DENY;

/** access-mode's text (config) as the rules hold it. */
export function accessModeOf(text: string): AccessMode {
  return text === "allow" ? ACCESS_ALLOW : text === "deny" ? ACCESS_DENY : ACCESS_OFF;
}
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
  /**
   * The access list in force and its mode, replaced together by setAccess (a request sees the
   * old pair or the new one, never half of each). Null list: mode is ACCESS_OFF.
   */
  accessMode: AccessMode = ACCESS_OFF;
  accessList: InfoHashSet | null = null;
  /** Private mode: the passkeys in force (replaced whole when the database changes); null: public. */
  passkeys: PasskeyTable | null = null;
  /** Private mode: what each key's announces report, summed in memory (written in batches elsewhere). */
  accounting: Accounting | null = null;

  /** WebRTC peers (WebTorrent over WebSocket): swarms of their own, see webrtc-swarms.ts. */
  readonly webrtc: WebRtcSwarms<object>;
  /** A WebTorrent request's binary strings as bytes, for the checks that take bytes (reused). */
  private readonly hashBytes = new Uint8Array(20);
  private readonly peerIdBytes = new Uint8Array(20);

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
    this.store = store ?? memoryStoreFor(config);
    this.webrtc = new WebRtcSwarms<object>({
      maxTorrents: config.maxTorrents,
      maxPeers: config.maxPeers,
      peerTimeout: config.peerTimeout,
      offerTimeout: config.wsOfferTimeout,
      maxPendingOffers: MAX_PENDING_OFFERS,
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

  /** Put an access list and its mode in force (both at once). */
  setAccess(mode: AccessMode, list: InfoHashSet | null): void {
    this.accessMode = list === null ? ACCESS_OFF : mode;
    this.accessList = list;
    // What a newly refused torrent still holds goes with the next sweep cycle.
    this.store.setTorrentFilter(this.accessMode === ACCESS_OFF ? null : this.keepTorrent);
  }

  private readonly keepTorrent = (hash: Uint8Array, off: number): boolean => this.torrentAllowed(hash, off);

  /** Whether the access list lets this torrent be served. */
  torrentAllowed(hash: Uint8Array, off: number): boolean {
    const mode = this.accessMode;
    if (mode === ACCESS_OFF) return true;
    return this.accessList!.has(hash, off) === (mode === ACCESS_ALLOW);
  }

  /** Private mode's check of a request's passkey: null when it may go on, else the refusal. */
  private passkeyRefusal(passkey: string | null, now: number): string | null {
    const keys = this.passkeys!;
    let refusal: string | null;
    if (passkey === null) refusal = REFUSED_NO_PASSKEY;
    else {
      const state = keys.check(passkey, now);
      refusal = state === "ok" ? null : state === "expired" ? REFUSED_PASSKEY_EXPIRED : REFUSED_PASSKEY_UNKNOWN;
    }
    if (refusal !== null) this.counters[C.refusedPasskey]!++;
    return refusal;
  }

  /**
   * Serve one announce: fills `res` (reset first) with the counts and peers, or a refusal.
   * With an asynchronous store (store.async) it may return a Promise, settled once `res` is
   * filled; refusals decided before the store call never wait.
   */
  announce(req: AnnounceRequest, res: AnnounceResult): void | Promise<void> {
    res.reset();
    res.interval = this.interval;
    res.minInterval = this.interval;
    const now = nowSeconds();
    if (this.refusedAtTheDoor(req.record, req.family, req.passkey, now, res)) return;
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
    // A completion of a refused torrent must not reach the completions limit (it keeps state
    // per torrent): rare enough to ask the list here, before the store would refuse it.
    if (req.event === EVENT_COMPLETED && !this.torrentAllowed(req.infoHash, req.infoHashOff)) return this.refuseTorrent(res);
    op.completed = req.event === EVENT_COMPLETED && this.countCompletion(req.infoHash, req.infoHashOff, req.record, req.family, now);
    // The access list is applied by the store (setAccess gave it the filter): it asks the list
    // about a known torrent once per list, not on every announce.
    const status = store.announce(op, res);
    if (typeof status === "number") return this.afterStore(status, req, res, op.completed, now);
    // A remote store: `req` points into the adapter's reused buffers, which the next request
    // overwrites while this one waits. Keep what the wording after the store call needs.
    const kept = this.accounting === null ? req.wantsPeerIds : keepForAccounting(req);
    const completed = op.completed;
    return status.then((st) => this.afterStore(st, kept, res, completed, now));
  }

  /**
   * The announce's wording once the store has answered. `req` is the request, or (after an
   * await) what was kept of it: the wantsPeerIds flag, or the request copied for accounting.
   */
  private afterStore(status: StoreStatus, req: AnnounceRequest | boolean, res: AnnounceResult, completed: boolean, now: number): void {
    if (status === STORE_REFUSED_TORRENT) return this.refuseTorrent(res);
    if (status === STORE_UNAVAILABLE) return this.refuseUnavailable(res);
    if (status !== STORE_OK) return this.refuseCapacity(status === STORE_FULL_TORRENTS, res);
    const wantsPeerIds = typeof req === "boolean" ? req : req.wantsPeerIds;
    if (wantsPeerIds) res.peerIdsKnown = res.peers4.allIdsKnown() && res.peers6.allIdsKnown();
    if (this.accounting !== null && typeof req !== "boolean") {
      this.accounting.record(
        req.passkey!, req.infoHash, req.infoHashOff, req.peerId, req.peerIdOff,
        req.uploaded, req.downloaded, EVENT_NAMES[req.event], completed, now,
      );
    }
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
  private countCompletion(hash: Uint8Array, hashOff: number, record: Uint8Array, family: 4 | 6, now: number): boolean {
    if (this.completions.allow(hash, hashOff, record, family === 4 ? 4 : 16, now)) return true;
    this.counters[C.completionsNotCounted]!++;
    return false;
  }

  /**
   * The checks before any swarm is looked at, for every protocol: the address's announce rate,
   * then (private mode) the passkey. True when refused (`res` says why).
   */
  private refusedAtTheDoor(record: Uint8Array, family: 4 | 6, passkey: string | null, now: number, res: Refusable): boolean {
    if (!this.announceRate.allow(record, 0, family === 4 ? 4 : 16, now)) {
      this.counters[C.refusedAnnounceRate]!++;
      res.refusal = REFUSED_ANNOUNCE_RATE;
      res.retryIn = 60;
      return true;
    }
    return this.passkeys !== null && (res.refusal = this.passkeyRefusal(passkey, now)) !== null;
  }

  /** The access list refuses the torrent. */
  private refuseTorrent(res: Refusable): void {
    this.counters[C.refusedTorrentNotAllowed]!++;
    res.refusal = REFUSED_TORRENT;
  }

  /** The store cannot answer now (Redis unreachable): retry shortly. */
  private refuseUnavailable(res: Refusable): void {
    this.counters[C.refusedStoreUnavailable]!++;
    res.refusal = REFUSED_STORE_UNAVAILABLE;
    res.retryIn = STORE_RETRY_IN;
  }

  /** No room for a new torrent (torrentsFull) or a new peer: retry after an interval (BEP 31). */
  private refuseCapacity(torrentsFull: boolean, res: Refusable): void {
    this.counters[torrentsFull ? C.refusedTorrentCapacity : C.refusedPeerCapacity]!++;
    res.refusal = torrentsFull ? REFUSED_TOO_MANY_TORRENTS : REFUSED_TOO_MANY_PEERS;
    res.retryIn = this.interval;
  }

  /**
   * Serve one WebTorrent announce: the counts and up to one peer per offer, or a refusal. With a
   * shared store (store.webrtcDirectory) the swarm spans every node: the counts and the choice
   * come from the store (a Promise), and chosen peers connected to other nodes are in res.remote.
   */
  announceWebRtc(req: WebRtcAnnounceRequest, res: WebRtcAnnounceResult): void | Promise<void> {
    res.refusal = null;
    res.retryIn = -1;
    res.peers.length = 0;
    res.remote.length = 0;
    res.interval = this.interval;
    const now = nowSeconds();
    if (this.refusedAtTheDoor(req.record, req.family, req.passkey, now, res)) return;
    const hash = binaryInto(req.infoHash, this.hashBytes);
    if (!this.torrentAllowed(hash, 0)) return this.refuseTorrent(res);
    const dir = this.store.webrtcDirectory;
    if (dir !== null && !dir.ready()) return this.refuseUnavailable(res);
    const leaving = req.event === EVENT_STOPPED;
    const completed = req.event === EVENT_COMPLETED && this.countCompletion(hash, 0, req.record, req.family, now);
    const n = leaving ? 0 : Math.min(req.offers, this.numwant(req.numwant));
    // This node's own record of the peer (its connection, its pending offers): with a shared
    // store it chooses nobody, the store does.
    const status = this.webrtc.announce(
      req.infoHash, req.peerId, req.conn, req.leftIsZero, leaving, completed, dir === null ? n : 0, now, res.peers,
    );
    if (status === WEBRTC_PEER_ID_TAKEN) {
      res.refusal = REFUSED_PEER_ID_TAKEN;
      return;
    }
    if (status !== WEBRTC_OK) return this.refuseCapacity(status === WEBRTC_FULL_TORRENTS, res);
    if (dir === null) {
      const counts = this.webrtc.counts(req.infoHash);
      res.complete = counts.complete;
      res.incomplete = counts.incomplete;
      return this.accountWebRtc(req.passkey, req.infoHash, req.peerId, req.uploaded, req.downloaded, req.event, completed, now);
    }
    // The request object is reused by the adapter meanwhile: keep what is needed after the await.
    const { infoHash, peerId, passkey, uploaded, downloaded, event } = req;
    return dir.announce(infoHash, peerId, req.leftIsZero, leaving, completed, n, now, res.shared).then((st) => {
      if (st !== STORE_OK) return this.refuseUnavailable(res);
      res.complete = res.shared.complete;
      res.incomplete = res.shared.incomplete;
      for (const m of res.shared.chosen) {
        if (m.node !== dir.node) res.remote.push(m);
        else {
          const p = this.webrtc.peer(infoHash, m.peerId);
          if (p !== undefined) res.peers.push(p);
        }
      }
      this.accountWebRtc(passkey, infoHash, peerId, uploaded, downloaded, event, completed, now);
    });
  }

  private accountWebRtc(
    passkey: string | null, infoHash: string, peerId: string, uploaded: number, downloaded: number, event: number,
    completed: boolean, now: number,
  ): void {
    if (this.accounting === null) return;
    this.accounting.record(
      passkey!, binaryInto(infoHash, this.hashBytes), 0, binaryInto(peerId, this.peerIdBytes), 0,
      uploaded, downloaded, EVENT_NAMES[event]!, completed, now,
    );
  }

  /**
   * A WebRTC connection closed: the peers it announced leave their swarms (here, and in the
   * shared store when there is one), given each as info_hash + peer_id (40 characters).
   */
  webRtcConnectionClosed(conn: object, joined: Set<string>): void {
    this.webrtc.removeConnection(conn, joined);
    const dir = this.store.webrtcDirectory;
    if (dir === null || !dir.ready()) return; // gone from the store at peer-timeout anyway
    for (const key of joined) {
      void dir.announce(key.slice(0, 20), key.slice(20), false, true, false, 0, nowSeconds(), new WebRtcDirectoryResult());
    }
  }

  /**
   * Where a WebRTC answer may go: the offerer, when `answerer` (announced on `conn`) really was
   * sent offer `offerId` of `toPeerId` in that swarm, not expired nor answered. A peer connected
   * here, or (shared store) the offerer's node and peer_id. Else a refusal.
   */
  answerTarget(
    infoHash: string, answerer: string, toPeerId: string, offerId: string, conn: object, passkey: string | null,
  ): WebRtcPeer<object> | WebRtcMember | string {
    const now = nowSeconds();
    if (this.passkeys !== null) {
      const refusal = this.passkeyRefusal(passkey, now);
      if (refusal !== null) return refusal;
    }
    // The answerer must be the peer the offer went to, on its own connection: a peer_id is
    // only a claim, the connection it announced on is not.
    const swarm = this.webrtc.swarms.get(infoHash);
    const self = swarm?.peers.get(answerer);
    const pending = self !== undefined && self.conn === conn ? this.webrtc.takeOffer(self, offerId, toPeerId, now) : null;
    if (pending !== null && pending.node !== null) return { node: pending.node, peerId: toPeerId };
    const target = pending !== null ? swarm!.peers.get(toPeerId) : undefined;
    if (target === undefined) {
      this.counters[C.wsAnswersRefused]!++;
      return REFUSED_ANSWER;
    }
    return target;
  }

  /**
   * A WebTorrent scrape: the WebRTC swarms' counts, refused torrents left out; or a refusal.
   * With a shared store the counts are every node's (a Promise).
   */
  scrapeWebRtc(infoHashes: string[], passkey: string | null): WebRtcScrapeFile[] | string | Promise<WebRtcScrapeFile[] | string> {
    if (infoHashes.length > this.config.scrapeMaxHashes) {
      this.counters[C.refusedScrapeHashes]!++;
      return this.tooManyHashes;
    }
    if (this.passkeys !== null) {
      const refusal = this.passkeyRefusal(passkey, nowSeconds());
      if (refusal !== null) return refusal;
    }
    let hashes = infoHashes;
    if (hashes.length === 0) {
      if (!this.config.fullScrape) {
        this.counters[C.refusedFullScrape]!++;
        return REFUSED_FULL_SCRAPE;
      }
      hashes = [...this.webrtc.swarms.keys()];
    }
    const allowed: string[] = [];
    for (const h of hashes) {
      if (this.torrentAllowed(binaryInto(h, this.hashBytes), 0)) allowed.push(h);
      else this.counters[C.refusedTorrentNotAllowed]!++;
    }
    if (allowed.length === 0 && hashes.length > 0) return REFUSED_TORRENT;
    const dir = this.store.webrtcDirectory;
    if (dir === null) return allowed.map((h) => ({ infoHash: h, ...this.webrtc.counts(h) }));
    if (!dir.ready()) return this.storeUnavailable();
    return dir.scrape(allowed).then((counts) =>
      counts === null ? this.storeUnavailable() : allowed.map((h, i) => ({ infoHash: h, ...counts[i]! })),
    );
  }

  /** The refusal for a store that cannot answer, counted (for answers that carry no retry in). */
  private storeUnavailable(): string {
    this.counters[C.refusedStoreUnavailable]!++;
    return REFUSED_STORE_UNAVAILABLE;
  }

  /**
   * Serve one scrape: fills `res` (reset first) with counts in request order, or a refusal.
   * Like announce, it may return a Promise with an asynchronous store.
   */
  scrape(req: ScrapeRequest, res: ScrapeResult): void | Promise<void> {
    res.reset();
    if (req.count > this.config.scrapeMaxHashes) {
      this.counters[C.refusedScrapeHashes]!++;
      res.refusal = this.tooManyHashes;
      return;
    }
    if (this.passkeys !== null && (res.refusal = this.passkeyRefusal(req.passkey, nowSeconds())) !== null) return;
    if (req.count === 0) {
      if (this.config.fullScrape) res.full = true;
      else {
        this.counters[C.refusedFullScrape]!++;
        res.refusal = REFUSED_FULL_SCRAPE;
      }
      return;
    }
    if (this.accessMode !== ACCESS_OFF && this.refuseListed(req, res)) return;
    res.count = req.count;
    const pending = this.store.scrape(req.hashes, req.hashesOff, req.count, res);
    if (pending === undefined) return blankRefused(res);
    return pending.then((status) => {
      if (status === STORE_UNAVAILABLE) this.refuseUnavailable(res);
      else blankRefused(res);
    });
  }

  /**
   * Scrape under an access list: marks the refused torrents (they get no counts). True when all
   * are refused: then `res` holds the refusal and the store is not asked.
   */
  private refuseListed(req: ScrapeRequest, res: ScrapeResult): boolean {
    for (let i = 0; i < req.count; i++) {
      if (this.torrentAllowed(req.hashes, req.hashesOff + i * 20)) continue;
      res.refusedAt[i] = 1;
      res.refused++;
    }
    if (res.refused === 0) return false;
    this.counters[C.refusedTorrentNotAllowed]! += res.refused;
    if (res.refused < req.count) return false;
    res.refusal = REFUSED_TORRENT;
    return true;
  }
}

/** Zero the counts of the torrents the access list refused (the store filled them all). */
function blankRefused(res: ScrapeResult): void {
  if (res.refused === 0) return;
  for (let i = 0; i < res.count; i++) if (res.refusedAt[i] === 1) res.complete[i] = res.downloaded[i] = res.incomplete[i] = 0;
}

// ---- WebTorrent (WebSocket) --------------------------------------------------------------
// The same rules, over the WebRTC swarms: rate, passkey, access list, numwant (one peer per
// offer), events, completions, capacity. What differs is what a peer is (a peer_id on a
// connection) and that the answer is relayed offers rather than addresses.

/** An announce request's copy, for the accounting of an announce that waits for a remote store. */
function keepForAccounting(req: AnnounceRequest): AnnounceRequest {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(req)), req) as AnnounceRequest;
  copy.infoHash = req.infoHash.slice(req.infoHashOff, req.infoHashOff + 20);
  copy.infoHashOff = 0;
  copy.peerId = req.peerId.slice(req.peerIdOff, req.peerIdOff + 20);
  copy.peerIdOff = 0;
  return copy;
}

/** Copy a 20-character binary string into `out` (its bytes, for the checks that take bytes). */
function binaryInto(s: string, out: Uint8Array): Uint8Array {
  for (let i = 0; i < 20; i++) out[i] = s.charCodeAt(i);
  return out;
}

export interface WebRtcScrapeFile {
  infoHash: string;
  complete: number;
  incomplete: number;
  downloaded: number;
}

/** The store's clock: whole seconds since the Unix epoch (fits a Uint32 until 2106). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
