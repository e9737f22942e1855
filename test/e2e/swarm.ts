/**
 * One end-to-end swarm: our tracker, a seeder and a downloader (real clients), each in its own
 * directory, inside one sandbox (sandbox.ts). Runs the whole story and returns what happened,
 * for the test to assert on:
 *
 *   1. start the tracker (observed-tracker.ts: the real tracker plus a tap on its sockets);
 *   2. write a random file, make a .torrent for it with mktorrent announcing to the tracker;
 *   3. start the seeder; wait until a scrape shows it (complete = 1);
 *   4. start the downloader; wait until its copy has the right sha256 and a scrape shows both
 *      seeding (complete = 2);
 *   5. stop the downloader (SIGTERM), scrape; stop the seeder, scrape;
 *   6. stop the tracker; everything is killed in `finally`, also on failure.
 *
 * Every scrape asks over HTTP and over UDP (scrape-client.ts) and both must agree.
 * Every wait is bounded; a timeout throws with the tracker's view and the clients' logs.
 */
import { mkdtempSync, rmSync, existsSync, statSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  aria2Command, libtorrentCommand, makeTorrent, sha256File, transmissionCommand, writeRandomFile,
  type ClientKind, type ClientPorts,
} from "./clients.ts";
import { Sandbox, waitFor, type Proc, type SandboxMode } from "./sandbox.ts";
import { parseTraffic, type TrafficEvent } from "./traffic.ts";

export type { ClientKind } from "./clients.ts";

export interface SwarmSpec {
  /** What the tracker binds: "127.0.0.1", "::1", or "::" (dual-stack). */
  trackerHost: string;
  /** The host in the torrent's announce URL: "127.0.0.1" or "::1". */
  announceHost: string;
  protocol: "http" | "udp";
  /** mktorrent -p (BEP 27). */
  private: boolean;
  seeder: ClientKind;
  downloader: ClientKind;
  /**
   * Start the downloader first and let the seeder find it in its announce answer and dial it
   * (needed when the downloader is Transmission, which will not dial loopback peers).
   */
  seederDials?: boolean;
  /** Bytes in the shared file (default 4 MiB). */
  fileSize?: number;
}

export interface Counts {
  complete: number;
  downloaded: number;
  incomplete: number;
}

export interface SwarmResult {
  sandbox: SandboxMode;
  infoHash: string;
  announceUrl: string;
  /** Peer (TCP) ports the clients listen on: how to tell their announces apart. */
  seederPort: number;
  downloaderPort: number;
  expectedSha256: string;
  downloadedSha256: string;
  /** The tracker's counts (HTTP and UDP scrape agreed) at each step. */
  scrapes: {
    firstSeeding: Counts;
    bothSeeding: Counts;
    afterDownloaderStopped: Counts;
    afterSeederStopped: Counts;
  };
  /** How each client left after SIGINT: on its own, or SIGKILLed after the grace period. */
  stops: { downloader: "exited" | "killed"; seeder: "exited" | "killed" };
  /** The tail of each client's stdout+stderr. */
  output: { seeder: string; downloader: string };
  /** The tracker's non-zero counters at the end (names from src/stats-counters.ts). */
  trackerCounters: Record<string, number>;
  traffic: TrafficEvent[];
}

const HERE = import.meta.dir;
const BUN = process.execPath;
const FILE_NAME = "data.bin";

/** Bounds for each step (the whole case stays well under a minute). */
const TRACKER_START_MS = 10_000;
const SEEDER_ANNOUNCE_MS = 20_000;
const DOWNLOAD_MS = 30_000;
const SCRAPE_MS = 5_000;
const CLIENT_STOP_MS = 15_000;

