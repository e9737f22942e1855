/**
 * The open-addressing hash index of the in-memory store, shared by its two uses: info_hash ->
 * torrent id (memory-store.ts) and (torrent, address, port) -> peer slot (peer-arena.ts).
 *
 * Entries are non-negative int32s (a torrent id, an arena slot) in an Int32Array whose size is
 * a power of two; -1 marks an empty slot. The key of an entry is not stored here: it lives in
 * the owner's columns, and `hashOf(entry)` recomputes its hash from them when the table needs
 * it (a rebuild, a deletion), which saves 4 bytes per entry over caching the hash. Linear
 * probing; the load stays at or below 1/2, so probe chains stay short; deletion shifts the
 * chain back (no tombstones, so lookups never slow down with churn).
 *
 * Lookups compare keys, which only the owner knows how to do, so the owner writes its own probe
 * loop over `table` and `mask`: start at `hash & mask`, step `(i + 1) & mask`, stop at -1.
 * Keeping that loop in the owner, with its byte comparison inline, is what keeps a lookup free
 * of calls on the announce path.
 *
 * The hashes are keyed (keyed-hash.ts): keys are chosen by clients, and an attacker who could
 * predict bucket positions could build one long probe chain.
 */
const EMPTY_ENTRY = -1;

export abstract class OpenIndex {
  /** entry or EMPTY_ENTRY per slot; length is a power of two. */
  table: Int32Array;
  mask: number;
  /** Entries in the table. */
  size = 0;

  constructor(initialSize: number) {
    this.table = new Int32Array(initialSize).fill(EMPTY_ENTRY);
    this.mask = initialSize - 1;
  }

  /** The hash of an entry's key, read from the owner's columns. */
  protected abstract hashOf(entry: number): number;

  /** Add an entry (not already present), doubling the table first if the load would pass 1/2. */
  insert(entry: number): void {
    if ((this.size + 1) * 2 > this.table.length) this.rebuild(this.table.length * 2);
    const table = this.table;
    const mask = this.mask;
    let i = this.hashOf(entry) & mask;
    while (table[i]! >= 0) i = (i + 1) & mask;
    table[i] = entry;
    this.size++;
  }

  /** Delete an entry that is present (backward-shift deletion). */
  remove(entry: number): void {
    const table = this.table;
    const mask = this.mask;
    let hole = this.hashOf(entry) & mask;
    while (table[hole] !== entry) hole = (hole + 1) & mask;
    let i = hole;
    for (;;) {
      i = (i + 1) & mask;
      const q = table[i]!;
      if (q < 0) break;
      // Move q into the hole unless its home lies cyclically in (hole, i].
      const home = this.hashOf(q) & mask;
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        table[hole] = q;
        hole = i;
      }
    }
    table[hole] = EMPTY_ENTRY;
    this.size--;
  }

  /**
   * The key of entry `from` now lives under entry `to` (the owner moved it): rewrite the table
   * slot in place. hashOf(to) must already give the key's hash.
   */
  rename(from: number, to: number): void {
    const table = this.table;
    const mask = this.mask;
    let i = this.hashOf(to) & mask;
    while (table[i] !== from) i = (i + 1) & mask;
    table[i] = to;
  }

  /** Re-insert every entry into a table of `size` slots (a power of two). */
  private rebuild(size: number): void {
    const old = this.table;
    const table = new Int32Array(size).fill(EMPTY_ENTRY);
    const mask = size - 1;
    for (let k = 0; k < old.length; k++) {
      const q = old[k]!;
      if (q < 0) continue;
      let i = this.hashOf(q) & mask;
      while (table[i]! >= 0) i = (i + 1) & mask;
      table[i] = q;
    }
    this.table = table;
    this.mask = mask;
  }

  /** Bytes held. */
  bytes(): number {
    return this.table.byteLength;
  }
}
