/**
 * WebSocket (WebTorrent) tracker load generator, on Bun's built-in WebSocket client.
 *
 * Each connection is one peer (its own peer_id) in one of `--swarms` swarms (connection i in
 * swarm i mod swarms; odd connections seed, even ones leech). It announces with `--offers`
 * offers (~700-byte SDPs, distinct offer_ids) in a loop, `--inflight` announces outstanding at
 * most (default 1: the next one leaves when the tracker's announce answer arrives), the first
 * with event=started. When it RECEIVES a relayed offer it sends the answer back (to_peer_id =
 * the offerer, same offer_id), as a real client does. About `--scrape-ratio` of its requests
 * are scrapes of 1-5 of the run's info_hashes instead.
 *
 * Counted over `--seconds` after `--warmup`: announces answered, relayed offers received,
 * relayed answers received, scrapes answered, failures (any `failure reason`), and what went
 * wrong (timeouts, unsolicited answers, misrouted relays, unexpected closes). Loopback only;
 * bounded in time; every socket is closed at the end.
 *
 *   npx bun run bench/ws/load.ts --target ws://127.0.0.1:PORT [--connections 200]
 *     [--swarms 20] [--offers 5] [--seconds 10] [--warmup 1] [--json]
 *   npx bun run bench/ws/load.ts --target wss://127.0.0.1:TLS_PORT --ca cert.pem   (or --tls-no-verify)
 *
 * wss:// (still loopback only) goes through Bun's WebSocket client's `tls` option: `--ca FILE`
 * verifies the server's certificate against FILE, `--tls-no-verify` accepts any; neither: the
 * system's roots. A ws:// target takes neither option.
 *
 * `--sources N` (spread over 127.0.0.1..N) is refused for N > 1: Bun's WebSocket client has
 * no local-address option (it ignores `localAddress`), see bench/ws/README.md. bench/ws/hold.ts
 * spreads its connections with its own minimal client on Bun.connect instead.
 */
import {
  announceHead,
  announceText,
  answerPool,
  answerText,
  assertLoopbackUrl,
  binaryString,
  offerEntry,
  offerPool,
  parseArgs,
  peerIdFor,
  percentile,
  prng,
  scrapeText,
  swarmInfoHashes,
} from "./protocol.ts";

const USAGE = `usage: npx bun run bench/ws/load.ts --target ws://127.0.0.1:PORT [options]
  --target URL        ws://HOST:PORT or wss://HOST:PORT, loopback only
  --ca FILE           wss://: verify the server's certificate against FILE (PEM)
  --tls-no-verify     wss://: accept any certificate (no verification)
  --connections N     peers, one WebSocket each (default 200, at most 10000)
  --swarms N          swarms the peers are spread over (default 20)
  --offers N          offers per announce (default 5)
  --seconds S         measured time (default 10, at most 120)
  --warmup S          run but not counted, after every socket is open (default 1)
  --inflight N        announces outstanding per connection (default 1)
  --answers 0|1       answer every relayed offer, as browsers do (default 1); 0: offers only
  --scrape-ratio F    share of requests that are scrapes (default 0.02)
  --timeout-ms MS     an outstanding request older than this is counted lost (default 5000)
  --connect-timeout-ms MS  give up opening sockets after this (default 30000)
  --seed N            ids and SDPs (default 1)
  --sources N         only 1: Bun's WebSocket client cannot bind a source address
  --mark-window       write "window-start" / "window-end" lines on stderr as the measured
                      window opens and closes (for a caller sampling the server's CPU)
  --json              print one JSON object on stdout`;

const opts = parseArgs(
  process.argv.slice(2),
  {
    target: "",
    connections: 200,
    swarms: 20,
    offers: 5,
    seconds: 10,
    warmup: 1,
    inflight: 1,
    answers: 1,
    scrapeRatio: 0.02,
    timeoutMs: 5000,
    connectTimeoutMs: 30_000,
    seed: 1,
    sources: 1,
    ca: "",
    tlsNoVerify: false,
    markWindow: false,
    json: false,
  },
  USAGE,
);

