/**
 * RateWindow: requests per second for the operator pages, as the average growth of a running
 * total over a sliding window. A 1 s timer calls sample(), so the cost is one array write per
 * second; the pages call rate() when they render.
 */

/** Requests per second are averaged over this many seconds (sampled once a second). */
export const RATE_WINDOW_SECONDS = 60;

/**
 * Average rate of a growing total over a sliding window. sample() is called about once a
 * second (by a timer); rate() compares the total now with the oldest sample still in the
 * window. Two Float64Arrays of windowSeconds + 1 entries: no allocation after construction.
 */
export class RateWindow {
  private readonly times: Float64Array;
  private readonly totals: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(
    private readonly read: () => number,
    private readonly windowSeconds = RATE_WINDOW_SECONDS,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.times = new Float64Array(windowSeconds + 1);
    this.totals = new Float64Array(windowSeconds + 1);
    this.sample();
  }

  sample(): void {
    this.times[this.next] = this.clock();
    this.totals[this.next] = this.read();
    this.next = (this.next + 1) % this.times.length;
    if (this.filled < this.times.length) this.filled++;
  }

  /** Per second over the window (or since the first sample, early in life; at least over 1 s). */
  rate(): number {
    const t = this.clock();
    const total = this.read();
    const size = this.times.length;
    // Oldest sample no older than the window; the ring holds windowSeconds + 1 of them.
    const limit = t - this.windowSeconds * 1000;
    let i = (this.next - this.filled + size) % size;
    for (let k = 0; k < this.filled - 1 && this.times[i]! < limit; k++) i = (i + 1) % size;
    // At least one second: right after start a few requests over a few milliseconds would
    // otherwise read as thousands per second.
    const seconds = Math.max(1, (t - this.times[i]!) / 1000);
    return Math.max(0, total - this.totals[i]!) / seconds;
  }
}
