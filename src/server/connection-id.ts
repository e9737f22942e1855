/**
 * BEP 15 connection ids that cannot be forged and that expire.
 *
 * Why: a UDP source address can be spoofed. The connect handshake proves that the client can
 * receive packets at its address, but only if the id it gets back cannot be guessed or computed
 * by anyone else. Otherwise an attacker could send announces and scrapes "from" a victim's
 * address and make the tracker flood the victim (reflection / amplification).
 *
 * id = SipHash-2-4(key, client address bytes || time bucket), 64 bits, stateless: nothing is
 * stored per client, so a flood of connects costs no memory.
 *  - The address only, not the port: a NAT may give the same client a new source port between
 *    its connect and its announce. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as seen on a
 *    dual-stack socket) is hashed as its 4 IPv4 bytes, so both spellings of one client agree.
 *  - Time bucket = floor(now / 120 s). An id is accepted in its own bucket and the next one, so
 *    it lives between 2 and 4 minutes (BEP 15 asks clients to accept ids for 1 minute and
 *    servers for 2).
 *  - The lowest bit of the id carries the bucket's parity, so `check` knows which bucket to
 *    recompute and always does exactly one hash (a forged id costs us as little as a real one).
 *    The remaining 63 bits are MAC: a blind forgery succeeds with probability 2^-63.
 *
 * Why SipHash-2-4: it is a pseudorandom function designed as a short-input MAC (Aumasson and
 * Bernstein, 2012), fast on 8- to 20-byte inputs, and implementable here on 32-bit halves with
 * local variables only: no allocation and no native call per packet (Bun.CryptoHasher/HMAC
 * would cross into native code and allocate a digest per call). A plain non-cryptographic hash
 * (FNV, Murmur, xxHash) is not a MAC: its output can be inverted or predicted from a few
 * observed ids, so it would not stop forgery.
 *
 * Key: 128 bits (SipHash's key size; more random bytes would add nothing). Random per process
 * from crypto.getRandomValues when the configured secret is empty; otherwise derived from the
 * secret with scrypt, so that several processes (SO_REUSEPORT, several hosts behind one
 * address) accept each other's ids. scrypt makes an offline guess of a weak secret from an
 * observed id expensive, but a secret should still be long and random (e.g. 32 hex digits).
 */

/** Length of one time bucket in seconds; an id is valid for 1 to 2 buckets. */
export const CONNECTION_ID_BUCKET_SECONDS = 120;

/** Fixed scrypt salt: a shared secret must give the same key in every process. */
const SECRET_SALT = "sc6-tracker/udp-connection-id/v1";

/**
 * SipHash-2-4 with a 128-bit key and 64-bit output, on 32-bit halves (JavaScript has no cheap
 * 64-bit integers: BigInt allocates). Words are little-endian as in the reference; the result
 * is in `hi`/`lo` (u32 each): the reference's 8 output bytes are lo (LE) then hi (LE).
 */
export class SipHash24 {
  hi = 0;
  lo = 0;
  private readonly k0h: number;
  private readonly k0l: number;
  private readonly k1h: number;
  private readonly k1l: number;

  /** `key`: 16 bytes (k0 = bytes 0..7, k1 = bytes 8..15, little-endian). */
  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new Error("SipHash key must be 16 bytes");
    this.k0l = readLE32(key, 0);
    this.k0h = readLE32(key, 4);
    this.k1l = readLE32(key, 8);
    this.k1h = readLE32(key, 12);
  }

  /** Hash `msg[off .. off+len)`; result in this.hi / this.lo. */
  hash(msg: Uint8Array, off: number, len: number): void {
    // v0 = k0 ^ "somepseu", v1 = k1 ^ "dorandom", v2 = k0 ^ "lygenera", v3 = k1 ^ "tedbytes"
    let v0h = this.k0h ^ 0x736f6d65, v0l = this.k0l ^ 0x70736575;
    let v1h = this.k1h ^ 0x646f7261, v1l = this.k1l ^ 0x6e646f6d;
    let v2h = this.k0h ^ 0x6c796765, v2l = this.k0l ^ 0x6e657261;
    let v3h = this.k1h ^ 0x74656462, v3l = this.k1l ^ 0x79746573;
    let s = 0, t = 0;

    // One loop runs the message words (2 rounds each: the "2" of 2-4), the final word (the
    // 0..7 tail bytes with len mod 256 in the top byte) and then finalization (v2 ^= 0xff and
    // 4 rounds with no message word): one copy of the round code.
    const fullWords = len >>> 3;
    const lastWord = fullWords; // index of the tail word
    for (let w = 0; w <= lastWord + 1; w++) {
      let mh = 0, ml = 0, rounds = 2;
      if (w < lastWord) {
        const p = off + (w << 3);
        ml = readLE32(msg, p);
        mh = readLE32(msg, p + 4);
      } else if (w === lastWord) {
        const p = off + (w << 3);
        const tail = len & 7;
        for (let i = 0; i < tail; i++) {
          const b = msg[p + i]!;
          if (i < 4) ml |= b << (i << 3);
          else mh |= b << ((i - 4) << 3);
        }
        mh |= (len & 0xff) << 24;
      } else {
        v2l ^= 0xff;
        rounds = 4;
      }
      v3h ^= mh;
      v3l ^= ml;
      for (let r = 0; r < rounds; r++) {
        // SipRound. 64-bit add: low halves as u32 with carry into the high halves.
        // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        s = (v0l >>> 0) + (v1l >>> 0);
        v0h = (v0h + v1h + (s > 0xffffffff ? 1 : 0)) | 0;
        v0l = s | 0;
        t = v1h;
        v1h = (v1h << 13) | (v1l >>> 19);
        v1l = (v1l << 13) | (t >>> 19);
        v1h ^= v0h;
        v1l ^= v0l;
        t = v0h;
        v0h = v0l;
        v0l = t;
        // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
        s = (v2l >>> 0) + (v3l >>> 0);
        v2h = (v2h + v3h + (s > 0xffffffff ? 1 : 0)) | 0;
        v2l = s | 0;
        t = v3h;
        v3h = (v3h << 16) | (v3l >>> 16);
        v3l = (v3l << 16) | (t >>> 16);
        v3h ^= v2h;
        v3l ^= v2l;
        // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
        s = (v0l >>> 0) + (v3l >>> 0);
        v0h = (v0h + v3h + (s > 0xffffffff ? 1 : 0)) | 0;
        v0l = s | 0;
        t = v3h;
        v3h = (v3h << 21) | (v3l >>> 11);
        v3l = (v3l << 21) | (t >>> 11);
        v3h ^= v0h;
        v3l ^= v0l;
        // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        s = (v2l >>> 0) + (v1l >>> 0);
        v2h = (v2h + v1h + (s > 0xffffffff ? 1 : 0)) | 0;
        v2l = s | 0;
        t = v1h;
        v1h = (v1h << 17) | (v1l >>> 15);
        v1l = (v1l << 17) | (t >>> 15);
        v1h ^= v2h;
        v1l ^= v2l;
        t = v2h;
        v2h = v2l;
        v2l = t;
      }
      v0h ^= mh;
      v0l ^= ml;
    }
    this.hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
    this.lo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  }
}

