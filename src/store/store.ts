/**
 * The swarm store interface: what the rules (src/rules/) ask of whatever keeps the swarms.
 *
 * The rules decide (numwant, seeder state, what an event means, refusals and their wording);
 * the store keeps the data and does, in one call, what must be atomic for one torrent: find or
 * create it, enforce capacity, insert/refresh/remove the announcer, count a `completed` once per
 * peer, and choose up to numwant other peers at random. One call per announce is also what a
 * remote store needs (one round trip: see "An asynchronous store" below).
 *
 * Results go into caller-owned objects (AnnounceCounts and ScrapeCounts below, which the rules'
 * AnnounceResult and ScrapeResult extend), reused from request to request: the in-memory store
 * fills them without allocating. Peers are not copied out: the result's PeerWindow points into
 * the store's own wire-format records, and the adapter copies them straight into its answer.
 *
 * Implementations: src/store/memory/ (the default: packed typed arrays, synchronous) and
 * src/store/redis/ (Redis or Valkey shared by several tracker nodes, asynchronous).
 *
 * An asynchronous store returns a Promise from `announce` and `scrape`, resolved once the result
 * object is filled:
 *   - the store reads everything it needs from StoreAnnounce (and the bytes it points at, which
 *     live in the adapter's reused buffers) before its first await: the Redis store encodes its
 *     script arguments at once, so the next request may reuse those objects;
 *   - TrackerRules.announce/scrape return `void | Promise<void>`: the rules keep their
 *     synchronous checks before the store call (parse limits, access lists, passkeys) and
 *     their wording after it (refusal texts, peerIdsKnown); only the store call is awaited, so
 *     a refusal that needs no data never waits for the network, and the in-memory path stays
 *     synchronous (no Promise, no allocation);
 *   - with requests in flight at once, a result object cannot be shared: the adapter takes a
 *     fresh one per request when the store is asynchronous (`store.async`), and keeps a single
 *     one for the in-memory store, since nothing can interleave a synchronous call;
 *   - the store fills PeerWindow from its reply: `rec` is the reply's packed records, the
 *     window starts at 0 and does not wrap, and it keeps no peer ids (idLength 0);
 *   - a store that cannot answer (Redis unreachable) says STORE_UNAVAILABLE, and the rules
 *     refuse with a `retry in`; it never rejects;
 *   - sweeping is expiry on the server (sorted sets scored by last-seen, TTL on idle
 *     torrents), so `sweepStep` does only local bookkeeping.
 */
import { PeerWindow } from "./peer-window.ts";

/** What the store did with an announce. */
export const STORE_OK = 0;
/** Refused: a new torrent, and the store holds its maximum of torrents. Nothing was created. */
export const STORE_FULL_TORRENTS = 1;
/** Refused: a new peer, and the store holds its maximum of peers (or the swarm its largest size). */
export const STORE_FULL_PEERS = 2;
/**
 * Refused: the torrent filter (setTorrentFilter) says no to this torrent. Nothing was created or
 * changed.
 */
export const STORE_REFUSED_TORRENT = 3;
/** Refused: the store cannot be reached now (a remote store): try again shortly. */
export const STORE_UNAVAILABLE = 4;
export type StoreStatus = 0 | 1 | 2 | 3 | 4;

/**
 * One announce as the store sees it: the rules have already decided every policy question.
 * Reused by the rules for every request (no object per announce).
 */
export class StoreAnnounce {
  /** The info_hash: infoHash[infoHashOff .. +20]. */
  infoHash: Uint8Array = new Uint8Array(20);
  infoHashOff = 0;
  /** 4 or 6: which swarm the announcer joins. */
  family: 4 | 6 = 4;
  /** The announcer's wire record (address then port, big-endian): 6 bytes (family 4) or 18. */
  record: Uint8Array = new Uint8Array(18);
  recordOff = 0;
  /** The announcer's 20-byte peer_id, kept when the store keeps peer ids. */
  peerId: Uint8Array = new Uint8Array(20);
  peerIdOff = 0;
  /** Nothing left to download. */
  seeder = false;
  /** Leave the swarm (event stopped): no answer peers, the announcer is removed. */
  leaving = false;
  /** Count one download for this torrent, once per peer (event completed). */
  completed = false;
  /** How many other peers to choose (already defaulted and capped by the rules). */
  numwant = 0;
  /** Also choose peers of the other family (HTTP answers carry `peers` and `peers6`). */
  bothFamilies = false;
  /** The store's clock: whole seconds since the Unix epoch. */
  now = 0;
}

/** The store's part of an announce answer: the torrent's counts and the chosen peers. */
export class AnnounceCounts {
  /** Seeders and leechers of the torrent after this announce; downloads counted. */
  complete = 0;
  incomplete = 0;
  downloaded = 0;
  /** The chosen peers of each family (the announcer's own family only, unless both asked). */
  readonly peers4 = new PeerWindow(4);
  readonly peers6 = new PeerWindow(6);

