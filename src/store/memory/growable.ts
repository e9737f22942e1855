/**
 * Backing stores for the swarm store's columns that grow in place.
 *
 * A column that grows by copying into a bigger typed array leaves the old one as garbage, and
 * the allocator hands those pages back to the system late (measured: ~6 MB of RSS still held
 * after filling 760k peers / 520k torrents). A resizable ArrayBuffer (ES2024) reserves address
 * space up to its maximum and commits pages only as they are written, so `resize()` grows it
 * without a copy and without garbage, and the typed arrays over it (created without a length)
 * follow the new size by themselves. Measured on Bun 1.4: element access through such views
 * costs the same as through plain typed arrays.
 *
 * Reserving address space can fail (a `ulimit -v`, a 32-bit build); then, and when a column
 * outgrows its reservation, it falls back to allocate-and-copy. Callers always re-create their
 * views from the returned buffer, so both paths look the same to them.
 */

/** Reserve at most this much address space per column. */
const MAX_RESERVATION = 2 ** 30;

export function growableBuffer(bytes: number, reserveBytes: number): ArrayBuffer {
  const max = Math.min(Math.max(bytes, reserveBytes), MAX_RESERVATION);
  if (max > bytes) {
    try {
      return new ArrayBuffer(bytes, { maxByteLength: max });
    } catch {
      // no address space to reserve: a plain buffer, grown by copying
    }
  }
  return new ArrayBuffer(bytes);
}

/**
 * Grow `buf` to `bytes` (new bytes are zero): in place when its reservation allows, else into a
 * new buffer (reserving `reserveBytes`) with the old contents copied.
 */
export function growBuffer(buf: ArrayBuffer, bytes: number, reserveBytes: number): ArrayBuffer {
  if (bytes <= buf.byteLength) return buf;
  if (growsInPlace(buf, bytes)) {
    buf.resize(bytes);
    return buf;
  }
  const bigger = growableBuffer(bytes, Math.max(reserveBytes, bytes * 2));
  new Uint8Array(bigger).set(new Uint8Array(buf));
  return bigger;
}

/** Whether `buf` can grow to `bytes` without a copy (resizable, and within its reservation). */
export function growsInPlace(buf: ArrayBuffer, bytes: number): boolean {
  return buf.resizable && bytes <= buf.maxByteLength;
}

/**
 * The next capacity (in elements) for a column that must hold `need`. Small steps on purpose:
 * `resize()` zero-fills what it adds, which makes those pages resident at once, so the slack
 * past the last element in use is memory paid for (measured: with x1.5 steps, 520k torrents sat
 * in columns for 672k, ~8 MB of zeros; with 1/8 steps 573k, ~2 MB). A column that grows in
 * place pays only that zero-fill per step, so it grows by 1/32 (at least 4096 elements); one
 * that must be copied (no reservation) grows by 1/8 (at least 1024), keeping the copies
 * amortised O(1).
 */
export function nextCapacity(current: number, need: number, inPlace = false): number {
  let cap = current;
  while (cap < need) cap += inPlace ? Math.max(cap >>> 5, 4096) : Math.max(cap >>> 3, 1024);
  return cap;
}
