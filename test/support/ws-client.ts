/**
 * Test support: a WebSocket client (Bun's) with bounded waits, for the WebTorrent tracker.
 */
export class WsClient {
  private inbox: any[] = [];
  private waiting: ((m: any) => void) | null = null;
  /** The close code once closed. */
  closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data));
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(m);
      } else this.inbox.push(m);
    };
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve((e as CloseEvent).code)));
  }

  static open(url: string, ms = 3000): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => reject(new Error(`no WebSocket connection to ${url}`)), ms);
      ws.onopen = () => {
        clearTimeout(timer);
        resolve(new WsClient(ws));
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`WebSocket to ${url} failed`));
      };
    });
  }

  send(m: unknown): void {
    this.ws.send(typeof m === "string" || m instanceof Uint8Array ? m : JSON.stringify(m));
  }

  /** The next message, or an error after `ms`. */
  next(ms = 2000): Promise<any> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error("no WebSocket message in time"));
      }, ms);
      this.waiting = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    });
  }

  /** Send and wait for the next message. */
  async request(m: unknown, ms = 2000): Promise<any> {
    this.send(m);
    return this.next(ms);
  }

  /** No message arrives within `ms` (what was queued counts). */
  async quiet(ms = 200): Promise<boolean> {
    if (this.inbox.length > 0) return false;
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** A 20-character binary string: `c` repeated, first character `tag`. */
export function bin20(c: string, tag = c): string {
  return tag + c.repeat(19);
}
