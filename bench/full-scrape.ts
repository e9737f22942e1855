/**
 * Full scrape under many readers: the tracker in this process with --torrents torrents (default
 * 500,000: a ~35 MB body), then --clients raw TCP clients (default 20) ask for /scrape at once
 * and do not read; then as many curl processes read it all at once. Prints RSS before, with the
 * non-readers holding their answers, and at its peak while the readers read, the render time,
 * and the longest event-loop stall while the answers were being sent (a 1 ms timer; the render
 * itself is reported apart). Needs curl.
 *
 *   npx bun run bench/full-scrape.ts [--torrents N] [--clients N]
 *
 * Goal (issue 12): 20 concurrent full scrapes of a 35 MB body add less than 50 MiB RSS.
 */
import { connect, type Socket } from "node:net";
import { parseOptions } from "./cli-args.ts";
import { parseCommandLine } from "../src/config/config.ts";
import { LoopStallMonitor } from "../src/operator/loop-stall.ts";
import { AnnounceRequest } from "../src/rules/requests.ts";
import { AnnounceResult } from "../src/rules/results.ts";
import { startTracker } from "../src/tracker.ts";

const { torrents, clients } = parseOptions(Bun.argv.slice(2), "usage: npx bun run bench/full-scrape.ts [--torrents N] [--clients N]", {
  torrents: [500_000, 1, 10_000_000],
  clients: [20, 1, 1000],
});

const cli = parseCommandLine(["0", "--host", "127.0.0.1", "--quiet", "--full-scrape", "--full-scrape-max-concurrent", String(clients), "--full-scrape-cache", "600"], {});
if (cli.kind !== "run") throw new Error("config");
const tracker = await startTracker(cli.config);
const req = new AnnounceRequest();
req.infoHash = new Uint8Array(20);
req.peerId = new Uint8Array(20);
const res = new AnnounceResult();
const ih = new DataView(req.infoHash.buffer);
for (let t = 0; t < torrents; t++) {
  ih.setUint32(0, t * 2654435761);
  ih.setUint32(4, t);
  req.record.set([10, (t >> 16) & 255, (t >> 8) & 255, t & 255, 0x1a, 0xe1]);
  req.leftIsZero = (t & 1) === 0;
  tracker.rules.announce(req, res);
}
const rssMiB = () => process.memoryUsage().rss / 1048576;
Bun.gc(true);
await Bun.sleep(500);
const before = rssMiB();
console.log(`${tracker.rules.store.torrentCount} torrents; RSS ${before.toFixed(1)} MiB`);

// How long the loop was held at once (the tracker's own monitor, ticking every ms).
const stalls = new LoopStallMonitor(1);

// One reader first, to render (and time) the body.
const t0 = performance.now();
const first = await fetch(`http://127.0.0.1:${tracker.httpPort}/scrape`, { headers: { "Accept-Encoding": "identity" } });
const renderMs = performance.now() - t0;
const size = (await first.arrayBuffer()).byteLength;
console.log(`body ${(size / 1e6).toFixed(1)} MB, rendered (and headers sent) in ${renderMs.toFixed(0)} ms; longest loop stall while rendering and sending it ${stalls.longestEverMs.toFixed(1)} ms`);
stalls.reset();

// Clients that ask and do not read (paused sockets).
const sockets: Socket[] = [];
for (let i = 0; i < clients; i++) {
  const s = connect(tracker.httpPort, "127.0.0.1");
  await new Promise<void>((r) => s.on("connect", () => r()));
  s.pause();
  s.write("GET /scrape HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n");
  sockets.push(s);
}
await Bun.sleep(2000);
const holding = rssMiB();
console.log(`${clients} answers under way, nobody reading: RSS ${holding.toFixed(1)} MiB (+${(holding - before).toFixed(1)}); longest loop stall ${stalls.longestEverMs.toFixed(1)} ms`);

// Then they leave, and as many readers in other processes (curl, so that what they receive is
// not counted in this process's RSS) read the whole body at once.
for (const s of sockets) s.destroy();
await Bun.sleep(500);
let peak = rssMiB();
const sampler = setInterval(() => { peak = Math.max(peak, rssMiB()); }, 50);
const readers = Array.from({ length: clients }, () =>
  Bun.spawn(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "-H", "Accept-Encoding: identity", `http://127.0.0.1:${tracker.httpPort}/scrape`], { stdout: "pipe" }),
);
// Spawning the readers is this script's own work, not the tracker's: measure stalls from here.
stalls.reset();
const readStart = performance.now();
const sizes = await Promise.all(readers.map(async (p) => Number(await new Response(p.stdout).text())));
clearInterval(sampler);
stalls.stop();
const complete = sizes.filter((n) => n === size).length;
console.log(
  `${clients} readers in other processes: ${complete}/${clients} complete answers in ${((performance.now() - readStart) / 1000).toFixed(2)} s; peak RSS ${peak.toFixed(1)} MiB (+${(peak - before).toFixed(1)}); ` +
    `longest loop stall while sending ${stalls.longestEverMs.toFixed(1)} ms`,
);

await tracker.stop();
process.exit(0);
