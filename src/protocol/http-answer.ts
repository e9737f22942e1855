/**
 * The parts of the HTTP tracker's bencoded answers that do not depend on the swarm's storage:
 * pure writers over a caller-owned buffer (bencode.ts style: they return the new offset).
 *
 * An announce answer is one dictionary, keys in sorted raw-byte order:
 *   d 8:complete i..e 10:downloaded i..e 10:incomplete i..e 8:interval i..e 12:min interval i..e
 *     5:peers <compact records, or a list of dicts> [6:peers6 <compact IPv6 records>] e
 * writeAnnounceHead writes everything up to and including the `5:peers` key; the caller adds the
 * peers (copied straight from the swarm store), then the closing `e`.
 */
import { encodeAscii, writeInt, writeRaw } from "./bencode.ts";

const K_COMPLETE = encodeAscii("d8:complete");
const K_DOWNLOADED = encodeAscii("10:downloaded");
const K_INCOMPLETE = encodeAscii("10:incomplete");
const K_INTERVAL = encodeAscii("8:interval");
const K_MIN_INTERVAL = encodeAscii("12:min interval");
const K_PEERS = encodeAscii("5:peers");
/** The `peers6` key (BEP 7), after `peers`. */
export const K_PEERS6 = encodeAscii("6:peers6");
/** Opens a scrape answer: `d5:filesd`, then `20:<hash>` + writeScrapeCounts per torrent, then `ee`. */
export const K_FILES = encodeAscii("d5:filesd");

export function writeAnnounceHead(
  out: Uint8Array, complete: number, downloaded: number, incomplete: number, interval: number, minInterval: number,
): number {
  let o = writeCounts(out, 0, complete, downloaded, incomplete);
  o = writeRaw(out, o, K_INTERVAL);
  o = writeInt(out, o, interval);
  o = writeRaw(out, o, K_MIN_INTERVAL);
  o = writeInt(out, o, minInterval);
  return writeRaw(out, o, K_PEERS);
}

/** One torrent's counts in a scrape answer: `d8:complete i..e 10:downloaded i..e 10:incomplete i..e e`. */
export function writeScrapeCounts(out: Uint8Array, o: number, complete: number, downloaded: number, incomplete: number): number {
  o = writeCounts(out, o, complete, downloaded, incomplete);
  out[o] = 0x65; // 'e'
  return o + 1;
}

/** `d8:complete i..e 10:downloaded i..e 10:incomplete i..e`: opens both kinds of answer dict. */
function writeCounts(out: Uint8Array, o: number, complete: number, downloaded: number, incomplete: number): number {
  o = writeRaw(out, o, K_COMPLETE);
  o = writeInt(out, o, complete);
  o = writeRaw(out, o, K_DOWNLOADED);
  o = writeInt(out, o, downloaded);
  o = writeRaw(out, o, K_INCOMPLETE);
  return writeInt(out, o, incomplete);
}
