/**
 * Sends a fixed list of BEP 15 requests ("jobs") to a loopback tracker, each answered once,
 * with a bounded window, retries on timeout, and connection ids per socket. Used by the
 * memory test to fill a tracker and then read it back with scrapes; throughput matters
 * less here than completeness: every job is retried until answered (or out of tries).
 */
const PROTOCOL_ID = Buffer.from("0000041727101980", "hex");
const MAX_WINDOW = 65_536;

export interface UdpJobsOptions {
  port: number;
  jobs: number;
  window: number;
  sockets: number;
  timeoutMs: number;
  tries: number;
  /** Writes job i into buf (the connection id already at 0..8, the txid at 12..16); returns its length. */
  write(i: number, buf: Buffer): number;
  /** Checks job i's answer (txid already matched); false counts it failed (no retry). */
  answer(i: number, reply: Buffer): boolean;
}

export interface UdpJobsResult {
  answered: number;
  failed: number;
  /** Jobs that never got an answer in `tries` attempts. */
  unanswered: number;
  retries: number;
  seconds: number;
}

export async function runUdpJobs(o: UdpJobsOptions): Promise<UdpJobsResult> {
  const window = Math.min(o.window, MAX_WINDOW);
  const slotBuf = Buffer.alloc(2048 * window);
  const slotJob = new Int32Array(window).fill(-1);
  const slotGen = new Uint16Array(window);
  const slotSent = new Float64Array(window);
  const tries = new Uint8Array(o.jobs);
  const retry: number[] = [];
  const free: number[] = [];
  for (let s = window - 1; s >= 0; s--) free.push(s);
  let nextJob = 0;
  let answered = 0;
  let failed = 0;
  let unanswered = 0;
  let retries = 0;
  let done = (): void => {};
  const finished = new Promise<void>((r) => (done = r));

  // Connection ids, one per socket (a tracker binds them to the source address and port).
  const connIds: Buffer[] = [];
  const connAt = new Float64Array(o.sockets);
  const sockets: Bun.udp.ConnectedSocket<"buffer">[] = [];
  const connectWaiters: ((b: Buffer) => void)[] = [];
  for (let k = 0; k < o.sockets; k++) {
    connIds.push(Buffer.alloc(8));
    sockets.push(
      await Bun.udpSocket({
        hostname: "127.0.0.1",
        port: 0,
        connect: { hostname: "127.0.0.1", port: o.port },
        socket: {
          data(_s, buf) {
            if (buf.length >= 16 && buf.readUInt32BE(0) === 0 && buf.readUInt32BE(4) === 0xc0ffee00 + k) {
              connectWaiters[k]?.(buf);
              return;
            }
            onReply(buf);
          },
          error() {},
        },
      }),
    );
  }

  async function connect(k: number): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const req = Buffer.alloc(16);
      PROTOCOL_ID.copy(req, 0);
      req.writeUInt32BE(0xc0ffee00 + k, 12);
      const reply = await new Promise<Buffer | null>((res) => {
        connectWaiters[k] = res;
        setTimeout(() => res(null), 200);
        sockets[k]!.send(req);
      });
      if (reply) {
        reply.copy(connIds[k]!, 0, 8, 16);
        connAt[k] = performance.now();
        return;
      }
    }
    throw new Error("no answer to connect");
  }

  function onReply(buf: Buffer): void {
    if (buf.length < 8) return;
    const txid = buf.readUInt32BE(4);
    const slot = txid & 0xffff;
    if (slot >= window || slotJob[slot]! < 0 || slotGen[slot] !== txid >>> 16) return;
    const job = slotJob[slot]!;
    slotJob[slot] = -1;
    free.push(slot);
    if (o.answer(job, buf)) answered++;
    else failed++;
    pump();
  }

  let pumping = false;
  function pump(): void {
    if (pumping) return;
    pumping = true;
    setImmediate(() => {
      pumping = false;
      fill();
    });
  }

  function fill(): void {
    while (free.length > 0) {
      let job: number;
      if (retry.length > 0) job = retry.pop()!;
      else if (nextJob < o.jobs) job = nextJob++;
      else break;
      const slot = free.pop()!;
      const gen = (slotGen[slot]! + 1) & 0xffff;
      slotGen[slot] = gen;
      const k = job % o.sockets;
      const buf = slotBuf.subarray(slot * 2048, slot * 2048 + 2048);
      connIds[k]!.copy(buf, 0);
      buf.writeUInt32BE(((gen << 16) | slot) >>> 0, 12);
      const len = o.write(job, buf);
      slotJob[slot] = job;
      slotSent[slot] = performance.now();
      tries[job] = tries[job]! + 1;
      try {
        sockets[k]!.send(buf.subarray(0, len));
      } catch {
        // counted as a timeout below
      }
    }
    if (free.length === window && retry.length === 0 && nextJob >= o.jobs) done();
  }

  const start = performance.now();
  for (let k = 0; k < o.sockets; k++) await connect(k);
  const timer = setInterval(() => {
    const now = performance.now();
    for (let s = 0; s < window; s++) {
      const job = slotJob[s]!;
      if (job >= 0 && now - slotSent[s]! > o.timeoutMs) {
        slotJob[s] = -1;
        free.push(s);
        if (tries[job]! < o.tries) {
          retry.push(job);
          retries++;
        } else {
          unanswered++;
        }
      }
    }
    // BEP 15: a connection id is good for a minute; refresh well before.
    for (let k = 0; k < o.sockets; k++) if (now - connAt[k]! > 50_000) void connect(k);
    fill();
  }, 100);
  try {
    fill();
    await finished;
  } finally {
    clearInterval(timer);
    for (const s of sockets) s.close();
  }
  return { answered, failed, unanswered, retries, seconds: (performance.now() - start) / 1000 };
}
