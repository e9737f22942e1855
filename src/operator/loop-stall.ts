/**
 * How long the event loop was held at once: a timer every TICK_MS notes how much later than due
 * it fires, which is how long something (a sweep slice, a full-scrape render, a state-file
 * slice, a burst of requests) kept it from running. /stats shows the longest over the last
 * minute and since the start. The timer costs nothing that shows (50 wake-ups a second). The
 * benchmarks use it too, with a 1 ms tick, around the work they time.
 */
const TICK_MS = 20;

export class LoopStallMonitor {
  private longestEver = 0;
  /** The longest in the current minute and in the one before: the last minute is their max. */
  private current = 0;
  private previous = 0;
  private minuteStartedAt: number;
  private last: number;
  /** The longest stall each tap() reader has not read yet (reset when read). */
  private readonly peaks: number[] = [];
  private readonly timer: Timer;

  constructor(
    private readonly tickMs = TICK_MS,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.last = clock();
    this.minuteStartedAt = this.last;
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  private tick(): void {
    const t = this.clock();
    const late = Math.max(0, t - this.last - this.tickMs);
    this.last = t;
    if (t - this.minuteStartedAt >= 60_000) {
      this.previous = this.current;
      this.current = 0;
      this.minuteStartedAt = t;
    }
    if (late > this.current) this.current = late;
    if (late > this.longestEver) this.longestEver = late;
    for (let i = 0; i < this.peaks.length; i++) if (late > this.peaks[i]!) this.peaks[i] = late;
  }

  /**
   * A reader of the longest stall since its own previous read, ms (the dashboard's samples: the
   * worst of each 5 s). Each reader is independent; make them once (there is no untap).
   */
  tap(): () => number {
    const i = this.peaks.push(0) - 1;
    return () => {
      const peak = this.peaks[i]!;
      this.peaks[i] = 0;
      return peak;
    };
  }

  /** The longest stall in about the last minute (one to two minutes' worth), ms. */
  get longestLastMinuteMs(): number {
    return Math.max(this.current, this.previous);
  }

  /** The longest stall since the start, ms. */
  get longestEverMs(): number {
    return this.longestEver;
  }

  /** Forget what was seen so far (a benchmark's next phase). */
  reset(): void {
    this.longestEver = this.current = this.previous = 0;
    this.last = this.clock();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
