/**
 * What the rules answer: caller-owned result objects, reused from request to request (the
 * adapters keep one each), filled by the rules and the store, read by the encoders. They extend
 * the store's part of the answer (store.ts), so the store fills them without knowing the rules.
 */
import { AnnounceCounts, ScrapeCounts, type WebRtcMember, WebRtcDirectoryResult } from "../store/store.ts";
import type { WebRtcPeer } from "../store/webrtc-swarms.ts";

/** The answer to one announce. */
export class AnnounceResult extends AnnounceCounts {
  /** Null when served; else the refusal, for a `failure reason` or an error packet. */
  refusal: string | null = null;
  /** With a refusal: seconds after which a retry may succeed (BEP 31 `retry in`), or -1. */
  retryIn = -1;
  /** Seconds until the next regular announce, and the least a client must wait. */
  interval = 0;
  minInterval = 0;
  /**
   * Every chosen peer's id is known (meaningful when the request wanted ids). An answer that
   * lists peers as dictionaries (BEP 3, HTTP compact=0) needs them; without them the adapter
   * answers in the compact form, which BEP 23 allows whatever was asked.
   */
  peerIdsKnown = false;

  reset(): void {
    this.refusal = null;
    this.retryIn = -1;
    this.peerIdsKnown = false;
    this.clearCounts();
  }
}

/** The answer to one scrape: counts per asked torrent, in the order asked. */
export class ScrapeResult extends ScrapeCounts {
  /** Null when served; else the refusal. */
  refusal: string | null = null;
  /** With a refusal: seconds after which a retry may succeed (BEP 31 `retry in`), or -1. */
  retryIn = -1;
  /** The request asked for every torrent (no info_hash) and full scrape is on. */
  full = false;
  /** Torrents answered (complete/downloaded/incomplete[0 .. count)). */
  count = 0;
  /**
   * Per asked torrent, 1 when the access list refuses it (its counts are then zeros: HTTP leaves
   * it out of `files`, UDP answers the zeros of an unknown torrent). Only set when `refused > 0`.
   */
  readonly refusedAt: Uint8Array;
  /** How many of the asked torrents are refused. */
  refused = 0;

  constructor(capacity: number) {
    super(capacity);
    this.refusedAt = new Uint8Array(capacity);
  }

  reset(): void {
    this.refusal = null;
    this.retryIn = -1;
    this.full = false;
    this.count = 0;
    if (this.refused > 0) this.refusedAt.fill(0);
    this.refused = 0;
  }
}

/** The answer to a WebTorrent announce: counts, and the peers to relay the offers to. */
export class WebRtcAnnounceResult {
  refusal: string | null = null;
  retryIn = -1;
  complete = 0;
  incomplete = 0;
  interval = 0;
  /** The chosen peers connected here, one offer each, in order (reused array). */
  readonly peers: WebRtcPeer<object>[] = [];
  /** With a shared store: the chosen peers connected to other nodes; they get the next offers. */
  readonly remote: WebRtcMember[] = [];
  /** With a shared store: what the directory answered (reused). */
  readonly shared = new WebRtcDirectoryResult();
}