export async function runSwarm(spec: SwarmSpec): Promise<SwarmResult> {
  const work = mkdtempSync(join(tmpdir(), "sc6-e2e-"));
  const seedDir = join(work, "seeder");
  const dlDir = join(work, "downloader");
  mkdirSync(seedDir);
  mkdirSync(dlDir);
  const box = await Sandbox.open();
  let tracker: Proc | null = null;
  let seeder: Proc | null = null;
  let downloader: Proc | null = null;
  const logs: Record<string, string> = {};
  let failed = false;
  const diagnose = (): string => {
    const parts: string[] = [];
    for (const p of [tracker, seeder, downloader]) {
      if (p) {
        parts.push(`--- ${p.name} (pid ${p.pid}, ${p.running ? "running" : `exit ${p.exitCode}`}) stderr tail:\n${p.errors().slice(-3000)}`);
      }
    }
    for (const [name, path] of Object.entries(logs)) {
      if (existsSync(path)) parts.push(`--- ${name} log tail (${path}):\n${readFileSync(path, "latin1").slice(-3000)}`);
    }
    return parts.join("\n");
  };
  try {
    // ---- 1. the tracker ----
    tracker = box.spawn("tracker", [BUN, join(HERE, "observed-tracker.ts"), "0", "--host", spec.trackerHost, "--quiet"]);
    const listening = await waitFor(
      "the tracker to listen",
      () => {
        const l = tracker!.lines.find((x) => x.includes('"t":"listening"'));
        return l === undefined ? (tracker!.running ? undefined : (() => { throw new Error(`tracker exited: ${tracker!.output()}`); })()) : JSON.parse(l);
      },
      TRACKER_START_MS,
      diagnose,
    );
    const port: number = listening.httpPort;
    const scrapeHost = spec.announceHost;
    const scrape = async (): Promise<Counts> => {
      const out = await box.run("scrape", [BUN, join(HERE, "scrape-client.ts"), scrapeHost, String(port), infoHash], SCRAPE_MS);
      const r = JSON.parse(out) as { http: Counts; udp: Counts };
      if (JSON.stringify(r.http) !== JSON.stringify(r.udp)) {
        throw new Error(`HTTP and UDP scrape disagree: ${out}`);
      }
      return r.http;
    };

    // ---- 2. the file and the torrent ----
    const hostInUrl = spec.announceHost.includes(":") ? `[${spec.announceHost}]` : spec.announceHost;
    const announceUrl = `${spec.protocol}://${hostInUrl}:${port}/announce`;
    const expectedSha256 = writeRandomFile(join(seedDir, FILE_NAME), spec.fileSize ?? 4 * 1024 * 1024);
    const torrent = join(work, "swarm.torrent");
    const infoHash = await makeTorrent(join(seedDir, FILE_NAME), torrent, announceUrl, spec.private);

    // ---- 3./4. seeder and downloader ----
    const ports = box.mode === "host" ? await freePorts(4) : [51001, 51002, 51011, 51012];
    const seederPorts: ClientPorts = { peer: ports[0]!, dht: ports[1]! };
    const downloaderPorts: ClientPorts = { peer: ports[2]!, dht: ports[3]! };
    const startClient = (role: "seeder" | "downloader"): Proc => {
      const kind = role === "seeder" ? spec.seeder : spec.downloader;
      const dir = role === "seeder" ? seedDir : dlDir;
      const p = role === "seeder" ? seederPorts : downloaderPorts;
      if (kind === "aria2") {
        const log = join(work, `${role}-aria2.log`);
        logs[`${role} aria2`] = log;
        return box.spawn(`${role} aria2c`, aria2Command({ torrent, dir, ports: p, log, udpTracker: spec.protocol === "udp", seeder: role === "seeder" }));
      }
      if (kind === "libtorrent") {
        return box.spawn(`${role} libtorrent`, libtorrentCommand({ torrent, dir, address: spec.announceHost, port: p.peer }));
      }
      return box.spawn(`${role} transmission-cli`, transmissionCommand({ torrent, dir, configDir: join(work, `${role}-transmission`), peerPort: p.peer }));
    };
    const counts = (want: Partial<Counts>) => async () => {
      const c = await scrape();
      for (const k of Object.keys(want) as (keyof Counts)[]) if (c[k] !== want[k]) return undefined;
      return c;
    };
    const trackerView = () => `tracker traffic so far:\n${tracker!.lines.slice(-20).map((l) => l.slice(0, 400)).join("\n")}\n${diagnose()}`;

    let firstSeeding: Counts;
    if (spec.seederDials) {
      downloader = startClient("downloader");
      await waitFor("the downloader's first announce (incomplete = 1)", counts({ incomplete: 1 }), SEEDER_ANNOUNCE_MS, trackerView, 250);
      seeder = startClient("seeder");
      firstSeeding = await waitFor("the seeder's first announce (complete = 1)", counts({ complete: 1 }), SEEDER_ANNOUNCE_MS, trackerView, 250);
    } else {
      seeder = startClient("seeder");
      firstSeeding = await waitFor("the seeder's first announce (complete = 1)", counts({ complete: 1 }), SEEDER_ANNOUNCE_MS, trackerView, 250);
      downloader = startClient("downloader");
    }
    const target = join(dlDir, FILE_NAME);
    const size = spec.fileSize ?? 4 * 1024 * 1024;
    let downloadedSha256 = "";
    await waitFor(
      "the downloaded file to match the seeder's sha256",
      () => {
        if (!existsSync(target) || statSync(target).size !== size) return undefined;
        downloadedSha256 = sha256File(target);
        return downloadedSha256 === expectedSha256;
      },
      DOWNLOAD_MS,
      trackerView,
      250,
    );
    const bothSeeding = await waitFor("both clients seeding (complete = 2)", counts({ complete: 2 }), DOWNLOAD_MS, trackerView, 250);

    // ---- 5. orderly departures ----
    // SIGINT, as a user's Ctrl-C: both clients then announce event=stopped (aria2 treats
    // SIGTERM as an emergency halt and leaves without a word to the tracker).
    const downloaderStop = await downloader.stop(CLIENT_STOP_MS, "SIGINT");
    const afterDownloaderStopped = await scrape();
    const seederStop = await seeder.stop(CLIENT_STOP_MS, "SIGINT");
    const afterSeederStopped = await scrape();

    // ---- 6. the tracker (it reports its counters as it stops) ----
    await tracker.stop(3000);
    const traffic = parseTraffic(tracker.lines);
    const counters = traffic.find((e) => e.t === "counters");
    return {
      sandbox: box.mode,
      infoHash,
      announceUrl,
      seederPort: seederPorts.peer,
      downloaderPort: downloaderPorts.peer,
      expectedSha256,
      downloadedSha256,
      scrapes: { firstSeeding, bothSeeding, afterDownloaderStopped, afterSeederStopped },
      stops: { downloader: downloaderStop, seeder: seederStop },
      output: { seeder: seeder.output(), downloader: downloader.output() },
      trackerCounters: counters?.t === "counters" ? counters.counters : {},
      traffic,
    };
  } catch (e) {
    failed = true;
    (e as Error).message += `\n(work directory kept for inspection: ${work}; traffic in traffic.jsonl)`;
    throw e;
  } finally {
    await box.close();
    if (tracker) writeFileSync(join(work, "traffic.jsonl"), tracker.lines.join("\n") + "\n");
    for (const p of [seeder, downloader]) if (p) writeFileSync(join(work, `${p.name.replace(/ /g, "-")}.out`), p.output());
    if (!failed && process.env.E2E_KEEP !== "1") rmSync(work, { recursive: true, force: true });
    else console.error(`e2e: kept ${work}`);
  }
}

/** Free TCP ports on the host (only used without a namespace, where ports are shared). */
async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  const held: { stop(): void }[] = [];
  for (let i = 0; i < n; i++) {
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    held.push(l);
    out.push(l.port);
  }
  for (const l of held) l.stop();
  return out;
}