if (!opts.target) {
  console.error(USAGE);
  process.exit(2);
}
let url: URL;
try {
  url = assertLoopbackUrl(opts.target, true);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const secure = url.protocol === "wss:";
if (!secure && (opts.ca !== "" || opts.tlsNoVerify)) {
  console.error(`${opts.ca !== "" ? "--ca" : "--tls-no-verify"}: only with a wss:// target`);
  process.exit(2);
}
if (opts.ca !== "" && opts.tlsNoVerify) {
  console.error("--ca and --tls-no-verify exclude each other");
  process.exit(2);
}
/** The WebSocket client's options: none for ws://. */
let wsOptions: { tls: { ca: string } | { rejectUnauthorized: false } | Record<string, never> } | undefined;
if (secure) {
  try {
    wsOptions = { tls: opts.ca !== "" ? { ca: await Bun.file(opts.ca).text() } : opts.tlsNoVerify ? { rejectUnauthorized: false } : {} };
  } catch (e) {
    console.error(`--ca: cannot read ${opts.ca}: ${(e as Error).message}`);
    process.exit(2);
  }
}
if (opts.sources !== 1) {
  console.error(
    "--sources: Bun's WebSocket client cannot bind a local (source) address (no such option; `localAddress` is ignored): only --sources 1. See bench/ws/README.md.",
  );
  process.exit(2);
}
const CONNECTIONS = Math.max(1, Math.min(10_000, Math.floor(opts.connections)));
const SWARMS = Math.max(1, Math.min(CONNECTIONS, Math.floor(opts.swarms)));
const OFFERS = Math.max(0, Math.min(50, Math.floor(opts.offers)));
const SECONDS = Math.max(0.5, Math.min(120, opts.seconds));
const WARMUP = Math.max(0, Math.min(30, opts.warmup));
const INFLIGHT = Math.max(1, Math.min(64, Math.floor(opts.inflight)));

const rand = prng(opts.seed);
const infoHashes = swarmInfoHashes(SWARMS, 0x5eed + opts.seed);
const OFFER_POOL = offerPool(Math.max(64, OFFERS * 64), opts.seed * 7919 + 1);
const ANSWER_POOL = answerPool(64, opts.seed * 7919 + 2);
let offerCursor = 0;
let answerCursor = 0;

interface Conn {
  id: number;
  ws: WebSocket;
  infoHash: string;
  peerId: string;
  head: string;
  left: number;
  /** Send times of outstanding announces / scrapes, oldest first. */
  announcesOut: number[];
  scrapesOut: number[];
  requests: number;
  open: boolean;
  closed: boolean;
}

const counts = {
  announcesSent: 0,
  announces: 0,
  offersSent: 0,
  offersReceived: 0,
  answersSent: 0,
  answersReceived: 0,
  scrapesSent: 0,
  scrapes: 0,
  failures: 0,
  timeouts: 0,
  unsolicited: 0,
  misrouted: 0,
  selfRelayed: 0,
  unknown: 0,
  badJson: 0,
  bytesSent: 0,
  bytesReceived: 0,
};
type Counts = typeof counts;
const zero: Counts = { ...counts };
let win: Counts = { ...zero };
let measuring = false;
let running = true;
let connectFailures = 0;
let closesUnexpected = 0;
const closeCodes = new Map<string, number>();
const failureSamples: string[] = [];
const failureReasons = new Map<string, number>();
const unknownSamples: string[] = [];
const latencies: number[] = [];
const extensions = new Map<string, number>();

function bump(key: keyof Counts, by = 1): void {
  counts[key] += by;
  if (measuring) win[key] += by;
}

function send(c: Conn, text: string): void {
  c.ws.send(text);
  bump("bytesSent", text.length);
}

function sendNext(c: Conn): void {
  while (running && c.open && c.announcesOut.length + c.scrapesOut.length < INFLIGHT) {
    c.requests++;
    if (c.requests > 1 && rand() < opts.scrapeRatio) {
      const n = 1 + Math.floor(rand() * Math.min(5, SWARMS));
      const hashes = [c.infoHash];
      for (let i = 1; i < n; i++) hashes.push(infoHashes[Math.floor(rand() * SWARMS)]!);
      c.scrapesOut.push(performance.now());
      send(c, scrapeText(hashes));
      bump("scrapesSent");
      continue;
    }
    const offers: string[] = [];
    for (let i = 0; i < OFFERS; i++) {
      offers.push(offerEntry(OFFER_POOL[offerCursor]!, binaryString(rand, 20)));
      offerCursor = offerCursor + 1 === OFFER_POOL.length ? 0 : offerCursor + 1;
    }
    c.announcesOut.push(performance.now());
    send(c, announceText(c.head, c.left, c.requests === 1 ? "started" : null, offers));
    bump("announcesSent");
    bump("offersSent", OFFERS);
  }
}

function onAnnounceAnswer(c: Conn, now: number): void {
  const t = c.announcesOut.shift();
  if (t === undefined) {
    bump("unsolicited");
    return;
  }
  bump("announces");
  if (measuring && latencies.length < 5_000_000) latencies.push(now - t);
  sendNext(c);
}

function onScrapeAnswer(c: Conn): void {
  if (c.scrapesOut.shift() === undefined) {
    bump("unsolicited");
    return;
  }
  bump("scrapes");
  sendNext(c);
}

function onMessage(c: Conn, text: string): void {
  const now = performance.now();
  bump("bytesReceived", text.length);
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text);
  } catch {
    bump("badJson");
    return;
  }
  if (m["failure reason"] !== undefined) {
    // Not taken as the answer to an outstanding request: a tracker may also refuse an answer
    // message (which gets no reply when accepted), and nothing in the failure says which
    // message it is for. An announce refused outright waits for --timeout-ms instead.
    bump("failures");
    const reason = String(m["failure reason"]).slice(0, 160);
    if (failureReasons.size < 20 || failureReasons.has(reason)) failureReasons.set(reason, (failureReasons.get(reason) ?? 0) + 1);
    if (failureSamples.length < 3) failureSamples.push(text.slice(0, 200));
    return;
  }
  if (m.action === "announce") {
    if (m.offer !== undefined) {
      bump("offersReceived");
      if (m.info_hash !== c.infoHash) bump("misrouted");
      if (m.peer_id === c.peerId) bump("selfRelayed");
      if (opts.answers !== 0 && typeof m.peer_id === "string" && m.offer_id !== undefined && running) {
        const answer = ANSWER_POOL[answerCursor]!;
        answerCursor = answerCursor + 1 === ANSWER_POOL.length ? 0 : answerCursor + 1;
        send(c, answerText(c.head, JSON.stringify(m.peer_id), answer, JSON.stringify(m.offer_id)));
        bump("answersSent");
      }
      return;
    }
    if (m.answer !== undefined) {
      bump("answersReceived");
      if (m.info_hash !== c.infoHash) bump("misrouted");
      return;
    }
    if (m.complete !== undefined || m.incomplete !== undefined || m.interval !== undefined) {
      onAnnounceAnswer(c, now);
      return;
    }
  } else if (m.action === "scrape" && typeof m.files === "object" && m.files !== null) {
    onScrapeAnswer(c);
    return;
  }
  bump("unknown");
  if (unknownSamples.length < 5) unknownSamples.push(text.slice(0, 200));
}

