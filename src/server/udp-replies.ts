/**
 * Outgoing UDP replies, batched: pooled buffers to write them into, and one `sendMany` per
 * event-loop turn.
 *
 * A reply is written into `next()` (one of `poolSize` preallocated buffers), then queued with
 * its destination. Queued replies go out together from setImmediate — after Bun has handed
 * over every datagram of the current receive batch — or at once when the pool is full
 * (measured ~1.2x the throughput of one `send` per reply, BENCHMARKS.md). Per reply nothing is
 * allocated but the `subarray` view sendMany needs for its length.
 *
 * ICMP: Bun enables IP_RECVERR, so a "port unreachable" from a client that went away is
 * reported on the socket by a later send, which then throws without sending; `sendMany`
 * stops at that datagram. flush() therefore sends the one that failed again on its own
 * (the error is consumed by the failed call) and carries on with the rest, so one departed
 * client does not cost the next healthy ones their answers.
 *
 * Shared by the tracker (src/server/udp.ts) and bench/compare/udp-ceiling.ts, so the ceiling
 * measured there batches exactly as the tracker does.
 */
import type { udp } from "bun";

export class UdpReplyQueue {
  private readonly pool: Buffer[] = [];
  /** sendMany's flat argument list: data, port, address, data, port, address, ... */
  private readonly batch: (Buffer | number | string)[] = [];
  private queued = 0;
  private flushScheduled = false;
  private readonly flushNow = (): void => this.flush();
  /** Where flush() sends; null (replies are dropped) until set, and after close. */
  sock: udp.Socket<"buffer"> | null = null;

  /**
   * @param poolSize     replies queued at most before a synchronous flush
   * @param maxReply     bytes of the largest reply
   * @param onSendError  called for a reply that could not be sent, even alone and retried
   */
  constructor(
    private readonly poolSize: number,
    maxReply: number,
    private readonly onSendError: () => void = () => {},
  ) {
    // One allocation, sliced: its pages become resident only once replies are written into
    // them (256 separate buffers of ~3.6 KB were 0.9 MiB resident from the start).
    const slab = Buffer.allocUnsafeSlow(poolSize * maxReply);
    for (let i = 0; i < poolSize; i++) this.pool.push(slab.subarray(i * maxReply, (i + 1) * maxReply));
  }

  /** The buffer the next reply is to be written into (at offset 0). */
  next(): Buffer {
    return this.pool[this.queued]!;
  }

  /** Queue the reply just written into next(): its first `len` bytes, to rport/address. */
  queue(len: number, rport: number, address: string): void {
    this.batch.push(this.pool[this.queued]!.subarray(0, len), rport, address);
    this.queued++;
    if (this.queued === this.poolSize) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** Send everything queued. */
  flush(): void {
    this.flushScheduled = false;
    const n = this.queued;
    if (n === 0) return;
    this.queued = 0;
    const batch = this.batch;
    const sock = this.sock;
    if (sock === null) {
      // Dropped, not kept: a queue left full would hand out a buffer past the pool's end.
      batch.length = 0;
      return;
    }
    let i = 0;
    while (i < n) {
      let sent = 0;
      try {
        // The common case sends the whole batch in one call; a retry after a failure sends the
        // rest (slice: the error path only).
        sent = sock.sendMany(i === 0 ? batch : batch.slice(i * 3));
      } catch {
        sent = 0;
      }
      i += sent;
      if (i >= n) break;
      // Packet i did not go: most often a pending ICMP error made it fail. Once more, alone.
      this.sendOne(sock, i);
      i++;
    }
    batch.length = 0;
  }

  /** Send queued reply k on its own, retrying after a reported ICMP error. */
  private sendOne(sock: udp.Socket<"buffer">, k: number): void {
    const batch = this.batch;
    const data = batch[k * 3] as Buffer;
    const rport = batch[k * 3 + 1] as number;
    const address = batch[k * 3 + 2] as string;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (sock.send(data, rport, address)) return;
      } catch {
        // a pending ICMP error, consumed by this call: try again
      }
    }
    this.onSendError();
  }
}