function readLE32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** Derive the 16-byte SipHash key: random for "", else scrypt(secret). Start-up only. */
function deriveKey(secret: string): Uint8Array {
  if (secret === "") return crypto.getRandomValues(new Uint8Array(16));
  // Required here, not imported at the top: node:crypto costs ~4 MB of resident memory, and
  // only operators who configure a secret need it.
  const { scryptSync } = require("node:crypto") as typeof import("node:crypto");
  return new Uint8Array(scryptSync(secret, SECRET_SALT, 16));
}

export class ConnectionIds {
  /** The id computed by the last `make`, as two u32 halves. */
  hi = 0;
  lo = 0;
  private sip: SipHash24;
  /** Scratch message: up to 16 address bytes + 4 bucket bytes. */
  private readonly msg = new Uint8Array(20);

  /** `secret`: "" for a random per-process key; any other string is a shared secret. */
  constructor(secret: string) {
    this.sip = new SipHash24(deriveKey(secret));
  }

  /**
   * Use another secret from now on (a secret the nodes of a shared store agree on, read once
   * the store answers): ids made before no longer check, and their clients connect again.
   */
  useSecret(secret: string): void {
    this.sip = new SipHash24(deriveKey(secret));
  }

  /**
   * Make the id for the client at `addr[off .. off+addrLen)` (4 or 16 bytes) at time `nowSec`
   * (seconds, any epoch shared with `check`). Result in this.hi, this.lo.
   */
  make(addr: Uint8Array, off: number, addrLen: number, nowSec: number): void {
    const bucket = Math.floor(nowSec / CONNECTION_ID_BUCKET_SECONDS) >>> 0;
    this.mac(addr, off, addrLen, bucket);
    this.hi = this.sip.hi;
    this.lo = ((this.sip.lo & ~1) | (bucket & 1)) >>> 0;
  }

  /** True if (hi, lo) is an id made for this address in the current or the previous bucket. */
  check(addr: Uint8Array, off: number, addrLen: number, hi: number, lo: number, nowSec: number): boolean {
    let bucket = Math.floor(nowSec / CONNECTION_ID_BUCKET_SECONDS) >>> 0;
    // The id's low bit is its bucket's parity: recompute only that bucket.
    if ((lo & 1) !== (bucket & 1)) bucket = (bucket - 1) >>> 0;
    this.mac(addr, off, addrLen, bucket);
    return this.sip.hi === hi >>> 0 && ((this.sip.lo & ~1) | (bucket & 1)) >>> 0 === lo >>> 0;
  }

  /** SipHash over (address bytes || bucket as u32 little-endian) into this.sip.hi/lo. */
  private mac(addr: Uint8Array, off: number, addrLen: number, bucket: number): void {
    const msg = this.msg;
    // ::ffff:a.b.c.d -> a.b.c.d (the same client seen on a dual-stack socket)
    if (addrLen === 16 && isV4Mapped(addr, off)) {
      off += 12;
      addrLen = 4;
    }
    let n = addrLen > 16 ? 16 : addrLen > 0 ? addrLen | 0 : 0;
    if (off + n > addr.length) n = 0; // cannot happen with a real address; never read past it
    for (let i = 0; i < n; i++) msg[i] = addr[off + i]!;
    msg[n] = bucket;
    msg[n + 1] = bucket >>> 8;
    msg[n + 2] = bucket >>> 16;
    msg[n + 3] = bucket >>> 24;
    this.sip.hash(msg, 0, n + 4);
  }
}

function isV4Mapped(a: Uint8Array, off: number): boolean {
  if (off + 16 > a.length) return false;
  for (let i = 0; i < 10; i++) if (a[off + i] !== 0) return false;
  return a[off + 10] === 0xff && a[off + 11] === 0xff;
}
