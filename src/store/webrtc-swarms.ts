/**
 * The swarms of WebRTC peers (WebTorrent over WebSocket). A browser peer cannot reach a TCP/UDP
 * peer, nor the reverse, so these are swarms of their own, beside the SwarmStore's: the same
 * info_hash has a TCP/UDP swarm there and a WebRTC swarm here, and each protocol's scrape reports
 * its own (README, "WebTorrent").
 *
 * A peer is its peer_id within a swarm and the connection it announced on (the tracker relays
 * offers and answers over that connection; there is no address to hand out). Keys are the
 * protocol's binary strings (20 characters, one per byte) used as they arrive: no conversion
 * per message. Connections are opaque here (`C`).
 *
 * Also kept here: the offers relayed and not yet answered (pending offers), so that an answer is
 * forwarded only to the peer that really sent that offer, for that swarm, to the answerer; each
 * is forgotten when answered, after offerTimeout seconds, or with the peer it went to. They
 * hang off that peer, keyed by the offer_id as it arrived (keying one global map by hash +
 * offer_id + peer_id cost a 60-character string per offer and answer, ~8% of the relay's CPU).
 * Memory: a peer is one object and two map entries (about 200 bytes); a pending offer one small
 * object and a map entry.
 */

export interface WebRtcPeer<C> {
  readonly id: string;
  readonly conn: C;
  readonly swarm: WebRtcSwarm<C>;
  seeder: boolean;
  /** Its completion has been counted in the swarm's downloaded. */
  counted: boolean;
  /** Last announce, Unix seconds. */
  seen: number;
  /** Position in swarm.list (for O(1) removal and random picks). */
  index: number;
  /** Offers relayed to this peer and not answered yet, by offer_id (null until the first). */
  pending: Map<string, PendingOffer> | null;
}

export class WebRtcSwarm<C> {
  readonly peers = new Map<string, WebRtcPeer<C>>();
  readonly list: WebRtcPeer<C>[] = [];
  seeders = 0;
  downloaded = 0;
  constructor(readonly infoHash: string) {}
}

/**
 * Unanswered offers kept per peer: about what a WebTorrent client connects to at once (webtorrent
 * keeps up to 55 connections per torrent), so an honest client's answers always find theirs.
 */
export const MAX_PENDING_PER_PEER = 64;

/** What an announce did (as the SwarmStore's statuses). */
export const WEBRTC_OK = 0;
export const WEBRTC_FULL_TORRENTS = 1;
export const WEBRTC_FULL_PEERS = 2;
export const WEBRTC_PEER_ID_TAKEN = 3;

export interface WebRtcLimits {
  maxTorrents: number;
  maxPeers: number;
  /** Seconds without an announce after which a peer is dropped (its connection may stay). */
  peerTimeout: number;
  /** Seconds a relayed offer waits for its answer. */
  offerTimeout: number;
  /** Most pending offers kept at once; past it, offers are not relayed. */
  maxPendingOffers: number;
}

export interface PendingOffer {
  /** The offerer's peer_id: the only peer the answer may go to. */
  from: string;
  /** The node the offerer is connected to, when the store is shared and it is another; else null. */
  node: string | null;
  expires: number;
}

export class WebRtcSwarms<C> {
  readonly swarms = new Map<string, WebRtcSwarm<C>>();
  peerCount = 0;
  /** Pending offers, all peers together (each peer keeps its own, by offer_id). */
  private pendingCount = 0;

  constructor(private readonly limits: WebRtcLimits) {}

  get pendingOffers(): number {
    return this.pendingCount;
  }

  /**
   * Record an announce: the peer joins (or is refreshed in) the swarm; `leaving` removes it;
   * `completed` counts one download per peer. Up to `numwant` other peers, chosen at random, are
   * written to `out` (its length is set). Returns a WEBRTC_* status; refused announces create
   * nothing.
   */
  announce(
    infoHash: string, peerId: string, conn: C, seeder: boolean, leaving: boolean, completed: boolean,
    numwant: number, now: number, out: WebRtcPeer<C>[],
  ): number {
    out.length = 0;
    let swarm = this.swarms.get(infoHash);
    if (leaving) {
      const peer = swarm?.peers.get(peerId);
      if (peer !== undefined && peer.conn === conn) this.removePeer(peer);
      return WEBRTC_OK;
    }
    let peer = swarm?.peers.get(peerId);
    // A peer_id belongs to the connection that announced it until that connection closes (or
    // the peer times out): peer_ids are shown to other peers with every relayed offer, and
    // taking one over would divert the offers meant for its owner.
    if (peer !== undefined && peer.conn !== conn) return WEBRTC_PEER_ID_TAKEN;
    if (peer === undefined) {
      if (swarm === undefined && this.swarms.size >= this.limits.maxTorrents) return WEBRTC_FULL_TORRENTS;
      if (this.peerCount >= this.limits.maxPeers) return WEBRTC_FULL_PEERS;
      if (swarm === undefined) {
        swarm = new WebRtcSwarm<C>(infoHash);
        this.swarms.set(infoHash, swarm);
      }
      peer = { id: peerId, conn, swarm, seeder: false, counted: false, seen: now, index: swarm.list.length, pending: null };
      swarm.peers.set(peerId, peer);
      swarm.list.push(peer);
      this.peerCount++;
    }
    const s = swarm!;
    if (seeder !== peer.seeder) {
      s.seeders += seeder ? 1 : -1;
      peer.seeder = seeder;
    }
    if (completed && !peer.counted) {
      peer.counted = true;
      s.downloaded++;
    }
    peer.seen = now;
    this.pick(s, peer, numwant, out);
    return WEBRTC_OK;
  }

