/**
 * The swarm store on Redis or Valkey, shared by every tracker node pointed at it: the same
 * contract as the in-memory store (store.ts), asynchronous. One EVALSHA per announce does, for
 * one torrent, what the in-memory store does in one call (scripts.ts has the keys, the Lua and
 * the reasoning about encoding and cost); a scrape is one script call per torrent, all sent in
 * the same turn, so they leave in one pipelined batch.
 *
 * What differs from the in-memory store, on purpose:
 * - capacity (max-torrents, max-peers) is Redis's to enforce (maxmemory): a node cannot count
 *   what the others add without a round trip of its own;
 * - peer ids are not kept (peerIdState "off"): an HTTP compact=0 request is answered compact,
 *   as BEP 23 allows;
 * - expiry is Redis's: peers past peer-timeout are dropped by the scripts, idle torrents by TTL
 *   (torrent-retention), so sweepStep has nothing to do;
 * - this node does not know the totals (peers, torrents across nodes): figures() reports zeros
 *   and health() says which store is in use, whether it answers and its round trip.
 */
import {
  type AnnounceCounts, type PeerIdState, type ScrapeCounts, STORE_OK, STORE_REFUSED_TORRENT, STORE_UNAVAILABLE,
  type StoreAnnounce, type StoreFigures, type StoreHealth, type StoreStatus, type SweepReport, type SwarmStore,
  type TorrentOrder,
} from "../store.ts";
import { RedisLink } from "./redis-link.ts";
import { announceScript, SCRAPE_SCRIPT, scriptSha } from "./scripts.ts";
import { RedisWebRtcDirectory } from "./webrtc-directory.ts";

export interface RedisStoreLimits {
  /** Seconds without an announce before a peer is dropped. */
  peerTimeout: number;
  /** Seconds a torrent with no announce at all is kept (its keys' TTL). */
  torrentRetention: number;
}

const SCRAPE_SHA = scriptSha(SCRAPE_SCRIPT);
/** The key holding the UDP connection-id secret the nodes share (when none is configured). */
const UDP_SECRET_KEY = "sc6:udp-secret";

const EMPTY = Buffer.alloc(0);
const NO_SWEEP: SweepReport = { removedPeers: 0, removedTorrents: 0, maxPeers: 0, micros: 0, longestSliceMicros: 0 };
const EMPTY_ORDER: TorrentOrder = { count: 0, visit() {} };

/**
 * The announce script's flags argument by bits (16: IPv6, 8: seeder, 4: leaving, 2: completed,
 * 1: both families): family char then four "1"/"0" (see scripts.ts).
 */
const FLAGS = Array.from({ length: 32 }, (_, i) =>
  (i & 16 ? "6" : "4") + [8, 4, 2, 1].map((bit) => (i & bit ? "1" : "0")).join(""),
);

/** Two lowercase hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The torrent's key prefix `sc6:{<40 hex>}`: the braces are its Redis Cluster hash tag. */
export function torrentKey(hash: Uint8Array, off: number): string {
  let s = "sc6:{";
  for (let i = off; i < off + 20; i++) s += HEX[hash[i]!]!;
  return `${s}}`;
}

