/**
 * HTTP modes: GET /announce (and sometimes /scrape) over raw TCP (Bun.connect), with a
 * bounded number of connections.
 *
 *  http-close      a new connection per request with `Connection: close`, as most real
 *                  clients do; latency counts from the connect to the end of the answer.
 *  http-keepalive  persistent connections, one request in flight on each; latency counts
 *                  from the write. A server that closes anyway (opentracker closes after
 *                  every answer) is followed: the connection is re-opened and counted in
 *                  `reconnects`; a request written on a connection the server had already
 *                  closed is sent again on the new one, as HTTP clients do.
 *
 * With `--tls` (options.tls) the same workload runs over HTTPS: each connection is a TLS client
 * (Bun.connect's `tls`), so http-close pays a full handshake per request (Bun's client keeps no
 * session to resume) and http-keepalive one per connection. A TLS socket cannot be written to
 * before its handshake is done (a write in `open` is dropped), so the first request leaves from
 * the `handshake` handler; a handshake that fails verification counts in `handshakeFailures`.
 * Without TLS the handlers are exactly the plain ones: no per-request work is added.
 *
 * Raw TCP instead of fetch() keeps the client's own cost low: requests are written from
 * pre-encoded pieces into per-connection buffers, answers are framed and validated in place.
 * Each connection slot carries a generation in its socket's `data` so events from a socket
 * the slot has given up on (finished, timed out) are ignored.
 */
import { newSummary, summarizeTrackerDict } from "./bencode-check.ts";
import { LatencyHistogram } from "./histogram.ts";
import { HttpRequestWriter, maxRequestSize } from "./http-request.ts";
import { FRAME_BAD, FRAME_COMPLETE, FRAME_INCOMPLETE, frameResponse, newFrame } from "./http-response.ts";
import type { LoadOptions, LoadTls } from "./options.ts";
import { KIND_ANNOUNCE, KIND_SCRAPE, Population } from "./population.ts";
import { buildResult, Counters, type LoadResult } from "./result.ts";

const TIMEOUT_SCAN_MS = 50;
const RETRY_AFTER_CONNECT_ERROR_MS = 10;
const MAX_CONNECTIONS = 32_767; // slot index in the low 16 bits of socket.data
const LEAVE_END = 0;
const LEAVE_TERMINATE = 1;
const LEAVE_TO_SERVER = 2;

type Sock = Bun.Socket<number>;

/** Bun.connect's `tls` for options.tls: the CA file's PEM text, no verification, or the system's roots. */
export async function connectTls(tls: LoadTls): Promise<Bun.TLSOptions | true> {
  if (tls.caFile !== null) return { ca: await Bun.file(tls.caFile).text() };
  return tls.verify ? true : { rejectUnauthorized: false };
}

