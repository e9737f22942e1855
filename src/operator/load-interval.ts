/**
 * sc6's load-driven announce interval, as a pure function.
 *
 * Every `intervalStepPeriod` seconds (sc6: 15 minutes) the tracker looks at the 15-minute load
 * average. A machine below its allowed load can afford more announces, so the interval shrinks
 * by one step; at or above it, clients are asked to come back later, so the interval grows by
 * one step. The result always stays within [min, max] (sc6: 4..30 minutes).
 *
 * The 15-minute average (not the 1-minute one) is used on purpose: it moves slowly, so a short
 * burst does not swing the interval, and one step per period keeps the change gradual for the
 * clients that re-announce at the old interval.
 */
export function nextInterval(
  current: number,
  load15: number,
  maxLoad: number,
  step: number,
  min: number,
  max: number,
): number {
  // `load15 < maxLoad` is false for NaN: an unreadable load is treated as "too busy", the
  // conservative direction (fewer announces), never as a licence to speed up.
  const moved = load15 < maxLoad ? current - step : current + step;
  if (moved < min) return min;
  if (moved > max) return max;
  return moved;
}