  /** The window of `family`. */
  peers(family: 4 | 6): PeerWindow {
    return family === 4 ? this.peers4 : this.peers6;
  }

  clearCounts(): void {
    this.complete = this.incomplete = this.downloaded = 0;
    this.peers4.clear();
    this.peers6.clear();
  }
}

/** The store's part of a scrape answer: counts per asked torrent, in the order asked. */
export class ScrapeCounts {
  readonly complete: Float64Array;
  readonly downloaded: Float64Array;
  readonly incomplete: Float64Array;

  constructor(capacity: number) {
    this.complete = new Float64Array(capacity);
    this.downloaded = new Float64Array(capacity);
    this.incomplete = new Float64Array(capacity);
  }
}

/** The result of the last complete sweep cycle, for the terminal line and /stats. */
export interface SweepReport {
  removedPeers: number;
  removedTorrents: number;
  /** Largest swarm seen during the cycle. */
  maxPeers: number;
  /** Wall time spent in the cycle's slices, microseconds. */
  micros: number;
  /** The longest single slice of the cycle, microseconds: how long the sweep held the loop. */
  longestSliceMicros: number;
  /**
   * Peers and seeders counted torrent by torrent by the last cycle that noted them (the
   * in-memory store notes them on a cycle at most every 5 s): the dashboard's seeders and
   * leechers without walking every torrent again, a few seconds old on a small tracker, up to a
   * cycle's length (about a minute) on a large one. Absent where the store does not sweep (Redis).
   */
  peers?: number;
  seeders?: number;
}

/** One of the largest swarms (SwarmStore.topTorrents). */
export interface TopTorrent {
  /** 40 lowercase hex characters. */
  infoHash: string;
  seeders: number;
  leechers: number;
  downloaded: number;
}

/** Whether peer ids are kept: "kept", "unused" (allowed, nobody asked yet) or "off". */
export type PeerIdState = "kept" | "unused" | "off";

/** The store's figures for /stats, /metrics and the terminal line. */
export interface StoreFigures {
  torrents: number;
  peers: number;
  peersIPv4: number;
  peersIPv6: number;
  seeders: number;
  /** Bytes the store holds (typed arrays, for the in-memory store). */
  bytes: number;
  /** Of `bytes`: the peer_id columns. */
  peerIdBytes: number;
  peerIdState: PeerIdState;
}

/**
 * Called once per torrent, in ascending raw-byte order of info_hash, by a full scrape:
 * the hash is infoHash[off .. off + 20].
 */
export type TorrentVisitor = (
  infoHash: Uint8Array, off: number, complete: number, downloaded: number, incomplete: number,
) => void;

/** The torrents of a moment, in info_hash order, read a slice at a time. */
export interface TorrentOrder {
  /** Torrents in the order (when it was taken). */
  readonly count: number;
  /**
   * Visit entries [from, to) with their counts as they are now. A torrent gone since the order
   * was taken is skipped, and so is anything that would break the ascending order: what is
   * visited is always strictly ascending by info_hash.
   */
  visit(from: number, to: number, visit: TorrentVisitor): void;
}

/** Which store, and how it is doing, for /stats, /metrics and the terminal line. */
export interface StoreHealth {
  kind: "memory" | "redis";
  /** Where it is (a Redis URL without its password); "" for memory. */
  where: string;
  /** It answers now (always true for memory). */
  up: boolean;
  /** Median round trip of the last few seconds' requests, milliseconds (0 for memory). */
  rttMs: number;
  /** Requests refused because the store could not answer, since start. */
  unavailable: number;
  /** Times the connection was lost, since start. */
  disconnects: number;
}

