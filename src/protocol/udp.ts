/**
 * BEP 15 (UDP tracker protocol) codec, and BEP 41 URL data (readUrlData). Pure: no sockets, no clock.
 *
 * All integers on the wire are big-endian. Requests are parsed into one reused `UdpRequest`
 * (no object, string or view per packet); 20-byte hashes are left in the packet and given as
 * offsets. Answers are written into a caller-owned Buffer and the functions return a length.
 *
 * Never throws on network input: junk (too short, unknown action, connect without the magic)
 * is PARSE_DROP and must get no answer at all, so a spoofed source address cannot turn the
 * tracker into a reflector. PARSE_ERROR is a well-formed packet with a bad field; the server
 * answers it with `writeErrorResponse` only after the connection id has been verified, and
 * never with more bytes than the request carried.
 *
 * Fields are read with Buffer.readUInt32BE and friends: the fastest readers in Bun
 * (a DataView per packet costs more than the whole parse).
 */
import {
  EVENT_COMPLETED,
  EVENT_NONE,
  EVENT_STARTED,
  EVENT_STOPPED,
  type AnnounceEvent,
} from "./events.ts";

/** The connect request's magic 0x41727101980, as two u32 halves. */
export const PROTOCOL_ID_HI = 0x417;
export const PROTOCOL_ID_LO = 0x27101980;

export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
export const ACTION_ERROR = 3;

/** Parsed: act on `req`. */
export const PARSE_OK = 0;
/** Junk: send nothing back. */
export const PARSE_DROP = 1;
/** Well-formed but invalid: answer with an error packet carrying `req.error`. */
export const PARSE_ERROR = 2;

/** Request sizes. */
export const CONNECT_REQUEST_SIZE = 16;
export const ANNOUNCE_REQUEST_SIZE = 98;
export const SCRAPE_REQUEST_MIN_SIZE = 16 + 20;
/** Answer sizes (headers). */
export const CONNECT_RESPONSE_SIZE = 16;
export const ANNOUNCE_RESPONSE_HEADER_SIZE = 20;
export const SCRAPE_RESPONSE_HEADER_SIZE = 8;
export const SCRAPE_RESPONSE_ENTRY_SIZE = 12;
export const ERROR_RESPONSE_HEADER_SIZE = 8;

/** Largest UDP payload over IPv4 (65535 - 20 IP header - 8 UDP header): one datagram. */
export const UDP_MAX_PAYLOAD = 65_507;
/** The most peers one announce answer can carry: 20 bytes + 18 per IPv6 peer (3638). */
export const MAX_ANNOUNCE_PEERS = Math.floor((UDP_MAX_PAYLOAD - 20) / 18);
/**
 * The most info_hashes one scrape request can carry: 16 bytes + 20 per hash (3274). Whether a
 * tracker answers that many is its own rule (--scrape-max-hashes).
 */
export const MAX_SCRAPE_HASHES = Math.floor((UDP_MAX_PAYLOAD - 16) / 20);

const TWO_POW_32 = 4294967296;

/**
 * The fields of one parsed request. One instance is reused for every packet: every field a
 * given action defines is rewritten by each parse of that action; fields of other actions keep
 * stale values. Hashes stay in the packet buffer: `buf.subarray(infoHashOff, infoHashOff + 20)`
 * if a view is really needed.
 */
export class UdpRequest {
  action = 0;
  /** u32, echoed in the answer. */
  transactionId = 0;
  /** Connection id (announce, scrape) as two u32 halves; the protocol id for a connect. */
  connIdHi = 0;
  connIdLo = 0;

  // ---- announce ----
  /** Offset of the 20-byte info_hash in the packet buffer. */
  infoHashOff = 0;
  /** Offset of the 20-byte peer_id in the packet buffer. */
  peerIdOff = 0;
  /** u64 counters as doubles (exact up to 2^53, then rounded; never wrap or go negative). */
  downloaded = 0;
  left = 0;
  /** Exact: `left` read as a u64 is zero (the peer is a seeder). */
  leftIsZero = false;
  uploaded = 0;
  event: AnnounceEvent = EVENT_NONE;
  /** -1 = the tracker's default (BEP 15 sends -1; any value >= 2^31 is taken as -1). */
  numWant = -1;
  /** u16; 0 is passed through, the server decides. */
  port = 0;

  // ---- scrape ----
  /** Offset of the first 20-byte info_hash in the packet buffer. */
  scrapeHashOff = 16;
  /** Number of info_hashes to answer (hashes beyond parseUdpRequest's cap are ignored). */
  scrapeCount = 0;

  /** Set when parseUdpRequest returns PARSE_ERROR (a constant string: no allocation). */
  error = "";
}

