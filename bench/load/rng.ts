/**
 * Deterministic randomness for the load generator: the same seed gives the same torrents,
 * clients and request sequence, so two trackers compared side by side see the same load.
 *
 * sfc32 (Small Fast Chaotic, 128-bit state) seeded through splitmix32: fast in JS (32-bit
 * integer ops only), good enough statistically for workload generation, not for crypto.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      // splitmix32
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }
}

/**
 * Zipf-like popularity over `n` items: item i (0-based) has weight 1 / (i + 1)^exponent.
 * With exponent 1 and 10,000 torrents the hottest torrent draws ~10% of the clients, the
 * hundredth ~0.1%, and most of the tail has none or one: a few hot swarms and a long tail,
 * the shape real trackers see (aquatic's load tester uses a similar steep, floored curve).
 *
 * Sampling is a binary search over the cumulative weights: O(log n), no allocation.
 */
export class ZipfSampler {
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(readonly n: number, exponent: number) {
    if (!(n >= 1)) throw new Error("ZipfSampler needs at least one item");
    this.cumulative = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += 1 / Math.pow(i + 1, exponent);
      this.cumulative[i] = sum;
    }
    this.total = sum;
  }

  /** An item index in [0, n), drawn by popularity. */
  sample(rng: Rng): number {
    const target = rng.float() * this.total;
    const c = this.cumulative;
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
