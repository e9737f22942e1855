/**
 * The WebTorrent tracker protocol (WebSocket text frames of JSON), as the npm
 * `bittorrent-tracker` client and server speak it, and webtorrent and its forks use it:
 *
 *   announce  {"action":"announce","info_hash","peer_id","uploaded","downloaded","left",
 *              "event"?,"numwant"?,"offers"?:[{"offer":{"type","sdp"},"offer_id"}]}
 *   answer    {"action":"announce","info_hash","peer_id","to_peer_id","answer","offer_id"}
 *   scrape    {"action":"scrape","info_hash": string | string[]}   (absent: every torrent)
 *
 * info_hash, peer_id, to_peer_id and offer_id are "binary strings": 20 characters, one per byte
 * (codes 0-255). `left` may be missing or not a number (a peer that does not say is a leecher,
 * as in bittorrent-tracker); `event` may be started, stopped, completed, paused, absent or ""
 * (some clients send it empty). Pure: JSON in, a checked request out; answers built as strings.
 *
 * Answers (what the clients check): every announce-related message carries `action` and the
 * binary `info_hash` (the npm client drops a message whose info_hash is not its torrent's, even a
 * failure); a relayed offer or answer carries the sender's `peer_id` and the `offer_id`.
 */
import { EVENT_COMPLETED, EVENT_NONE, EVENT_PAUSED, EVENT_STARTED, EVENT_STOPPED, type AnnounceEvent } from "./events.ts";

/** A checked announce (with offers, or an answer to one). */
export interface WsAnnounce {
  kind: "announce";
  infoHash: string;
  peerId: string;
  /** Exactly `left = 0`: a seeder. */
  leftIsZero: boolean;
  uploaded: number;
  downloaded: number;
  event: AnnounceEvent;
  /** -1 when absent. */
  numwant: number;
  /** Offers as sent: `offer` objects are relayed as they came. */
  offers: WsOffer[];
  /** With an answer: the offerer it goes to, the offer it answers, the answer itself. */
  answer: { toPeerId: string; offerId: string; answer: unknown } | null;
}

export interface WsOffer {
  offerId: string;
  offer: unknown;
}

export interface WsScrape {
  kind: "scrape";
  /** Binary info_hashes; empty: a full scrape. */
  infoHashes: string[];
}

/** A request that cannot be served: why, and what the failure answer can name. */
export interface WsBad {
  kind: "bad";
  reason: string;
  action: "announce" | "scrape" | null;
  infoHash: string | null;
}

export type WsRequest = WsAnnounce | WsScrape | WsBad;

/** A 20-character string of byte-sized characters. */
export function isBinary20(v: unknown): v is string {
  if (typeof v !== "string" || v.length !== 20) return false;
  for (let i = 0; i < 20; i++) if (v.charCodeAt(i) > 0xff) return false;
  return true;
}

/** A non-negative count as the clients send it (a number, or digits in a string); else NaN. */
function count(v: unknown): number {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  return n >= 0 ? n : NaN;
}

const EVENTS: Record<string, AnnounceEvent> = {
  started: EVENT_STARTED, stopped: EVENT_STOPPED, completed: EVENT_COMPLETED, paused: EVENT_PAUSED, "": EVENT_NONE, update: EVENT_NONE,
};

/**
 * Check one decoded message. `maxOffers`: more is refused (not truncated: the client would wait
 * for answers to offers that were never sent); `maxHashes`: the most info_hashes in a scrape.
 */
