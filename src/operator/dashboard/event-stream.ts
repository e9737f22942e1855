/**
 * Server-sent events (text/event-stream) to the dashboards that are open: each is a
 * ReadableStream body; a message is encoded once and enqueued to every stream.
 *
 * Bounds (anyone allowed by --stats-allow can open one, and with an empty list that is anyone):
 * - at most `maxStreams` at once; the next one is refused (the route answers 503);
 * - a client that does not read: once the socket's buffers are full Bun stops taking chunks off
 *   the stream (checked: desiredSize goes negative, the chunks wait in the stream's queue), so a
 *   stream whose queue passes `maxBacklog` messages is closed: its memory is bounded by
 *   maxBacklog messages plus the kernel's socket buffer;
 * - close() ends every stream, so a graceful stop does not wait for dashboards to go away
 *   (Bun's server.stop() waits for open requests, and a stream is one until it ends).
 */

const encoder = new TextEncoder();

/** Open streams at most. */
export const MAX_STREAMS = 32;
/** Messages queued for one stream at most (a message a second: half a minute unread). */
export const MAX_BACKLOG = 30;

/**
 * One server-sent event: `event: <name>` and a single `data:` line. `data` must hold no line
 * break: JSON.stringify output never does (it escapes them inside strings).
 */
export function sseMessage(event: string, data: string): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${data}\n\n`);
}

/** Ask EventSource to reconnect after `ms` when the stream ends (default is ~3 s anyway). */
export function sseRetry(ms: number): Uint8Array {
  return encoder.encode(`retry: ${ms}\n\n`);
}

export class EventStreams {
  private readonly streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  /** Bytes enqueued, every stream together (the caller counts them as HTTP bytes out). */
  bytesSent = 0;

  constructor(readonly maxStreams = MAX_STREAMS, readonly maxBacklog = MAX_BACKLOG) {}

  /** Streams open now. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * A new stream that starts with `first` (already encoded messages), or null when maxStreams
   * are open. It joins every later send() until the client goes away or close().
   */
  open(first: Uint8Array[]): ReadableStream<Uint8Array> | null {
    if (this.streams.size >= this.maxStreams) return null;
    const streams = this.streams;
    let me: ReadableStreamDefaultController<Uint8Array> | null = null;
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        me = c;
        streams.add(c);
        for (const m of first) this.enqueue(c, m);
      },
      // The client went away (Bun cancels the body).
      cancel: () => {
        if (me !== null) streams.delete(me);
      },
    });
  }

  /** Send one encoded message to every open stream. */
  send(message: Uint8Array): void {
    for (const c of this.streams) this.enqueue(c, message);
  }

  private enqueue(c: ReadableStreamDefaultController<Uint8Array>, message: Uint8Array): void {
    // desiredSize = 1 - queued chunks (the default queuing strategy): below -maxBacklog the
    // client has not read for maxBacklog messages.
    if ((c.desiredSize ?? 0) < -this.maxBacklog) {
      this.end(c);
      return;
    }
    try {
      c.enqueue(message);
      this.bytesSent += message.length;
    } catch {
      this.streams.delete(c); // already closed or errored
    }
  }

  private end(c: ReadableStreamDefaultController<Uint8Array>): void {
    this.streams.delete(c);
    try {
      c.close();
    } catch {
      // already closed
    }
  }

  /** End every stream (at stop). */
  close(): void {
    for (const c of [...this.streams]) this.end(c);
  }
}
