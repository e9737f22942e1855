/**
 * Requests per address per minute, for the per-address limits of the rules (announces, UDP
 * connects, answers to stale connection ids).
 *
 * A count-min sketch over fixed one-minute windows: two rows of 2^16 16-bit counters, each
 * address counted in one slot per row (two keyed hashes of its address bytes, see
 * keyed-hash.ts: clients choose their addresses, so slots must not be predictable), its count
 * read as the smaller of its two slots. Constant memory (256 KiB, allocated at first use) and a
 * few ns per check whatever the number of addresses: a Map keyed by address text cost ~1.5 us
 * and ~100 bytes per address per announce when measured (bench/rules.bench.ts). The price is
 * that an address whose both slots are shared with busy ones can be over-counted; with the
 * generous limits this is for (thousands a minute) ordinary clients, a few requests an hour
 * each, never get near them. Conservative update (only the smaller slots grow) keeps that rare.
 *
 * Loopback addresses are never limited: traffic from the machine itself is the operator's own (a
 * reverse proxy without --trust-proxy-header, monitoring, a local load test), and no one outside
 * can send from them. A limit of 0 turns the check off.
 */
import { keyedHash } from "../store/memory/keyed-hash.ts";

const SLOTS = 1 << 16;
const MASK = SLOTS - 1;
const MAX_COUNT = 0xffff;

export class AddressRate {
  private row0: Uint16Array | null = null;
  private row1: Uint16Array | null = null;
  private minute = -1;
  private readonly limit: number;

  /** perMinute requests per address per minute (counts saturate at 65,535); 0 = no limit. */
  constructor(perMinute: number) {
    this.limit = Math.min(perMinute, MAX_COUNT);
  }

  /**
   * Count one request from the address in bytes[off .. off + len) (4 bytes IPv4, 16 IPv6) at
   * `now` (Unix seconds); false when the address is over its limit this minute.
   */
  allow(bytes: Uint8Array, off: number, len: number, now: number): boolean {
    if (this.limit === 0 || isLoopback(bytes, off, len)) return true;
    const minute = Math.floor(now / 60);
    let r0 = this.row0;
    let r1 = this.row1;
    if (r0 === null || r1 === null) {
      r0 = this.row0 = new Uint16Array(SLOTS);
      r1 = this.row1 = new Uint16Array(SLOTS);
      this.minute = minute;
    } else if (minute !== this.minute) {
      r0.fill(0);
      r1.fill(0);
      this.minute = minute;
    }
    const i0 = keyedHash(bytes, off, len, 0x5eed0001) & MASK;
    const i1 = keyedHash(bytes, off, len, 0x5eed0002) & MASK;
    const a = r0[i0]!;
    const b = r1[i1]!;
    const count = a < b ? a : b;
    if (count >= this.limit) return false;
    if (a === count) r0[i0] = count + 1;
    if (b === count) r1[i1] = count + 1;
    return true;
  }
}

/** 127.0.0.0/8 or ::1, as address bytes (IPv4-mapped IPv6 arrives here as IPv4). */
export function isLoopback(bytes: Uint8Array, off: number, len: number): boolean {
  if (len === 4) return bytes[off] === 127;
  for (let i = 0; i < 15; i++) if (bytes[off + i] !== 0) return false;
  return bytes[off + 15] === 1;
}
