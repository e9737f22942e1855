/**
 * A keyed 32-bit hash for the open-addressing indexes of the in-memory store (open-index.ts).
 *
 * Security: info_hashes, addresses and ports are chosen by clients, so an attacker who can
 * predict bucket positions could pile thousands of keys into one probe chain (hash flooding).
 * Plain MurmurHash3 with a random seed is not enough: it has seed-independent multicollisions,
 * because the seed only sets the initial state and each block goes through a fixed, invertible
 * transform. Here every 32-bit input word is first XORed with a secret key word before the
 * multiply (8 random words per process: words 0-4 for the up to 5 data words of a key, 6 for
 * the tweak, 7 for the initial state), so an XOR difference the attacker puts into a word
 * passes through the multiply with carries that depend on an unknown value. This is a
 * keyed mixer, not a cryptographic PRF; it costs a few multiplies per word and allocates nothing.
 * The indexes also keep their load factor at or below 1/2, so probe chains stay short.
 *
 * Words are read little-endian from single bytes (there is no alignment guarantee on `off`).
 */

/** The process's secret key words (see above); word 5 is unused. */
const KEY = new Int32Array(8);
crypto.getRandomValues(KEY);

function mixWord(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash `len` bytes of `b` starting at `off`, with an extra 32-bit `tweak` mixed in first
 * (the owning torrent id for peer keys, 0 for info_hashes).
 */
export function keyedHash(b: Uint8Array, off: number, len: number, tweak: number): number {
  let h = mixWord(KEY[7]!, tweak ^ KEY[6]!);
  let i = 0;
  let w = 0;
  for (; i + 4 <= len; i += 4, w++) {
    const k = b[off + i]! | (b[off + i + 1]! << 8) | (b[off + i + 2]! << 16) | (b[off + i + 3]! << 24);
    h = mixWord(h, k ^ KEY[w & 7]!);
  }
  if (i < len) {
    let k = 0;
    for (let s = 0; i < len; i++, s += 8) k |= b[off + i]! << s;
    h = mixWord(h, k ^ KEY[w & 7]!);
  }
  return finish(h, len);
}