/**
 * Parse the first `len` bytes of `buf` into `req`. Returns PARSE_OK, PARSE_DROP or PARSE_ERROR.
 *
 * Every request starts with the same 16 bytes:
 *   0   u64  connection_id   (connect: the protocol id 0x41727101980)
 *   8   u32  action          (0 connect, 1 announce, 2 scrape)
 *   12  u32  transaction_id
 * Trailing bytes are allowed everywhere (BEP 15: "should not assume packets to be of a certain
 * size"), which is how BEP 41 options fit after the announce.
 */
export function parseUdpRequest(buf: Buffer, len: number, req: UdpRequest, maxScrapeHashes: number): number {
  if (!(len <= buf.length)) len = buf.length; // also catches NaN
  if (len < 16) return PARSE_DROP;

  const connIdHi = buf.readUInt32BE(0);
  const connIdLo = buf.readUInt32BE(4);
  const action = buf.readUInt32BE(8);
  req.action = action;
  req.transactionId = buf.readUInt32BE(12);
  req.connIdHi = connIdHi;
  req.connIdLo = connIdLo;

  if (action === ACTION_CONNECT) {
    // connect: 16 bytes; without the magic it is junk (or some other protocol): no answer.
    return connIdHi === PROTOCOL_ID_HI && connIdLo === PROTOCOL_ID_LO ? PARSE_OK : PARSE_DROP;
  }
  if (action === ACTION_ANNOUNCE) return parseAnnounce(buf, len, req);
  if (action === ACTION_SCRAPE) {
    // scrape:
    //   16  20n  info_hash * n
    if (len < SCRAPE_REQUEST_MIN_SIZE) return PARSE_DROP;
    let count = Math.floor((len - 16) / 20); // a trailing partial hash is ignored
    if (count > maxScrapeHashes) count = maxScrapeHashes > 0 ? Math.floor(maxScrapeHashes) : 0;
    req.scrapeHashOff = 16;
    req.scrapeCount = count;
    return PARSE_OK;
  }
  return PARSE_DROP;
}

/**
 * announce (after the 16-byte common header):
 *   16  20   info_hash
 *   36  20   peer_id
 *   56  u64  downloaded
 *   64  u64  left
 *   72  u64  uploaded
 *   80  u32  event        0 none, 1 completed, 2 started, 3 stopped
 *   84  u32  IP address   ignored: the source address of the packet is used
 *   88  u32  key          not read: a peer is its address and port here, and clients send
 *                         a new random key per announce (aria2) or none that means anything
 *   92  i32  num_want     -1 = default
 *   96  u16  port
 *   98  ...  BEP 41 options (URL data): allowed; read by readUrlData when needed. Real clients send 100-byte
 *            announces with two trailing zero bytes, and 109-byte ones with "/announce".
 */
function parseAnnounce(buf: Buffer, len: number, req: UdpRequest): number {
  if (len < ANNOUNCE_REQUEST_SIZE) return PARSE_DROP;
  req.infoHashOff = 16;
  req.peerIdOff = 36;
  req.downloaded = buf.readUInt32BE(56) * TWO_POW_32 + buf.readUInt32BE(60);
  const leftHi = buf.readUInt32BE(64);
  const leftLo = buf.readUInt32BE(68);
  req.left = leftHi * TWO_POW_32 + leftLo;
  req.leftIsZero = (leftHi | leftLo) === 0;
  req.uploaded = buf.readUInt32BE(72) * TWO_POW_32 + buf.readUInt32BE(76);
  const numWant = buf.readInt32BE(92);
  req.numWant = numWant < 0 ? -1 : numWant;
  req.port = buf.readUInt16BE(96);

  switch (buf.readUInt32BE(80)) {
    case 0: req.event = EVENT_NONE; break;
    case 1: req.event = EVENT_COMPLETED; break;
    case 2: req.event = EVENT_STARTED; break;
    case 3: req.event = EVENT_STOPPED; break;
    default:
      req.event = EVENT_NONE;
      req.error = "unknown event";
      return PARSE_ERROR;
  }
  return PARSE_OK;
}

// ---- answers ----------------------------------------------------------------------------
// Counts are clamped into u32 so that a writer never throws on a huge or negative number.

function u32(v: number): number {
  return v >= 0xffffffff ? 0xffffffff : v > 0 ? v >>> 0 : 0;
}

/**
 * connect answer, 16 bytes:
 *   0  u32  action = 0
 *   4  u32  transaction_id
 *   8  u64  connection_id (hi, lo)
 */
export function writeConnectResponse(out: Buffer, tid: number, connIdHi: number, connIdLo: number): number {
  out.writeUInt32BE(ACTION_CONNECT, 0);
  out.writeUInt32BE(tid >>> 0, 4);
  out.writeUInt32BE(connIdHi >>> 0, 8);
  out.writeUInt32BE(connIdLo >>> 0, 12);
  return CONNECT_RESPONSE_SIZE;
}

