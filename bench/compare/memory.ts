/**
 * Memory at sc6's published load: 760,000 peers in 520,000 torrents (sc6: 91 MB).
 *
 *   bun run bench/compare/memory.ts [--only ours|opentracker] [--peers N] [--torrents N]
 *                                   [--settle SECONDS] [--peer-ids] [--binary PATH] [--json]
 *
 * For each tracker: start it fresh on a free port (opentracker with a whitelist of the
 * torrents), read its idle RSS, announce every peer exactly once over UDP (event=started,
 * numwant=0, half seeders), check with scrapes that it holds exactly that (every torrent has
 * at least one peer, the seeders + leechers add up to the peer count), wait --settle seconds
 * (default 30: the allocators hand the fill's garbage back over ~20 s, and a tracker's steady
 * state is what an operator pays for; RSS is printed each second), read RSS again (VmRSS, its
 * anonymous/file split, and the peak VmHWM from /proc/PID/status), and stop it.
 * --peer-ids: first send ours one compact=0 announce, so it keeps every peer's peer_id.
 * --binary PATH: measure the compiled single binary (npm run build) instead of bun + src.
 *
 * Peers: the first 520,000 go one to each torrent, the other 240,000 by Zipf popularity
 * (exponent 1: the hottest torrent gets ~17,000). All come from 127.0.0.1, so a tracker
 * tells them apart by port: the k-th peer of a torrent gets a port distinct within it.
 */
import { join } from "node:path";
import { intArg } from "../cli-args.ts";
import { generateInfoHashes, writeWhitelist } from "../load/info-hashes.ts";
import { Rng, ZipfSampler } from "../load/rng.ts";
import { writeAnnounceRequest, type AnnounceFields } from "../load/udp-wire.ts";
import {
  freePort,
  makeWorkDir,
  opentrackerInstalled,
  readPeakRssKiB,
  readRssKiB,
  readStatusField,
  startOpentracker,
  startOurs,
  stopAll,
  type RunningServer,
  type ServerName,
} from "./servers.ts";
import { mib, table } from "./stats.ts";
import { runUdpJobs } from "./udp-jobs.ts";

const SC6_MB = 91;
const SCRAPE_BATCH = 74; // the most info_hashes that fit one BEP 15 scrape datagram
const PORT_SPAN = 64_000;

interface MemoryOptions {
  only: ServerName | null;
  peers: number;
  torrents: number;
  seed: number;
  window: number;
  /** Seconds to wait after the fill before reading RSS. */
  settle: number;
  /** Ours: ask for a compact=0 answer first, so peer ids are kept for every peer. */
  peerIds: boolean;
  /** Ours: run this compiled binary (npm run build) instead of `bun run src/main.ts`. */
  binary: string | undefined;
  json: boolean;
}

interface MemoryResult {
  server: ServerName;
  peers: number;
  torrents: number;
  idleRssKiB: number | null;
  filledRssKiB: number | null;
  peakRssKiB: number | null;
  /** The filled RSS split: anonymous memory (heap, tables) and file pages (the executable). */
  anonRssKiB: number | null;
  fileRssKiB: number | null;
  /** Scrape totals after the fill. */
  verifiedPeers: number;
  verifiedTorrents: number;
  fillSeconds: number;
  fillRetries: number;
  fillFailed: number;
  ok: boolean;
  error?: string;
}

function parseArgs(argv: string[]): MemoryOptions {
  const o: MemoryOptions = { only: null, peers: 760_000, torrents: 520_000, seed: 1, window: 128, settle: 30, peerIds: false, binary: undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") {
      o.json = true;
      continue;
    }
    if (a === "--peer-ids") {
      o.peerIds = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) fail(`${a} needs a value`);
    const int = (min: number, max: number): number => intArg(a, v, min, max, fail);
    switch (a) {
      case "--only":
        if (v !== "ours" && v !== "opentracker") fail("--only takes ours or opentracker");
        o.only = v;
        break;
      case "--peers": o.peers = int(1, 10_000_000); break;
      case "--torrents": o.torrents = int(1, 5_000_000); break;
      case "--seed": o.seed = int(0, 0xffff_ffff); break;
      case "--window": o.window = int(1, 4096); break;
      case "--settle": o.settle = int(0, 600); break;
      case "--binary": o.binary = v; break;
      default: fail(`unknown option ${a}`);
    }
  }
  if (o.peers < o.torrents) fail("--peers must be at least --torrents (every torrent gets a peer)");
  return o;
}

function fail(message: string): never {
  console.error(`error: ${message}\nUsage: bun run bench/compare/memory.ts [--only ours|opentracker] [--peers N] [--torrents N] [--seed S] [--window W] [--settle SECONDS] [--peer-ids] [--binary PATH] [--json]`);
  process.exit(2);
}

