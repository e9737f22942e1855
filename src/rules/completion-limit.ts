/**
 * How many `completed` events one address may have counted for one torrent per hour.
 *
 * A completion counts once per peer, and a peer is an (address, port): one host announcing from
 * many ports could otherwise add a completion per port and inflate a torrent's `downloaded`
 * count at will. This keeps, per (info_hash, address), the completions counted in the current
 * clock hour; past the limit the announce is served as usual but its completion is not counted.
 *
 * Workload: completions are a tiny share of announces (one per download), so a Map with a
 * string key per completion costs nothing that matters, and entries of past hours are dropped
 * whenever the map grows past MAX_ENTRIES (bounded memory whatever a client sends).
 */
const MAX_ENTRIES = 100_000;

export class CompletionLimit {
  private readonly counted = new Map<string, { hour: number; count: number }>();

  /** `perHour` completions per (torrent, address) per hour; 0 means no limit. */
  constructor(private readonly perHour: number) {}

  /**
   * Whether this completion may be counted (and if so, it is). `address` holds the announcer's
   * address bytes at [0, addressLength).
   */
  allow(infoHash: Uint8Array, infoHashOff: number, address: Uint8Array, addressLength: number, now: number): boolean {
    if (this.perHour === 0) return true;
    const hour = Math.floor(now / 3600);
    const key = Buffer.from(infoHash.buffer, infoHash.byteOffset + infoHashOff, 20).toString("latin1") +
      Buffer.from(address.buffer, address.byteOffset, addressLength).toString("latin1");
    let e = this.counted.get(key);
    if (e === undefined) {
      if (this.counted.size >= MAX_ENTRIES) this.dropBefore(hour);
      e = { hour, count: 0 };
      this.counted.set(key, e);
    } else if (e.hour !== hour) {
      e.hour = hour;
      e.count = 0;
    }
    if (e.count >= this.perHour) return false;
    e.count++;
    return true;
  }

  /** Entries kept now (for tests). */
  get size(): number {
    return this.counted.size;
  }

  private dropBefore(hour: number): void {
    for (const [k, e] of this.counted) if (e.hour < hour) this.counted.delete(k);
    // All of this hour and still full: start over rather than grow (the limit is then lenient
    // for the addresses forgotten, never stricter).
    if (this.counted.size >= MAX_ENTRIES) this.counted.clear();
  }
}
