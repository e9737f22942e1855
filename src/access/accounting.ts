/**
 * Private mode's accounting: what each passkey uploaded and downloaded per torrent, how often it
 * announced and how many completions it had counted.
 *
 * Clients report running totals for their session (`uploaded`, `downloaded`), so the tracker
 * keeps each peer's last report and records the difference. Everything happens in memory on the
 * announce path (two Map look-ups, no I/O); AccountingWriter moves the summed deltas to SQLite
 * every few seconds in one transaction, so the database sees one write per (key, torrent) per
 * flush whatever the announce rate, and the hot path never waits for the disk.
 *
 * Memory, per peer being followed (key + torrent + peer_id): about 300 bytes of process memory
 * (measured on Bun 1.4.5 with 1M peers: ~190 bytes of JS heap for the Map entry and the
 * two-number object, plus the 72-character one-byte key string, 20 + 20 + 32, whose characters
 * JSC keeps outside the heap). A (key, torrent) with usage waiting for the next flush costs about
 * as much (a 52-character key, the row object, a copy of the 20-byte info_hash). A peer's last
 * report is forgotten between `peerTimeout` and 2 x `peerTimeout` seconds after its last announce
 * (see Accounting.current). record() costs about 0.6-1 us (building the two one-byte strings and
 * the two Map look-ups).
 */
import type { PasskeyDb, UsageDelta } from "./passkey-db.ts";

export type AccountingEvent = "started" | "stopped" | "completed" | "none";

/** What a peer last reported (its session's running totals). */
interface PeerReport {
  uploaded: number;
  downloaded: number;
}

/**
 * The 20 bytes at buf[off ..] as a one-byte string (a compact, exact Map key). The info_hash and
 * peer_id come first in the keys below, so their fixed width keeps the concatenations unambiguous
 * whatever the passkey's length.
 */
function bytes20(buf: Uint8Array, off: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + off, 20).toString("latin1");
}

/** What a client's running total adds since its last report; a total that went down means the client started counting afresh. */
function delta(reported: number, previous: number): number {
  return reported >= previous ? reported - previous : reported;
}

export class Accounting {
  /**
   * info_hash + peer_id + passkey -> last report, in two generations: the peers seen since the
   * last rotation, and those seen in the generation before (a peer found there moves to the
   * current one). Every `peerTimeout` seconds the older generation is dropped whole, so a peer is
   * forgotten after at least `peerTimeout` and at most 2 x `peerTimeout` seconds of silence, at no
   * cost per announce and no sweep over the map (which would stall the loop with millions of
   * peers).
   */
  private current = new Map<string, PeerReport>();
  private previous = new Map<string, PeerReport>();
  private rotatedAt = -Infinity;
  /** info_hash + passkey -> the sums since the last takeBatch(). */
  private pending = new Map<string, UsageDelta>();

  /** `peerTimeout`: seconds without an announce after which a peer's last report may be forgotten. */
  constructor(private readonly peerTimeout: number) {}

  /** Records one announce that was answered; `completionCounted`: the rules counted its completion. */
  record(
    key: string, infoHash: Uint8Array, infoHashOff: number, peerId: Uint8Array, peerIdOff: number,
    uploaded: number, downloaded: number, event: AccountingEvent, completionCounted: boolean, now: number,
  ): void {
    this.expire(now);
    const hash = bytes20(infoHash, infoHashOff);
    const peerKey = hash + bytes20(peerId, peerIdOff) + key;
    const last = this.lastReport(peerKey);
    const fresh = last === undefined || event === "started";
    const sums = this.sumsFor(hash + key, key, infoHash, infoHashOff);
    sums.uploaded += delta(uploaded, fresh ? 0 : last.uploaded);
    sums.downloaded += delta(downloaded, fresh ? 0 : last.downloaded);
    sums.announces++;
    if (event === "completed" && completionCounted) sums.completions++;

    if (event === "stopped") {
      this.current.delete(peerKey);
    } else if (last === undefined) {
      this.current.set(peerKey, { uploaded, downloaded });
    } else {
      last.uploaded = uploaded;
      last.downloaded = downloaded;
    }
  }

  /**
   * Drops the older generation of peers if `peerTimeout` seconds went by since the last rotation
   * (record() does it too; the writer calls this so an idle tracker forgets as well). Returns how
   * many peers were forgotten.
   */
  expire(now: number): number {
    if (now - this.rotatedAt < this.peerTimeout) return 0;
    const dropped = this.previous.size;
    this.previous = this.current;
    this.current = new Map();
    this.rotatedAt = now;
    return dropped;
  }

  /** The sums since the last call, one row per (key, info_hash), for PasskeyDb.addUsage; starts afresh. */
  takeBatch(): UsageDelta[] {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    return batch;
  }

  /** Adds a batch that could not be written back to the pending sums (to go with the next one). */
  restore(batch: readonly UsageDelta[]): void {
    for (const d of batch) {
      const sums = this.sumsFor(bytes20(d.infoHash, 0) + d.key, d.key, d.infoHash, 0);
      sums.uploaded += d.uploaded;
      sums.downloaded += d.downloaded;
      sums.announces += d.announces;
      sums.completions += d.completions;
    }
  }

  /** Peers whose last report is kept. */
  get peerCount(): number {
    return this.current.size + this.previous.size;
  }

  /** (key, info_hash) rows waiting for the next batch. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The peer's last report, moved into the current generation if found in the previous one. */
  private lastReport(peerKey: string): PeerReport | undefined {
    const report = this.current.get(peerKey);
    if (report !== undefined) return report;
    const older = this.previous.get(peerKey);
    if (older !== undefined) {
      this.previous.delete(peerKey);
      this.current.set(peerKey, older);
    }
    return older;
  }

  private sumsFor(id: string, key: string, infoHash: Uint8Array, infoHashOff: number): UsageDelta {
    let sums = this.pending.get(id);
    if (sums === undefined) {
      sums = { key, infoHash: infoHash.slice(infoHashOff, infoHashOff + 20), uploaded: 0, downloaded: 0, announces: 0, completions: 0 };
      this.pending.set(id, sums);
    }
    return sums;
  }
}

/**
 * Writes the Accounting's sums to the database every `flushMs` and on demand. A failed write
 * (database locked past busy_timeout, disk full, closed) is reported through `warn` and its batch
 * goes back into the Accounting, to be written with the next one: addUsage is one transaction,
 * so a batch is written whole or not at all, never lost nor counted twice.
 */
export class AccountingWriter {
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastError = "";

  constructor(
    private readonly accounting: Accounting,
    private readonly db: Pick<PasskeyDb, "addUsage">,
    private readonly warn: (line: string) => void,
    private readonly flushMs = 3000,
  ) {}

  start(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = setInterval(() => this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Stops the timer (if started) and writes what is pending; true if that write succeeded. */
  stop(): boolean {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    return this.flush();
  }

  /** Drops quiet peers and writes the pending sums in one transaction; false (and warns) if that failed. */
  flush(now = Math.floor(Date.now() / 1000)): boolean {
    this.accounting.expire(now);
    const batch = this.accounting.takeBatch();
    if (batch.length === 0) return true;
    try {
      this.db.addUsage(batch);
      this.lastError = "";
      return true;
    } catch (e) {
      this.accounting.restore(batch);
      const message = (e as Error).message;
      // Once per kind of failure, not every few seconds while it lasts.
      if (message !== this.lastError) this.warn(`accounting: cannot write usage (${batch.length} rows kept for the next try): ${message}`);
      this.lastError = message;
      return false;
    }
  }
}
