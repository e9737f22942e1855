/**
 * Requests per address per minute, for the per-address limits of the rules (announces, UDP
 * connects, answers to stale connection ids).
 *
 * Fixed one-minute windows: a count per address string (the address as the adapter read it
 * from the socket, never one a client claims), reset when the minute changes. An address over
 * its limit is refused until the next minute. Cost per request: one Map lookup with a string
 * Bun has already made, no allocation for a known address.
 *
 * Memory is bounded: the map is emptied every minute, and within a minute at most MAX_ADDRESSES
 * addresses are tracked; past that, new addresses pass unchecked until the next minute (the
 * limit fails open, never shut, under an address flood, which the map would otherwise turn
 * into memory growth). A limit of 0 turns the check off.
 *
 * Loopback addresses are never limited: traffic from the machine itself is the operator's own (a
 * reverse proxy without --trust-proxy-header, monitoring, a local load test), and no one outside
 * can send from them.
 */
const MAX_ADDRESSES = 1 << 20;

export class AddressRate {
  private readonly counts = new Map<string, number>();
  private minute = -1;

  constructor(
    private readonly perMinute: number,
    private readonly maxAddresses = MAX_ADDRESSES,
  ) {}

  /** Count one request from `address` at `now` (Unix seconds); false when it is over the limit. */
  allow(address: string, now: number): boolean {
    if (this.perMinute === 0 || isLoopback(address)) return true;
    const minute = Math.floor(now / 60);
    if (minute !== this.minute) {
      this.minute = minute;
      this.counts.clear();
    }
    const n = this.counts.get(address);
    if (n === undefined) {
      if (this.counts.size < this.maxAddresses) this.counts.set(address, 1);
      return true;
    }
    if (n >= this.perMinute) return false;
    this.counts.set(address, n + 1);
    return true;
  }

  /** Addresses tracked in this minute (for tests). */
  get size(): number {
    return this.counts.size;
  }
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127/8, in the text forms Bun gives. */
export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}