/** Which torrent and port each peer announces. */
function planPeers(o: MemoryOptions): { torrentOf: Int32Array; portOf: Uint16Array; seeder: Uint8Array; peerIds: Buffer } {
  const torrentOf = new Int32Array(o.peers);
  const portOf = new Uint16Array(o.peers);
  const seeder = new Uint8Array(o.peers);
  const perTorrent = new Int32Array(o.torrents);
  const rng = new Rng(o.seed ^ 0x6d656d);
  const zipf = new ZipfSampler(o.torrents, 1);
  const peerIds = Buffer.allocUnsafe(20 * o.peers);
  for (let i = 0; i < o.peers; i++) {
    let t = i < o.torrents ? i : zipf.sample(rng);
    while (perTorrent[t]! >= PORT_SPAN) t = rng.below(o.torrents);
    const k = perTorrent[t]!;
    perTorrent[t] = k + 1;
    torrentOf[i] = t;
    portOf[i] = 1024 + ((t * 7919 + k) % PORT_SPAN);
    seeder[i] = i & 1;
    peerIds.write("-LG0001-", 20 * i, "latin1");
    for (let j = 8; j < 20; j += 4) peerIds.writeUInt32BE(rng.u32(), 20 * i + j);
  }
  return { torrentOf, portOf, seeder, peerIds };
}

async function measure(
  name: ServerName,
  o: MemoryOptions,
  plan: ReturnType<typeof planPeers>,
  hashes: Buffer,
  whitelist: string,
  workDir: string,
): Promise<MemoryResult> {
  const result: MemoryResult = {
    server: name, peers: o.peers, torrents: o.torrents, idleRssKiB: null, filledRssKiB: null, peakRssKiB: null, anonRssKiB: null, fileRssKiB: null,
    verifiedPeers: 0, verifiedTorrents: 0, fillSeconds: 0, fillRetries: 0, fillFailed: 0, ok: false,
  };
  let server: RunningServer | null = null;
  try {
    const port = await freePort();
    const probe = hashes.subarray((o.torrents - 1) * 20, o.torrents * 20);
    server = name === "opentracker" ? await startOpentracker(port, whitelist, workDir, probe, 120_000) : await startOurs(port, workDir, probe, 30_000, o.binary);
    await Bun.sleep(1000);
    result.idleRssKiB = readRssKiB(server.pid);
    if (o.peerIds && name === "ours") {
      // A stopped compact=0 announce for an unknown torrent: creates nothing, but from then on
      // the tracker keeps every announcing peer's peer_id.
      const pct = (b: Uint8Array): string => Array.from(b, (x) => "%" + x.toString(16).padStart(2, "0")).join("");
      const url = `http://127.0.0.1:${port}/announce?info_hash=${pct(new Uint8Array(20).fill(0xee))}` +
        `&peer_id=${pct(new Uint8Array(20).fill(0x41))}&port=1&left=0&compact=0&event=stopped`;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`compact=0 announce: HTTP ${res.status}`);
      await res.arrayBuffer();
    }

    // Fill: every peer announces once.
    const fields: AnnounceFields = { connHi: 0, connLo: 0, txid: 0, torrent: 0, client: 0, left: 0, event: 2, key: 0, numwant: 0, port: 0 };
    const fill = await runUdpJobs({
      port, jobs: o.peers, window: o.window, sockets: 8, timeoutMs: 1000, tries: 10,
      write(i, buf) {
        fields.connHi = buf.readUInt32BE(0);
        fields.connLo = buf.readUInt32BE(4);
        fields.txid = buf.readUInt32BE(12);
        fields.torrent = plan.torrentOf[i]!;
        fields.client = i;
        fields.left = plan.seeder[i] ? 0 : 1_000_000_000;
        fields.key = i;
        fields.port = plan.portOf[i]!;
        return writeAnnounceRequest(buf, fields, hashes, plan.peerIds);
      },
      answer: (_i, reply) => reply.length >= 20 && reply.readUInt32BE(0) === 1,
    });
    result.fillSeconds = Math.round(fill.seconds * 10) / 10;
    result.fillRetries = fill.retries;
    result.fillFailed = fill.failed + fill.unanswered;
    say(o, `  ${name}: ${fill.answered} announces in ${result.fillSeconds}s (${fill.retries} retries, ${result.fillFailed} failed)`);

    // Verify with scrapes: seeders + leechers per torrent.
    const batches = Math.ceil(o.torrents / SCRAPE_BATCH);
    let peers = 0;
    let torrents = 0;
    const scrape = await runUdpJobs({
      port, jobs: batches, window: o.window, sockets: 8, timeoutMs: 1000, tries: 10,
      write(b, buf) {
        buf.writeUInt32BE(2, 8);
        const first = b * SCRAPE_BATCH;
        const n = Math.min(SCRAPE_BATCH, o.torrents - first);
        hashes.copy(buf, 16, first * 20, (first + n) * 20);
        return 16 + 20 * n;
      },
      answer(b, reply) {
        const n = Math.min(SCRAPE_BATCH, o.torrents - b * SCRAPE_BATCH);
        if (reply.readUInt32BE(0) !== 2 || reply.length !== 8 + 12 * n) return false;
        for (let j = 0; j < n; j++) {
          const count = reply.readUInt32BE(8 + 12 * j) + reply.readUInt32BE(16 + 12 * j);
          peers += count;
          if (count > 0) torrents++;
        }
        return true;
      },
    });
    result.verifiedPeers = peers;
    result.verifiedTorrents = torrents;
    if (scrape.failed + scrape.unanswered > 0) result.error = `${scrape.failed + scrape.unanswered} scrapes failed`;

    // RSS every second of the settle time (the allocator hands freed pages back lazily).
    const trace: number[] = [];
    for (let s = 0; s < o.settle; s++) {
      await Bun.sleep(1000);
      trace.push(readRssKiB(server.pid) ?? 0);
    }
    if (o.settle > 3) say(o, `  ${name}: RSS MiB each second after the fill: ${trace.map((k) => (k / 1024).toFixed(1)).join(" ")}`);
    result.filledRssKiB = readRssKiB(server.pid);
    result.anonRssKiB = readStatusField(server.pid, "RssAnon");
    result.fileRssKiB = readStatusField(server.pid, "RssFile");
    result.peakRssKiB = readPeakRssKiB(server.pid);
    result.ok = result.fillFailed === 0 && peers === o.peers && torrents === o.torrents && !result.error;
  } catch (e) {
    result.error = (e as Error).message;
  } finally {
    await server?.stop();
  }
  return result;
}

