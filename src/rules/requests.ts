/**
 * What the adapters hand the rules: protocol-neutral requests, filled from an HTTP query, a
 * BEP 15 packet or (later) a WebSocket message. Each adapter keeps one of each and reuses it;
 * byte fields point into the adapter's own buffers (no copy of a hash or a peer id).
 */
import { EVENT_NONE, type AnnounceEvent } from "../protocol/events.ts";

export class AnnounceRequest {
  /** The 20-byte info_hash at infoHash[infoHashOff ..]. */
  infoHash: Uint8Array = EMPTY;
  infoHashOff = 0;
  /** The 20-byte peer_id at peerId[peerIdOff ..]. */
  peerId: Uint8Array = EMPTY;
  peerIdOff = 0;
  /**
   * The announcer as the swarm will list it: address family and wire record, address bytes
   * (4 or 16) then the port, big-endian: record[0 .. 6) or record[0 .. 18). The address is the
   * one the connection came from, never one the client claims.
   */
  family: 4 | 6 = 4;
  readonly record = new Uint8Array(18);
  /** `left` was exactly 0: the peer is a seeder. */
  leftIsZero = false;
  event: AnnounceEvent = EVENT_NONE;
  /** Peers the client asked for; -1 = it did not say. The rules default and cap it. */
  numwant = -1;
  /** The answer can carry both address families (HTTP: `peers` and `peers6`; UDP cannot). */
  bothFamilies = false;
  /** The client will be shown peer ids (HTTP compact=0 without no_peer_id=1). */
  wantsPeerIds = false;
  /** Bytes the client says it has sent and received in this session (private-mode accounting). */
  uploaded = 0;
  downloaded = 0;
  /**
   * The passkey from the announce URL (`/<passkey>/announce`, or BEP 41 URL data over UDP), or
   * null when the URL had none. Read only in private mode.
   */
  passkey: string | null = null;
}

/** A scrape: `count` info_hashes lying contiguously at hashes[hashesOff ..], 20 bytes each. */
export class ScrapeRequest {
  hashes: Uint8Array = EMPTY;
  hashesOff = 0;
  count = 0;
  /** As AnnounceRequest.passkey (`/<passkey>/scrape`). */
  passkey: string | null = null;
}

const EMPTY = new Uint8Array(0);

/**
 * A WebTorrent announce (WebSocket): the peer is its peer_id and its connection, in the WebRTC
 * swarms; `record`/`family` are the connection's address (for the per-address limits only).
 * Binary-string fields are the protocol's 20-character strings.
 */
export class WebRtcAnnounceRequest {
  infoHash = "";
  peerId = "";
  /** The connection the peer announced on (opaque to the rules). */
  conn: object = {};
  family: 4 | 6 = 4;
  readonly record = new Uint8Array(18);
  leftIsZero = false;
  event: AnnounceEvent = EVENT_NONE;
  /** Peers the client asked for (-1: did not say); at most one per offer is chosen. */
  numwant = -1;
  /** Offers it sent: each chosen peer gets one. */
  offers = 0;
  uploaded = 0;
  downloaded = 0;
  passkey: string | null = null;
}
