/**
 * BEP 15 requests as the load generator writes them, and the checks on the answers.
 * Pure: no sockets, no clock. Writers fill a caller-owned Buffer and return the length;
 * checkReply never throws and returns a code (>= 0 valid, < 0 a kind of invalid).
 *
 * Layouts (all integers big-endian):
 *   connect req   0 protocol_id u64 = 0x41727101980 | 8 action=0 | 12 txid             (16)
 *   announce req  0 connection_id | 8 action=1 | 12 txid | 16 info_hash[20] | 36 peer_id[20]
 *                 | 56 downloaded u64 | 64 left u64 | 72 uploaded u64 | 80 event u32
 *                 | 84 ip u32 (0) | 88 key u32 | 92 num_want i32 | 96 port u16            (98)
 *   scrape req    0 connection_id | 8 action=2 | 12 txid | 16 info_hash[20] * n     (16+20n)
 *   connect ans   0 action=0 | 4 txid | 8 connection_id                                  (16)
 *   announce ans  0 action=1 | 4 txid | 8 interval | 12 leechers | 16 seeders | 20 peers
 *                 (6 bytes each from an IPv4 socket, 18 from IPv6)                    (20+6n)
 *   scrape ans    0 action=2 | 4 txid | 8 (seeders, completed, leechers) u32 * n     (8+12n)
 *   error ans     0 action=3 | 4 txid | 8 message
 */
export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
export const ACTION_ERROR = 3;

const PROTOCOL_ID_HI = 0x417;
const PROTOCOL_ID_LO = 0x27101980;

export const CONNECT_REQUEST_SIZE = 16;
export const ANNOUNCE_REQUEST_SIZE = 98;

export function writeConnectRequest(buf: Buffer, txid: number): number {
  buf.writeUInt32BE(PROTOCOL_ID_HI, 0);
  buf.writeUInt32BE(PROTOCOL_ID_LO, 4);
  buf.writeUInt32BE(ACTION_CONNECT, 8);
  buf.writeUInt32BE(txid >>> 0, 12);
  return CONNECT_REQUEST_SIZE;
}

/** The per-client fields of an announce; one reused object, filled before each write. */
export interface AnnounceFields {
  connHi: number;
  connLo: number;
  txid: number;
  /** Torrent index into infoHashes, client index into peerIds. */
  torrent: number;
  client: number;
  left: number;
  event: number;
  key: number;
  numwant: number;
  port: number;
}

export function writeAnnounceRequest(buf: Buffer, f: AnnounceFields, infoHashes: Buffer, peerIds: Buffer): number {
  buf.writeUInt32BE(f.connHi >>> 0, 0);
  buf.writeUInt32BE(f.connLo >>> 0, 4);
  buf.writeUInt32BE(ACTION_ANNOUNCE, 8);
  buf.writeUInt32BE(f.txid >>> 0, 12);
  infoHashes.copy(buf, 16, f.torrent * 20, f.torrent * 20 + 20);
  peerIds.copy(buf, 36, f.client * 20, f.client * 20 + 20);
  writeU64(buf, 56, 0);
  writeU64(buf, 64, f.left);
  writeU64(buf, 72, 0);
  buf.writeUInt32BE(f.event, 80);
  buf.writeUInt32BE(0, 84);
  buf.writeUInt32BE(f.key >>> 0, 88);
  buf.writeInt32BE(f.numwant, 92);
  buf.writeUInt16BE(f.port, 96);
  return ANNOUNCE_REQUEST_SIZE;
}

export function writeScrapeRequest(
  buf: Buffer,
  connHi: number,
  connLo: number,
  txid: number,
  infoHashes: Buffer,
  torrents: Int32Array,
  n: number,
): number {
  buf.writeUInt32BE(connHi >>> 0, 0);
  buf.writeUInt32BE(connLo >>> 0, 4);
  buf.writeUInt32BE(ACTION_SCRAPE, 8);
  buf.writeUInt32BE(txid >>> 0, 12);
  for (let i = 0; i < n; i++) {
    const t = torrents[i]!;
    infoHashes.copy(buf, 16 + 20 * i, t * 20, t * 20 + 20);
  }
  return 16 + 20 * n;
}

/** Non-negative integers below 2^53 as u64. */
function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / 4294967296), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/* Invalid reply codes. */
export const BAD_SHORT = -1;
export const BAD_ACTION = -2;
export const BAD_SIZE = -3;
export const BAD_COUNTS = -4;
export const TRACKER_ERROR = -5;

/**
 * Checks an answer whose transaction id already matched a request of action `action`.
 * `expected` is num_want for an announce (negative: no limit) and the hash count for a
 * scrape. Returns the number of peers for a valid announce, 0 for other valid answers,
 * or one of the negative codes above.
 */
export function checkReply(buf: Buffer, action: number, expected: number, peerSize: number): number {
  const len = buf.length;
  if (len < 8) return BAD_SHORT;
  const got = buf.readUInt32BE(0);
  if (got === ACTION_ERROR && action !== ACTION_ERROR) return TRACKER_ERROR;
  if (got !== action) return BAD_ACTION;
  switch (action) {
    case ACTION_CONNECT:
      return len === 16 ? 0 : BAD_SIZE;
    case ACTION_ANNOUNCE: {
      if (len < 20 || (len - 20) % peerSize !== 0) return BAD_SIZE;
      const peers = (len - 20) / peerSize;
      const leechers = buf.readUInt32BE(12);
      const seeders = buf.readUInt32BE(16);
      if (expected >= 0 && peers > expected) return BAD_COUNTS;
      if (peers > leechers + seeders) return BAD_COUNTS;
      return peers;
    }
    case ACTION_SCRAPE:
      return len === 8 + 12 * expected ? 0 : BAD_SIZE;
    default:
      return BAD_ACTION;
  }
}

export function describeBad(code: number, buf: Buffer): string {
  const head = buf.toString("hex", 0, Math.min(buf.length, 24));
  switch (code) {
    case BAD_SHORT:
      return `short reply (${buf.length} bytes)`;
    case BAD_ACTION:
      return `unexpected action ${buf.length >= 4 ? buf.readUInt32BE(0) : "?"} (${head})`;
    case BAD_SIZE:
      return `size ${buf.length} inconsistent with the request (${head})`;
    case BAD_COUNTS:
      return `peer count inconsistent with numwant/seeders+leechers (${head})`;
    case TRACKER_ERROR:
      return `tracker error: ${buf.toString("latin1", 8, Math.min(buf.length, 200))}`;
    default:
      return `invalid (${code})`;
  }
}