  /** Up to n random peers of the swarm other than `self`, distinct, into out. */
  private pick(s: WebRtcSwarm<C>, self: WebRtcPeer<C>, n: number, out: WebRtcPeer<C>[]): void {
    const list = s.list;
    const others = list.length - 1;
    if (n <= 0 || others <= 0) return;
    if (others <= n) {
      for (const p of list) if (p !== self) out.push(p);
      return;
    }
    // n is small (offers per announce): random draws, skipping repeats.
    for (let tries = 0; out.length < n && tries < n * 8; tries++) {
      const p = list[Math.floor(Math.random() * list.length)]!;
      if (p !== self && !out.includes(p)) out.push(p);
    }
  }

  /** Counts of one swarm (zeros when there is none). */
  counts(infoHash: string): { complete: number; incomplete: number; downloaded: number } {
    const s = this.swarms.get(infoHash);
    if (s === undefined) return { complete: 0, incomplete: 0, downloaded: 0 };
    return { complete: s.seeders, incomplete: s.list.length - s.seeders, downloaded: s.downloaded };
  }

  /**
   * Remove what the connection announced (it closed), given each peer it announced as
   * info_hash + peer_id (40 characters).
   */
  removeConnection(conn: C, joined: Iterable<string>): void {
    for (const key of joined) {
      const peer = this.swarms.get(key.slice(0, 20))?.peers.get(key.slice(20));
      if (peer !== undefined && peer.conn === conn) this.removePeer(peer);
    }
  }

  removePeer(peer: WebRtcPeer<C>): void {
    const s = peer.swarm;
    if (s.peers.get(peer.id) !== peer) return;
    s.peers.delete(peer.id);
    const last = s.list.pop()!;
    if (last !== peer) {
      s.list[peer.index] = last;
      last.index = peer.index;
    }
    if (peer.seeder) s.seeders--;
    if (peer.pending !== null) this.pendingCount -= peer.pending.size;
    this.peerCount--;
    // A swarm with completions keeps its count while it has peers; an empty one goes (as in
    // bittorrent-tracker: WebRTC swarms live as long as their peers).
    if (s.list.length === 0) this.swarms.delete(s.infoHash);
  }

  /**
   * Remember an offer relayed to peer `to`: its answer may go back to `from` only. A peer keeps
   * at most MAX_PENDING_PER_PEER (the oldest goes first: a client answers the offers it will
   * use soon or not at all), so offers nobody answers cannot pile up behind one peer.
   */
  addOffer(to: WebRtcPeer<C>, offerId: string, from: string, now: number, node: string | null = null): boolean {
    if (this.pendingCount >= this.limits.maxPendingOffers) return false;
    const pending = (to.pending ??= new Map());
    if (pending.size >= MAX_PENDING_PER_PEER) {
      pending.delete(pending.keys().next().value!);
      this.pendingCount--;
    }
    const size = pending.size;
    pending.set(offerId, { from, node, expires: now + this.limits.offerTimeout });
    this.pendingCount += pending.size - size; // an offer_id sent again replaces its entry
    return true;
  }

  /**
   * Whether `answerer` may answer offer `offerId` of `toPeerId`: that offer went to it (in its
   * swarm) and has not expired or been answered. The pending offer is used up either way.
   * Returns it when the answer may go (its `node` says where the offerer is), else null.
   */
  takeOffer(answerer: WebRtcPeer<C>, offerId: string, toPeerId: string, now: number): PendingOffer | null {
    const p = answerer.pending?.get(offerId);
    if (p === undefined) return null;
    answerer.pending!.delete(offerId);
    this.pendingCount--;
    return p.from === toPeerId && p.expires >= now ? p : null;
  }

  /** The peer `peerId` of a swarm, or undefined. */
  peer(infoHash: string, peerId: string): WebRtcPeer<C> | undefined {
    return this.swarms.get(infoHash)?.peers.get(peerId);
  }

  /** Drop peers not seen for peerTimeout and expired offers; returns the peers removed. */
  sweep(now: number): number {
    let removed = 0;
    const oldest = now - this.limits.peerTimeout;
    for (const s of [...this.swarms.values()]) {
      for (let i = s.list.length - 1; i >= 0; i--) {
        const p = s.list[i]!;
        if (p.seen < oldest) {
          this.removePeer(p);
          removed++;
        }
      }
    }
    for (const s of this.swarms.values()) {
      for (const p of s.list) {
        if (p.pending === null) continue;
        for (const [offerId, o] of p.pending) {
          if (o.expires >= now) continue;
          p.pending.delete(offerId);
          this.pendingCount--;
        }
      }
    }
    return removed;
  }
}