export function readWsRequest(msg: unknown, maxOffers: number, maxHashes: number): WsRequest {
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return bad("a message must be a JSON object", null, null);
  const m = msg as Record<string, unknown>;
  if (m.action === "scrape") return readScrape(m, maxHashes);
  if (m.action !== "announce") return bad(`unknown action: ${typeof m.action === "string" ? m.action.slice(0, 40) : String(m.action)}`, null, null);
  const infoHash = isBinary20(m.info_hash) ? m.info_hash : null;
  if (infoHash === null) return bad("invalid info_hash: a 20-character binary string", "announce", null);
  if (!isBinary20(m.peer_id)) return bad("invalid peer_id: a 20-character binary string", "announce", infoHash);
  const peerId = m.peer_id;
  if (m.answer !== undefined) {
    if (!isBinary20(m.to_peer_id)) return bad("invalid to_peer_id (required with an answer)", "announce", infoHash);
    if (!isBinary20(m.offer_id)) return bad("invalid offer_id (required with an answer)", "announce", infoHash);
    if (typeof m.answer !== "object" || m.answer === null) return bad("invalid answer: an object", "announce", infoHash);
  }
  const event = m.event === undefined || m.event === null ? EVENT_NONE : EVENTS[String(m.event)];
  if (event === undefined) return bad("invalid event", "announce", infoHash);
  const offers: WsOffer[] = [];
  if (m.offers !== undefined) {
    if (!Array.isArray(m.offers)) return bad("invalid offers: an array", "announce", infoHash);
    if (m.offers.length > maxOffers) return bad(`too many offers (at most ${maxOffers})`, "announce", infoHash);
    for (const o of m.offers as unknown[]) {
      const offer = typeof o === "object" && o !== null ? (o as Record<string, unknown>) : null;
      if (offer === null || !isBinary20(offer.offer_id) || typeof offer.offer !== "object" || offer.offer === null) {
        return bad("invalid offer: {offer: object, offer_id: 20-character binary string}", "announce", infoHash);
      }
      offers.push({ offerId: offer.offer_id, offer: offer.offer });
    }
  }
  const numwant = m.numwant === undefined ? -1 : count(m.numwant);
  if (Number.isNaN(numwant)) return bad("invalid numwant", "announce", infoHash);
  const left = m.left === undefined ? NaN : count(m.left);
  return {
    kind: "announce",
    infoHash,
    peerId,
    leftIsZero: left === 0,
    uploaded: count(m.uploaded) || 0,
    downloaded: count(m.downloaded) || 0,
    event,
    numwant,
    offers,
    answer: m.answer === undefined ? null : { toPeerId: m.to_peer_id as string, offerId: m.offer_id as string, answer: m.answer },
  };
}

function readScrape(m: Record<string, unknown>, maxHashes: number): WsRequest {
  const v = m.info_hash;
  if (v === undefined) return { kind: "scrape", infoHashes: [] };
  const list = typeof v === "string" ? [v] : Array.isArray(v) ? (v as unknown[]) : null;
  if (list === null) return bad("invalid info_hash: a string or an array of strings", "scrape", null);
  if (list.length > maxHashes) return bad(`too many info_hash values in one scrape (at most ${maxHashes})`, "scrape", null);
  for (const h of list) if (!isBinary20(h)) return bad("invalid info_hash: a 20-character binary string", "scrape", null);
  return { kind: "scrape", infoHashes: list as string[] };
}

function bad(reason: string, action: WsBad["action"], infoHash: string | null): WsBad {
  return { kind: "bad", reason, action, infoHash };
}

// ---- answers --------------------------------------------------------------------------------
// The builders take their string fields already JSON-encoded (`...Json`, from JSON.stringify):
// one message's info_hash and peer_id go into its answer and into every offer it relays, and
// binary strings are mostly escapes, so each is encoded once per message, not once per use.

export function announceAnswer(infoHashJson: string, complete: number, incomplete: number, interval: number): string {
  return `{"action":"announce","info_hash":${infoHashJson},"complete":${complete},"incomplete":${incomplete},"interval":${interval}}`;
}

/** The offer relayed to a peer (the offer object serialised as it came). */
export function relayedOffer(infoHashJson: string, fromPeerIdJson: string, offerJson: string, offerIdJson: string): string {
  return `{"action":"announce","info_hash":${infoHashJson},"peer_id":${fromPeerIdJson},"offer":${offerJson},"offer_id":${offerIdJson}}`;
}

export function relayedAnswer(infoHashJson: string, fromPeerIdJson: string, answerJson: string, offerIdJson: string): string {
  return `{"action":"announce","info_hash":${infoHashJson},"peer_id":${fromPeerIdJson},"answer":${answerJson},"offer_id":${offerIdJson}}`;
}

export function scrapeAnswer(files: { infoHash: string; complete: number; incomplete: number; downloaded: number }[]): string {
  let s = '{"action":"scrape","files":{';
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    if (i > 0) s += ",";
    s += `${JSON.stringify(f.infoHash)}:{"complete":${f.complete},"incomplete":${f.incomplete},"downloaded":${f.downloaded}}`;
  }
  return s + "}}";
}

/** `{"failure reason": ...}` with the action and info_hash when known (clients match on them). */
export function failureAnswer(reason: string, action: "announce" | "scrape" | null, infoHash: string | null): string {
  const parts = [`"failure reason":${JSON.stringify(reason)}`];
  if (action !== null) parts.push(`"action":"${action}"`);
  if (infoHash !== null) parts.push(`"info_hash":${JSON.stringify(infoHash)}`);
  return `{${parts.join(",")}}`;
}