const conns: Conn[] = [];
const wsUrl = url.toString();

function openOne(id: number): Promise<void> {
  const infoHash = infoHashes[id % SWARMS]!;
  const peerId = peerIdFor(rand);
  return new Promise<void>((resolve) => {
    const ws = wsOptions === undefined ? new WebSocket(wsUrl) : new WebSocket(wsUrl, wsOptions);
    const c: Conn = {
      id,
      ws,
      infoHash,
      peerId,
      head: announceHead(infoHash, peerId),
      left: id % 2 === 1 ? 0 : 734_003_200,
      announcesOut: [],
      scrapesOut: [],
      requests: 0,
      open: false,
      closed: false,
    };
    ws.onopen = () => {
      c.open = true;
      conns.push(c);
      extensions.set(ws.extensions, (extensions.get(ws.extensions) ?? 0) + 1);
      sendNext(c);
      resolve();
    };
    ws.onmessage = (ev) => onMessage(c, typeof ev.data === "string" ? ev.data : String(ev.data));
    const failed = () => {
      if (!c.open && !c.closed) {
        connectFailures++;
        resolve();
      }
      c.closed = true;
    };
    ws.onerror = failed;
    ws.onclose = (ev) => {
      if (c.open && running) {
        closesUnexpected++;
        const key = `${ev.code}${ev.reason ? ` ${ev.reason}` : ""}`;
        closeCodes.set(key, (closeCodes.get(key) ?? 0) + 1);
      }
      failed();
      c.open = false;
    };
  });
}

async function openAll(): Promise<void> {
  const deadline = performance.now() + opts.connectTimeoutMs;
  let next = 0;
  const worker = async () => {
    while (next < CONNECTIONS && performance.now() < deadline) await openOne(next++);
  };
  await Promise.race([
    Promise.all(Array.from({ length: Math.min(256, CONNECTIONS) }, worker)),
    Bun.sleep(opts.connectTimeoutMs),
  ]);
}

const watchdog = setInterval(() => {
  const now = performance.now();
  for (const c of conns) {
    const oldest = Math.min(c.announcesOut[0] ?? Infinity, c.scrapesOut[0] ?? Infinity);
    if (now - oldest > opts.timeoutMs) {
      bump("timeouts", c.announcesOut.length + c.scrapesOut.length);
      c.announcesOut.length = 0;
      c.scrapesOut.length = 0;
      sendNext(c);
    }
  }
}, 200);

async function closeAll(): Promise<number> {
  running = false;
  clearInterval(watchdog);
  const all = conns.map((c) => c.ws);
  for (const ws of all) {
    try {
      ws.close(1000);
    } catch {
      // already closing
    }
  }
  const deadline = performance.now() + 3000;
  while (performance.now() < deadline && all.some((ws) => ws.readyState !== WebSocket.CLOSED)) await Bun.sleep(20);
  return all.filter((ws) => ws.readyState !== WebSocket.CLOSED).length;
}

