/**
 * The WebRTC (WebTorrent) swarms shared by the nodes of one Redis: the store contract's
 * WebRtcDirectory (store.ts).
 *
 * Membership and counts use the same scripts as the TCP/UDP swarms (scripts.ts), on keys of
 * their own (`sc6w:{<hex>}`, `:4`; the family is always "4"), with a member made of the node's
 * id (8 characters) and the peer_id (20 latin1 characters): a peer is known by the node it is
 * connected to. The chosen members come back packed, 28 characters each.
 *
 * Relaying: each node subscribes to its own channel `sc6w:node:<id>`; an offer or answer for a
 * peer on another node is PUBLISHed there as JSON (the WebSocket text to deliver, and what the
 * receiver needs to remember a pending offer). Pub/sub is fire-and-forget, as a relayed
 * WebSocket message is: a node that is gone loses it, and the offerer's client tries other
 * peers. Only nodes that can write to Redis can publish, so a relayed answer that arrives was
 * checked by the node its answerer is connected to.
 */
import {
  STORE_OK, STORE_UNAVAILABLE, type StoreStatus, type WebRtcDirectory, type WebRtcDirectoryResult, type WebRtcRelay,
} from "../store.ts";
import type { RedisLink } from "./redis-link.ts";
import { announceScript, SCRAPE_SCRIPT, scriptSha, type ScriptSettings } from "./scripts.ts";

/** Characters of a node id (hex). */
const NODE_ID_LENGTH = 8;
const MEMBER_LENGTH = NODE_ID_LENGTH + 20;
const SCRAPE_SHA = scriptSha(SCRAPE_SCRIPT);

/** The swarm's key prefix `sc6w:{<40 hex>}` for an info_hash given as a 20-character binary string. */
export function webrtcKey(infoHash: string): string {
  let s = "sc6w:{";
  for (let i = 0; i < 20; i++) s += (infoHash.charCodeAt(i) & 255).toString(16).padStart(2, "0");
  return `${s}}`;
}

export function channelOf(node: string): string {
  return `sc6w:node:${node}`;
}

export class RedisWebRtcDirectory implements WebRtcDirectory {
  readonly node: string;
  onRelay: ((message: WebRtcRelay) => void) | null = null;
  private readonly script: string;
  private readonly sha: string;

  constructor(private readonly link: RedisLink, settings: ScriptSettings) {
    this.node = Buffer.from(crypto.getRandomValues(new Uint8Array(NODE_ID_LENGTH / 2))).toString("hex");
    this.script = announceScript(settings);
    this.sha = scriptSha(this.script);
    link.subscribe(channelOf(this.node), (text) => this.received(text));
  }

  ready(): boolean {
    return this.link.ready();
  }

  announce(
    infoHash: string, peerId: string, seeder: boolean, leaving: boolean, completed: boolean, numwant: number,
    now: number, out: WebRtcDirectoryResult,
  ): Promise<StoreStatus> {
    out.chosen.length = 0;
    if (!this.link.ready()) return Promise.resolve(STORE_UNAVAILABLE);
    const key = webrtcKey(infoHash);
    const flags = `4${seeder ? 1 : 0}${leaving ? 1 : 0}${completed ? 1 : 0}0`;
    const args = [
      this.sha, "3", key, `${key}:4`, `${key}:6`, this.node + peerId, flags, String(now), String(numwant),
      String((Math.random() * 0x4000_0000) >>> 0),
    ];
    return this.link.evalsha(this.script, args).then(
      (reply: [number, number, number, string, string]) => {
        out.complete = reply[0];
        out.incomplete = reply[1];
        out.downloaded = reply[2];
        const packed = reply[3];
        for (let o = 0; o + MEMBER_LENGTH <= packed.length; o += MEMBER_LENGTH) {
          out.chosen.push({ node: packed.slice(o, o + NODE_ID_LENGTH), peerId: packed.slice(o + NODE_ID_LENGTH, o + MEMBER_LENGTH) });
        }
        return STORE_OK as StoreStatus;
      },
      () => STORE_UNAVAILABLE as StoreStatus,
    );
  }

  scrape(infoHashes: string[]): Promise<{ complete: number; incomplete: number; downloaded: number }[] | null> {
    if (!this.link.ready()) return Promise.resolve(null);
    const replies = infoHashes.map((h) => {
      const key = webrtcKey(h);
      return this.link.evalsha(SCRAPE_SCRIPT, [SCRAPE_SHA, "3", key, `${key}:4`, `${key}:6`]) as Promise<[number, number, number]>;
    });
    return Promise.all(replies).then(
      (all) => all.map((r) => ({ complete: r[0], incomplete: r[1], downloaded: r[2] })),
      () => null,
    );
  }

  relay(node: string, message: WebRtcRelay): void {
    this.link.send("PUBLISH", [channelOf(node), JSON.stringify(message)]).catch(() => {});
  }

  private received(text: string): void {
    let m: WebRtcRelay;
    try {
      m = JSON.parse(text) as WebRtcRelay;
    } catch {
      return; // not ours: only nodes publish here
    }
    try {
      this.onRelay?.(m);
    } catch (e) {
      console.error("webrtc relay: unexpected error", e);
    }
  }
}