/** Bytes as a latin1 string, one char per byte (how members travel; see scripts.ts). */
export function latin1Of(bytes: Uint8Array, off: number, len: number): string {
  let s = "";
  for (let i = off; i < off + len; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

export class RedisStore implements SwarmStore {
  readonly async = true;
  readonly link: RedisLink;
  readonly lastSweep = NO_SWEEP;
  readonly longestSweepSliceMicros = 0;
  readonly peerCount = 0;
  readonly torrentCount = 0;
  /** Requests refused because Redis could not answer. */
  private unavailable = 0;
  /** The WebRTC swarms, shared across the nodes too (webrtc-directory.ts). */
  readonly webrtcDirectory: RedisWebRtcDirectory;
  private keep: ((infoHash: Uint8Array, off: number) => boolean) | null = null;
  private readonly announceScript: string;
  private readonly announceSha: string;

  constructor(link: RedisLink, limits: RedisStoreLimits) {
    this.link = link;
    this.announceScript = announceScript(limits);
    this.announceSha = scriptSha(this.announceScript);
    link.scripts.push(this.announceScript, SCRAPE_SCRIPT);
    this.webrtcDirectory = new RedisWebRtcDirectory(link, limits);
  }

  announce(a: StoreAnnounce, res: AnnounceCounts): StoreStatus | Promise<StoreStatus> {
    // Asked on every announce (there is no torrent row to remember the verdict in): one lookup
    // in the list, small next to the round trip.
    if (this.keep !== null && !this.keep(a.infoHash, a.infoHashOff)) return STORE_REFUSED_TORRENT;
    if (!this.link.ready()) return this.down();
    const key = torrentKey(a.infoHash, a.infoHashOff);
    const family = a.family;
    const bothFamilies = a.bothFamilies;
    // Everything is read from `a` before the await: the rules reuse it for the next request.
    const args = [
      this.announceSha, "3", key, `${key}:4`, `${key}:6`,
      latin1Of(a.record, a.recordOff, family === 4 ? 6 : 18),
      FLAGS[(family === 4 ? 0 : 16) | (a.seeder ? 8 : 0) | (a.leaving ? 4 : 0) | (a.completed ? 2 : 0) | (bothFamilies ? 1 : 0)]!,
      String(a.now),
      String(a.numwant),
      String((Math.random() * 0x4000_0000) >>> 0),
    ];
    return this.link.evalsha(this.announceScript, args).then(
      (reply: [number, number, number, string, string]) => {
        res.complete = reply[0];
        res.incomplete = reply[1];
        res.downloaded = reply[2];
        fillWindow(res, family, reply[3]);
        if (bothFamilies) fillWindow(res, family === 4 ? 6 : 4, reply[4]);
        return STORE_OK;
      },
      () => this.down(),
    );
  }

  scrape(hashes: Uint8Array, off: number, count: number, res: ScrapeCounts): Promise<StoreStatus> {
    if (!this.link.ready()) return Promise.resolve(this.down());
    const replies: Promise<[number, number, number]>[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const key = torrentKey(hashes, off + i * 20);
      replies[i] = this.link.evalsha(SCRAPE_SCRIPT, [SCRAPE_SHA, "3", key, `${key}:4`, `${key}:6`]);
    }
    return Promise.all(replies).then(
      (all) => {
        for (let i = 0; i < count; i++) {
          const r = all[i]!;
          res.complete[i] = r[0];
          res.incomplete[i] = r[1];
          res.downloaded[i] = r[2];
        }
        return STORE_OK;
      },
      () => this.down(),
    );
  }

  private down(): StoreStatus {
    this.unavailable++;
    return STORE_UNAVAILABLE;
  }

  /**
   * The UDP connection-id secret every node shares when none is configured: made by the first
   * node that asks (SET NX), read by the others.
   */
  async sharedSecret(): Promise<string> {
    const fresh = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("hex");
    await this.link.send("SET", [UDP_SECRET_KEY, fresh, "NX"]);
    return String(await this.link.send("GET", [UDP_SECRET_KEY]));
  }

  health(): StoreHealth {
    const l = this.link;
    return {
      kind: "redis", where: l.where, up: l.up, rttMs: l.medianRttMs(),
      unavailable: this.unavailable, disconnects: l.disconnects,
    };
  }

  close(): void {
    this.link.close();
  }

  setTorrentFilter(keep: ((infoHash: Uint8Array, off: number) => boolean) | null): void {
    this.keep = keep;
  }

  /** Expiry is Redis's (scripts.ts): nothing to sweep here. */
  sweepStep(_now: number): boolean {
    return false;
  }

  figures(): StoreFigures {
    return { torrents: 0, peers: 0, peersIPv4: 0, peersIPv6: 0, seeders: 0, bytes: 0, peerIdBytes: 0, peerIdState: "off" };
  }

  peerIdState(): PeerIdState {
    return "off";
  }

  usePeerIds(): void {}

  /** Full scrape is refused with a Redis store (config.ts): no order to give. */
  torrentsInHashOrder(): TorrentOrder {
    return EMPTY_ORDER;
  }

  *orderTorrents(): Generator<void, TorrentOrder> {
    return EMPTY_ORDER;
  }
}

/** Point the window of `family` at the packed records of a reply (latin1, see scripts.ts). */
function fillWindow(res: AnnounceCounts, family: 4 | 6, packed: string): void {
  const w = res.peers(family);
  if (packed.length === 0) return w.clear();
  const rec = Buffer.from(packed, "latin1");
  const n = Math.floor(rec.length / w.stride);
  w.set(rec, EMPTY, 0, 0, n, 0, n);
}
