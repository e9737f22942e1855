/**
 * The dashboard's history: the last `capacity` samples (an hour of one every 5 s by default) in
 * a ring of typed arrays, so the page shows the last hour the moment it opens.
 *
 * Layout: `times` holds each sample's Unix seconds (Float64: exact); `values` holds the samples'
 * series row after row, `width` Float32s a row (sample i, series k at values[i * width + k]).
 * Float32 keeps 24 bits of mantissa: rates, load and milliseconds exactly enough for a chart,
 * counts above 16,777,216 to within 1 in 16 million. NaN means "unknown" (sent as null).
 * Memory is fixed at construction: capacity x (8 + 4 x width) bytes, 51,840 for 720 samples of
 * 16 series. Nothing grows, and nothing is done per announce: one push per sample.
 */
export class HistoryRing {
  private readonly times: Float64Array;
  private readonly values: Float32Array;
  /** Where the next sample goes. */
  private next = 0;
  /** Samples held (at most capacity). */
  length = 0;

  constructor(readonly capacity: number, readonly width: number) {
    if (!(capacity >= 1 && width >= 1)) throw new RangeError("a history ring needs room for a sample");
    this.times = new Float64Array(capacity);
    this.values = new Float32Array(capacity * width);
  }

  /** Bytes of the ring's typed arrays. */
  get bytes(): number {
    return this.times.byteLength + this.values.byteLength;
  }

  /** Add a sample taken at `t` (Unix seconds): row[k] is series k (missing ones are NaN). */
  push(t: number, row: ArrayLike<number>): void {
    const at = this.next;
    this.times[at] = t;
    const base = at * this.width;
    for (let k = 0; k < this.width; k++) this.values[base + k] = k < row.length ? row[k]! : NaN;
    this.next = at + 1 === this.capacity ? 0 : at + 1;
    if (this.length < this.capacity) this.length++;
  }

  /** The ring slot of sample i, 0 being the oldest held. */
  private slot(i: number): number {
    const s = this.next - this.length + i;
    return s < 0 ? s + this.capacity : s;
  }

  /** Time of sample i (0 = oldest). */
  time(i: number): number {
    return this.times[this.slot(i)]!;
  }

  /** Series k of sample i (0 = oldest); NaN when unknown. */
  value(i: number, k: number): number {
    return this.values[this.slot(i) * this.width + k]!;
  }

  /**
   * The samples as columns, oldest first: `t` the times, `values[k]` series k with null where
   * unknown, each value rounded by `tidy` (Float32 noise would bloat the JSON).
   */
  columns(tidy: (v: number) => number = roundForChart): { t: number[]; values: (number | null)[][] } {
    const t = new Array<number>(this.length);
    const values = Array.from({ length: this.width }, () => new Array<number | null>(this.length));
    for (let i = 0; i < this.length; i++) {
      const s = this.slot(i);
      t[i] = this.times[s]!;
      for (let k = 0; k < this.width; k++) {
        const v = this.values[s * this.width + k]!;
        values[k]![i] = Number.isNaN(v) ? null : tidy(v);
      }
    }
    return { t, values };
  }

  /** The newest sample's values (NaN: unknown), or null when the ring is empty. */
  newest(): { t: number; values: number[] } | null {
    if (this.length === 0) return null;
    const s = this.slot(this.length - 1);
    return { t: this.times[s]!, values: Array.from(this.values.subarray(s * this.width, (s + 1) * this.width)) };
  }
}

/** Two decimals: what a chart can show, without Float32's tail (0.2 is 0.20000000298...). */
export function roundForChart(v: number): number {
  return Math.round(v * 100) / 100;
}