let notClosed = 0;
let measuredSeconds = 0;
let cpuSeconds = 0;
const t0 = performance.now();
try {
  await openAll();
  const connectSeconds = (performance.now() - t0) / 1000;
  if (!opts.json) console.error(`${conns.length}/${CONNECTIONS} connections open in ${connectSeconds.toFixed(2)} s`);
  await Bun.sleep(WARMUP * 1000);
  win = { ...zero };
  const cpu0 = process.cpuUsage();
  const m0 = performance.now();
  measuring = true;
  if (opts.markWindow) process.stderr.write("window-start\n");
  await Bun.sleep(SECONDS * 1000);
  measuring = false;
  if (opts.markWindow) process.stderr.write("window-end\n");
  measuredSeconds = (performance.now() - m0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  cpuSeconds = (cpu.user + cpu.system) / 1e6;
} finally {
  notClosed = await closeAll();
}

latencies.sort((a, b) => a - b);
const w = win;
const rate = (n: number) => n / measuredSeconds;
const result = {
  target: wsUrl,
  connections: CONNECTIONS,
  connected: conns.length,
  swarms: SWARMS,
  offers: OFFERS,
  inflight: INFLIGHT,
  seconds: Number(measuredSeconds.toFixed(3)),
  announcesPerSec: rate(w.announces),
  offersReceivedPerSec: rate(w.offersReceived),
  answersReceivedPerSec: rate(w.answersReceived),
  scrapesPerSec: rate(w.scrapes),
  offersSentPerSec: rate(w.offersSent),
  answersSentPerSec: rate(w.answersSent),
  /** Relayed offers received per offer sent (npm: min(offers, swarm size - 1) of them). */
  relayRatio: w.offersSent > 0 ? w.offersReceived / w.offersSent : 0,
  announceLatencyMs: {
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies.length ? latencies[latencies.length - 1]! : NaN,
  },
  mbSentPerSec: rate(w.bytesSent) / 1e6,
  mbReceivedPerSec: rate(w.bytesReceived) / 1e6,
  failures: w.failures,
  timeouts: w.timeouts,
  unsolicited: w.unsolicited,
  misrouted: w.misrouted,
  selfRelayed: w.selfRelayed,
  unknown: w.unknown,
  badJson: w.badJson,
  connectFailures,
  closesUnexpected,
  closeCodes: Object.fromEntries(closeCodes),
  notClosedAtEnd: notClosed,
  clientCpuShare: cpuSeconds / measuredSeconds,
  extensions: Object.fromEntries(extensions),
  totals: counts,
  failureReasons: Object.fromEntries(failureReasons),
  failureSamples,
  unknownSamples,
};

if (opts.json) {
  console.log(JSON.stringify(result));
} else {
  const f = (n: number) => n.toLocaleString("en-US", { maximumFractionDigits: 0 });
  const lines = [
    `target ${result.target}: ${result.connected}/${CONNECTIONS} connections, ${SWARMS} swarms, ${OFFERS} offers/announce, ${result.seconds} s measured`,
    `announces/s        ${f(result.announcesPerSec)}   (latency ms p50 ${result.announceLatencyMs.p50.toFixed(2)}, p90 ${result.announceLatencyMs.p90.toFixed(2)}, p99 ${result.announceLatencyMs.p99.toFixed(2)}, max ${result.announceLatencyMs.max.toFixed(1)})`,
    `offers received/s  ${f(result.offersReceivedPerSec)}   (sent ${f(result.offersSentPerSec)}/s, relay ratio ${result.relayRatio.toFixed(3)})`,
    `answers received/s ${f(result.answersReceivedPerSec)}   (sent ${f(result.answersSentPerSec)}/s)`,
    `scrapes/s          ${f(result.scrapesPerSec)}`,
    `traffic            ${result.mbSentPerSec.toFixed(1)} MB/s out, ${result.mbReceivedPerSec.toFixed(1)} MB/s in`,
    `failures ${result.failures}, timeouts ${result.timeouts}, unsolicited ${result.unsolicited}, misrouted ${result.misrouted}, self-relayed ${result.selfRelayed}, unknown ${result.unknown}, bad JSON ${result.badJson}`,
    `connect failures ${connectFailures}, unexpected closes ${closesUnexpected}${closeCodes.size ? ` (code: count ${JSON.stringify(result.closeCodes)})` : ""}, not closed at end ${notClosed}`,
    `client CPU ${(result.clientCpuShare * 100).toFixed(0)}% of a core; extensions negotiated ${JSON.stringify(result.extensions)}`,
  ];
  for (const [reason, n] of failureReasons) lines.push(`  failure x${n}: ${reason}`);
  for (const s of failureSamples) lines.push(`  failure: ${s}`);
  for (const s of unknownSamples) lines.push(`  unknown: ${s}`);
  console.log(lines.join("\n"));
}
process.exit(0);