/**
 * announce answer header, 20 bytes; the caller appends peers at byte 20
 * (6 bytes each for IPv4: address, port; 18 bytes each for IPv6):
 *   0   u32  action = 1
 *   4   u32  transaction_id
 *   8   u32  interval (seconds)
 *   12  u32  leechers
 *   16  u32  seeders
 */
export function writeAnnounceHeader(out: Buffer, tid: number, interval: number, leechers: number, seeders: number): number {
  out.writeUInt32BE(ACTION_ANNOUNCE, 0);
  out.writeUInt32BE(tid >>> 0, 4);
  out.writeUInt32BE(u32(interval), 8);
  out.writeUInt32BE(u32(leechers), 12);
  out.writeUInt32BE(u32(seeders), 16);
  return ANNOUNCE_RESPONSE_HEADER_SIZE;
}

/**
 * scrape answer header, 8 bytes; entries follow, one per requested hash, in request order:
 *   0  u32  action = 2
 *   4  u32  transaction_id
 */
export function writeScrapeHeader(out: Buffer, tid: number): number {
  out.writeUInt32BE(ACTION_SCRAPE, 0);
  out.writeUInt32BE(tid >>> 0, 4);
  return SCRAPE_RESPONSE_HEADER_SIZE;
}

/**
 * One scrape entry at `off`, 12 bytes; returns off + 12:
 *   0  u32  seeders
 *   4  u32  completed
 *   8  u32  leechers
 */
export function writeScrapeEntry(out: Buffer, off: number, seeders: number, completed: number, leechers: number): number {
  out.writeUInt32BE(u32(seeders), off);
  out.writeUInt32BE(u32(completed), off + 4);
  out.writeUInt32BE(u32(leechers), off + 8);
  return off + SCRAPE_RESPONSE_ENTRY_SIZE;
}

/**
 * error answer:
 *   0  u32  action = 3
 *   4  u32  transaction_id
 *   8  ...  message (to the end of the packet; no terminator)
 * The message is written as ASCII (other characters become '?') and cut so that the whole
 * packet is at most `maxLen` bytes (and fits `out`). Returns 0 (send nothing) if even the
 * 8-byte header does not fit: an answer must never be larger than the packet it answers.
 */
export function writeErrorResponse(out: Buffer, tid: number, message: string, maxLen: number): number {
  let limit = out.length;
  if (maxLen < limit) limit = Math.floor(maxLen);
  if (!(limit >= ERROR_RESPONSE_HEADER_SIZE)) return 0;
  out.writeUInt32BE(ACTION_ERROR, 0);
  out.writeUInt32BE(tid >>> 0, 4);
  let n = message.length;
  if (n > limit - ERROR_RESPONSE_HEADER_SIZE) n = limit - ERROR_RESPONSE_HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    const c = message.charCodeAt(i);
    out[ERROR_RESPONSE_HEADER_SIZE + i] = c < 0x80 ? c : 0x3f;
  }
  return ERROR_RESPONSE_HEADER_SIZE + n;
}

// ---- BEP 41 URL data --------------------------------------------------------------------

/** BEP 41 option types (0x0, EndOfOptions, ends the reading like any other type). */
const OPTION_NOP = 0x1;
const OPTION_URL_DATA = 0x2;

/**
 * The BEP 41 URL data of an announce of `len` bytes in `buf`, concatenated into `out`; returns
 * its length. Options start at byte 98:
 *   0x0  EndOfOptions   1 byte; stop
 *   0x1  NOP            1 byte
 *   0x2  URLData        1 byte type, 1 byte length n, n bytes: a piece of the announce URL's
 *                       path and query; successive pieces are concatenated
 * Reading stops quietly at EndOfOptions, an unknown type, a truncated option, or when `out` is
 * full: a packet is never refused for its options. Called only where URL data matters (private
 * mode's passkey), so public announces pay nothing for it.
 */
export function readUrlData(buf: Buffer, len: number, out: Uint8Array): number {
  if (!(len <= buf.length)) len = buf.length;
  let p = ANNOUNCE_REQUEST_SIZE;
  let n = 0;
  while (p < len) {
    const type = buf[p]!;
    if (type === OPTION_NOP) {
      p++;
      continue;
    }
    if (type !== OPTION_URL_DATA) break; // EndOfOptions, or an option we cannot size
    if (p + 2 > len) break;
    const start = p + 2;
    const end = start + buf[p + 1]!;
    if (end > len || n + (end - start) > out.length) break;
    for (let i = start; i < end; i++) out[n++] = buf[i]!;
    p = end;
  }
  return n;
}