export async function runHttpLoad(options: LoadOptions): Promise<LoadResult> {
  const keepAlive = options.mode === "http-keepalive";
  const pop = new Population(options);
  // Requests started during the warm-up are accounted apart (and not reported).
  const counters = new Counters();
  const measuredLatency = new LatencyHistogram();
  const warmCounters = new Counters();
  const warmLatency = new LatencyHistogram();
  let measureStart = Infinity;
  /** The counters of a request started at `t`. */
  const acct = (t: number): Counters => (t >= measureStart ? counters : warmCounters);
  const conns = Math.min(options.connections, MAX_CONNECTIONS);
  const writer = new HttpRequestWriter(pop, options.target.host, options.target.port, keepAlive, options.numwant);
  const responseCap = Math.max(16_384, 1024 + 128 * Math.max(options.numwant, 50));
  const numwant = options.numwant;
  const timeoutMs = options.timeoutMs;

  const wbuf: Buffer[] = [];
  const rbuf: Uint8Array[] = [];
  const connectOptions: Bun.TCPSocketConnectOptions<number>[] = [];
  const sock: (Sock | null)[] = [];
  const wlen = new Int32Array(conns);
  const woff = new Int32Array(conns);
  const rlen = new Int32Array(conns);
  const gen = new Int32Array(conns);
  const served = new Int32Array(conns); // answers on the current connection
  const pending = new Uint8Array(conns); // a request is prepared and not yet answered
  const slotClient = new Int32Array(conns);
  const slotKind = new Uint8Array(conns);
  const slotEvent = new Uint8Array(conns);
  const slotExpected = new Int32Array(conns);
  const slotSentAt = new Float64Array(conns);
  const frame = newFrame();
  const summary = newSummary();
  let stopped = false;
  const tls = options.tls === null ? null : await connectTls(options.tls);

  /** A connection opened: it takes its client's slot (-1: not wanted any more, ended). */
  function take(s: Bun.Socket<number>): number {
    const c = current(s);
    if (c < 0 || stopped) {
      s.end();
      return -1;
    }
    sock[c] = s;
    served[c] = 0;
    return c;
  }

  const handlers: Bun.SocketHandler<number> = {
    open(s) {
      const c = take(s);
      if (c >= 0) writeRequest(c, s);
    },
    drain(s) {
      const c = current(s);
      if (c >= 0 && woff[c]! < wlen[c]!) {
        woff[c] = woff[c]! + s.write(wbuf[c]!, woff[c]!, wlen[c]! - woff[c]!);
      }
    },
    data(s, chunk) {
      const c = current(s);
      if (c < 0 || pending[c] === 0) return;
      const len = rlen[c]!;
      const buf = rbuf[c]!;
      if (len + chunk.length > buf.length) {
        acct(slotSentAt[c]!).invalidReply(() => "response larger than the read buffer");
        releaseClient(c);
        leave(c, s, LEAVE_TERMINATE);
        if (!stopped) next(c);
        return;
      }
      buf.set(chunk, len);
      rlen[c] = len + chunk.length;
      frameResponse(buf, rlen[c]!, false, frame);
      if (frame.state !== FRAME_INCOMPLETE) finish(c, s);
    },
    close(s) {
      const c = current(s);
      if (c < 0) return;
      sock[c] = null;
      if (pending[c] === 1) {
        if (rlen[c]! > 0) {
          frameResponse(rbuf[c]!, rlen[c]!, true, frame);
          if (frame.state === FRAME_COMPLETE) {
            // A body delimited by the end of the connection.
            settle(c);
            if (!stopped) next(c);
            return;
          }
          acct(slotSentAt[c]!).lost++;
          releaseClient(c);
        } else if (keepAlive && served[c]! > 0) {
          // The server closed the kept-alive connection as we wrote: send it again on a new
          // one (and count it sent once).
          const a = acct(slotSentAt[c]!);
          a.reconnects++;
          a.sent--;
        } else {
          acct(slotSentAt[c]!).lost++;
          releaseClient(c);
        }
      } else if (keepAlive) {
        acct(performance.now()).reconnects++;
      }
      if (!stopped) next(c);
    },
    connectError(s) {
      const c = current(s);
      if (c < 0) return;
      acct(performance.now()).sendErrors++;
      releaseClient(c);
      leave(c, null, LEAVE_END);
      if (!stopped) setTimeout(() => next(c), RETRY_AFTER_CONNECT_ERROR_MS);
    },
    error() {
      // close() follows and accounts for the request.
    },
    timeout(s) {
      s.end();
    },
  };

  // TLS: `open` only takes the socket; the request is written once the handshake is done.
  const tlsHandlers: Bun.SocketHandler<number> = {
    ...handlers,
    open(s) {
      take(s);
    },
    handshake(s, success, authorizationError) {
      const c = current(s);
      if (c < 0) return;
      if (stopped) {
        s.end();
        return;
      }
      if (success) {
        writeRequest(c, s);
        return;
      }
      const a = acct(performance.now());
      a.handshakeFailures++;
      a.handshakeError ??= authorizationError?.message ?? "TLS handshake failed";
      releaseClient(c);
      leave(c, s, LEAVE_TERMINATE);
      setTimeout(() => next(c), RETRY_AFTER_CONNECT_ERROR_MS);
    },
  };

  for (let c = 0; c < conns; c++) {
    wbuf.push(Buffer.alloc(maxRequestSize(options.scrapeMax)));
    rbuf.push(new Uint8Array(responseCap));
    sock.push(null);
    connectOptions.push(
      tls === null
        ? { hostname: options.target.host, port: options.target.port, data: c, socket: handlers }
        : { hostname: options.target.host, port: options.target.port, data: c, socket: tlsHandlers, tls },
    );
  }

  /** The slot of a socket still current for it, or -1 for a socket the slot gave up on. */
  function current(s: Sock): number {
    const c = s.data & 0xffff;
    return c < conns && s.data >>> 16 === gen[c] ? c : -1;
  }

  function releaseClient(c: number): void {
    if (pending[c] === 1) {
      pending[c] = 0;
      pop.busy[slotClient[c]!] = 0;
    }
    rlen[c] = 0;
  }

  /** Prepares the next request of slot c; false if every client is busy. */
  function prepare(c: number): boolean {
    const client = pop.nextIdleClient();
    if (client < 0) return false;
    pop.busy[client] = 1;
    slotClient[c] = client;
    const buf = wbuf[c]!;
    if (pop.planKind() === KIND_ANNOUNCE) {
      const event = pop.planEvent(client);
      wlen[c] = writer.writeAnnounce(buf, client, event, pop.leftFor(client, event));
      slotKind[c] = KIND_ANNOUNCE;
      slotEvent[c] = event;
      slotExpected[c] = numwant;
    } else {
      const n = pop.planScrape();
      wlen[c] = writer.writeScrape(buf, pop.scrapeTorrents, n);
      slotKind[c] = KIND_SCRAPE;
      slotExpected[c] = n;
    }
    pending[c] = 1;
    rlen[c] = 0;
    return true;
  }

  function writeRequest(c: number, s: Sock): void {
    if (keepAlive) slotSentAt[c] = performance.now();
    rlen[c] = 0;
    woff[c] = s.write(wbuf[c]!, 0, wlen[c]!);
    acct(performance.now()).sent++;
  }

  function openConnection(c: number): void {
    const g = (gen[c]! + 1) & 0x7fff;
    gen[c] = g;
    const opts = connectOptions[c]!;
    opts.data = (g << 16) | c;
    if (!keepAlive) slotSentAt[c] = performance.now();
    Bun.connect(opts).catch(() => {
      // connectError() accounts for it.
    });
  }

  /** Gives slot c its next request and a connection to send it on. */
  function next(c: number): void {
    if (stopped) return;
    if (pending[c] === 0 && !prepare(c)) {
      setTimeout(() => next(c), 1);
      return;
    }
    openConnection(c);
  }

  /** Validates the framed answer of slot c and counts it; the client is free afterwards. */
  function settle(c: number): void {
    const buf = rbuf[c]!;
    const kind = slotKind[c]!;
    const sentAt = slotSentAt[c]!;
    const counters = acct(sentAt);
    const latency = sentAt >= measureStart ? measuredLatency : warmLatency;
    if (frame.state === FRAME_BAD) {
      const reason = frame.reason;
      counters.invalidReply(() => reason);
    } else if (frame.status !== 200) {
      const status = frame.status;
      counters.invalidReply(() => `HTTP status ${status}`);
    } else if (!summarizeTrackerDict(buf, frame.bodyStart, frame.bodyEnd, summary)) {
      const start = frame.bodyStart;
      const end = Math.min(frame.bodyEnd, start + 80);
      counters.invalidReply(() => `body is not one bencoded dict: ${Buffer.from(buf.subarray(start, end)).toString("latin1")}`);
    } else if (summary.failureStart >= 0) {
      counters.trackerErrors++;
      const { failureStart, failureEnd } = summary;
      counters.invalidReply(() => `failure reason: ${Buffer.from(buf.subarray(failureStart, failureEnd)).toString("latin1")}`);
    } else if (kind === KIND_ANNOUNCE) {
      if (summary.interval < 0 || summary.peers < 0 || (numwant >= 0 && summary.peers > numwant)) {
        const { interval, peers } = summary;
        counters.invalidReply(() => `announce answer with interval ${interval}, peers ${peers}`);
      } else {
        latency.record((performance.now() - sentAt) * 1000);
        counters.announces++;
        counters.peersReceived += summary.peers;
        pop.announced(slotClient[c]!, slotEvent[c]!);
      }
    } else {
      if (summary.files < 0 || summary.files > slotExpected[c]!) {
        const { files } = summary;
        counters.invalidReply(() => `scrape answer with ${files} files for ${slotExpected[c]} asked`);
      } else {
        latency.record((performance.now() - sentAt) * 1000);
        counters.scrapes++;
      }
    }
    served[c] = served[c]! + 1;
    releaseClient(c);
  }

  function finish(c: number, s: Sock): void {
    const bad = frame.state === FRAME_BAD;
    const serverCloses = frame.close;
    settle(c);
    if (stopped) return;
    if (bad) {
      leave(c, s, LEAVE_TERMINATE);
      next(c);
    } else if (!keepAlive) {
      // The server closes this connection (we asked for that): leaving the close to it puts
      // the TIME_WAIT on the server's side, as with real clients, instead of eating the
      // generator's ephemeral ports. The next request starts now on a new connection.
      leave(c, s, LEAVE_TO_SERVER);
      next(c);
    } else if (serverCloses) {
      acct(performance.now()).reconnects++;
      leave(c, s, LEAVE_TO_SERVER);
      next(c);
    } else if (prepare(c)) {
      writeRequest(c, s);
    } else {
      leave(c, s, LEAVE_END);
      next(c);
    }
  }

  /**
   * Slot c stops using socket s: later events of s are ignored (the generation moves on).
   * LEAVE_TO_SERVER waits for the server's close, cutting it off after a second if none comes.
   */
  function leave(c: number, s: Sock | null, how: number): void {
    sock[c] = null;
    gen[c] = (gen[c]! + 1) & 0x7fff;
    if (s === null) return;
    if (how === LEAVE_END) s.end();
    else if (how === LEAVE_TERMINATE) s.terminate();
    else s.timeout(1);
  }

  measureStart = performance.now() + options.warmup * 1000;
  const timeoutTimer = setInterval(() => {
    const now = performance.now();
    for (let c = 0; c < conns; c++) {
      if (pending[c] === 1 && now - slotSentAt[c]! > timeoutMs) {
        acct(slotSentAt[c]!).lost++;
        releaseClient(c);
        leave(c, sock[c] ?? null, LEAVE_TERMINATE);
        next(c);
      }
    }
  }, TIMEOUT_SCAN_MS);

  for (let c = 0; c < conns; c++) next(c);
  await Bun.sleep((options.warmup + options.seconds) * 1000);
  stopped = true;
  const elapsed = (performance.now() - measureStart) / 1000;
  clearInterval(timeoutTimer);
  let inFlight = 0;
  for (let c = 0; c < conns; c++) {
    if (pending[c] === 1 && slotSentAt[c]! >= measureStart) inFlight++;
    leave(c, sock[c] ?? null, LEAVE_END);
  }
  return buildResult(options, counters, measuredLatency, elapsed, inFlight);
}