function say(o: MemoryOptions, text: string): void {
  if (o.json) console.error(text);
  else console.log(text);
}

async function main(): Promise<void> {
  const o = parseArgs(Bun.argv.slice(2));
  const names: ServerName[] = o.only ? [o.only] : ["ours", "opentracker"];
  if (names.includes("opentracker") && !opentrackerInstalled()) fail("opentracker is not installed: apt-get install -y opentracker");
  const work = makeWorkDir("sc6-memory-");
  const onSignal = (): void => {
    void stopAll().finally(() => {
      work.remove();
      process.exit(130);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const results: MemoryResult[] = [];
  try {
    const whitelist = join(work.dir, "whitelist.txt");
    if (names.includes("opentracker")) await writeWhitelist(whitelist, o.torrents, o.seed);
    const hashes = generateInfoHashes(o.torrents, o.seed);
    const plan = planPeers(o);
    say(o, `memory: ${o.peers} peers in ${o.torrents} torrents (sc6: 760,000 + 520,000 in ${SC6_MB} MB)`);
    for (const name of names) results.push(await measure(name, o, plan, hashes, whitelist, work.dir));
  } finally {
    await stopAll();
    work.remove();
  }

  const rows: (string | number)[][] = [
    ["server", "verified peers/torrents", "idle RSS MiB", "filled RSS MiB", "anon / file MiB", "peak MiB", "filled - idle MiB", "bytes per peer+torrent", "vs sc6 91 MB"],
  ];
  for (const r of results) {
    const delta = r.filledRssKiB !== null && r.idleRssKiB !== null ? r.filledRssKiB - r.idleRssKiB : null;
    rows.push([
      r.server + (r.ok ? "" : " (INCOMPLETE)"),
      `${r.verifiedPeers}/${r.verifiedTorrents}`,
      mib(r.idleRssKiB),
      mib(r.filledRssKiB),
      `${mib(r.anonRssKiB)} / ${mib(r.fileRssKiB)}`,
      mib(r.peakRssKiB),
      mib(delta),
      delta === null ? "-" : Math.round((delta * 1024) / (o.peers + o.torrents)),
      r.filledRssKiB === null ? "-" : `${((r.filledRssKiB * 1024) / 1e6 / SC6_MB).toFixed(2)}x`,
    ]);
    if (r.error) rows.push([`  error: ${r.error}`]);
  }
  say(o, "\n" + table(rows));
  say(o, `RSS from /proc/PID/status (VmRSS, VmHWM), read ${o.settle} s after the fill; sc6's 91 MB is its whole process.`);
  if (o.json) console.log(JSON.stringify({ options: o, results }, null, 2));
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

await main();
process.exit(process.exitCode ?? 0);