export interface SwarmStore {
  /** True when announce and scrape answer with a Promise (one result object per request). */
  readonly async: boolean;
  /** Record an announce and fill `res` (counts, peers). See StoreAnnounce for the request. */
  announce(a: StoreAnnounce, res: AnnounceCounts): StoreStatus | Promise<StoreStatus>;
  /**
   * Counts of `count` torrents whose hashes lie contiguously at hashes[off ..]: fills
   * res.complete/downloaded/incomplete[0 .. count) (zeros for a torrent it does not know).
   * An asynchronous store reads the hashes before its first await; it answers STORE_OK or
   * STORE_UNAVAILABLE.
   */
  scrape(hashes: Uint8Array, off: number, count: number, res: ScrapeCounts): void | Promise<StoreStatus>;
  health(): StoreHealth;
  /**
   * A store shared by several nodes: the secret they all make UDP connection ids with, when
   * the operator set none (so an id from one node is good at every other). Resolves once the
   * store answers.
   */
  sharedSecret?(): Promise<string>;
  /**
   * A store shared by several nodes also shares the WebRTC (WebTorrent) swarms: who is in each
   * across the nodes, and a way to reach a peer connected to another node. Null: the WebRTC
   * swarms are this process's own (src/store/webrtc-swarms.ts alone).
   */
  readonly webrtcDirectory: WebRtcDirectory | null;
  /** Let go of connections (at stop). */
  close(): void;
  /**
   * Housekeeping, called about once a second: forget peers that went quiet, empty torrents.
   * Each call is bounded work; true means it stopped with more to do now, and the caller should
   * call again soon (after letting I/O through) rather than wait for the next second.
   */
  sweepStep(now: number): boolean;
  /**
   * The access list as the store applies it. An announce for a torrent `keep` says no to is
   * refused (STORE_REFUSED_TORRENT) before anything is created; such torrents are left out of
   * torrentsInHashOrder and emptied by the sweep (every peer, then the torrent with its
   * downloaded count, within a sweep cycle). The store may remember a known torrent's verdict
   * until the filter is set again (the in-memory one does: asking a million-entry list on every
   * announce costs a trip to memory the torrent's own lookup has already made). Null: keep all.
   */
  setTorrentFilter(keep: ((infoHash: Uint8Array, off: number) => boolean) | null): void;
  /** The last complete sweep cycle. */
  readonly lastSweep: SweepReport;
  /** The longest single sweep slice since the store was made, microseconds. */
  readonly longestSweepSliceMicros: number;
  /** Peers and torrents now. Walks every torrent for the seeders: not per request. */
  figures(): StoreFigures;
  /**
   * The largest swarms by peers, largest first, at most `limit`: which torrents is what the last
   * sweep cycle that noted them saw (see SweepReport.seeders for how old), their counts are as
   * of now. Bounded work: no walk over the torrents. Optional: a store shared by
   * several nodes (Redis) keeps no such list, and the dashboard says so.
   */
  topTorrents?(limit: number): TopTorrent[];
  /** Peers now (cheap). */
  readonly peerCount: number;
  /** Torrents now (cheap). */
  readonly torrentCount: number;
  peerIdState(): PeerIdState;
  /** Start keeping peer ids (if allowed): the first client that would see them has asked. */
  usePeerIds(): void;
  /** Every torrent now, in info_hash order, to be read in slices (full scrape, tests). */
  torrentsInHashOrder(): TorrentOrder;
  /**
   * torrentsInHashOrder in steps: yields between slices of the ordering's work, so the caller
   * can let the event loop turn (the full scrape does), and returns the same order.
   */
  orderTorrents(): Generator<void, TorrentOrder>;
}

// ---- WebRTC swarms across nodes ---------------------------------------------------------

/** A WebRTC peer somewhere in the cluster: the node it is connected to, and its peer_id. */
export interface WebRtcMember {
  node: string;
  peerId: string;
}

/** What a directory announce gives back: the swarm's counts (all nodes) and the chosen peers. */
export class WebRtcDirectoryResult {
  complete = 0;
  incomplete = 0;
  downloaded = 0;
  readonly chosen: WebRtcMember[] = [];
}

/**
 * A message for a peer connected to another node: a relayed offer (the receiving node remembers
 * it as pending for `to`, from `from` on `fromNode`, so the answer can only go back there) or a
 * relayed answer. `text` is the WebSocket message as the peer is to receive it.
 */
export interface WebRtcRelay {
  kind: "offer" | "answer";
  infoHash: string;
  to: string;
  from: string;
  fromNode: string;
  offerId: string;
  text: string;
}

/**
 * The WebRTC swarms as several nodes share them (the Redis store's): membership, counts and the
 * random choice of peers live in the shared store; connections, pending offers and the
 * peer_id-per-connection rule stay with the node the peer is connected to
 * (src/store/webrtc-swarms.ts).
 */
export interface WebRtcDirectory {
  /** This node's id (random per process), as other nodes address it. */
  readonly node: string;
  /** Whether it answers now (else the rules refuse with `retry in`). */
  ready(): boolean;
  /**
   * A WebRTC peer's announce in the shared swarm (the same semantics as a SwarmStore announce:
   * seeder state, `completed` once per peer, `leaving`), choosing up to numwant others from
   * every node. Everything is read before the first await.
   */
  announce(
    infoHash: string, peerId: string, seeder: boolean, leaving: boolean, completed: boolean, numwant: number,
    now: number, out: WebRtcDirectoryResult,
  ): Promise<StoreStatus>;
  /** Counts of each swarm (all nodes), in order. */
  scrape(infoHashes: string[]): Promise<{ complete: number; incomplete: number; downloaded: number }[] | null>;
  /** Send a message to a peer on another node (best effort, like any relayed message). */
  relay(node: string, message: WebRtcRelay): void;
  /** Where messages for this node's peers are delivered (set by the WebSocket adapter). */
  onRelay: ((message: WebRtcRelay) => void) | null;
}
