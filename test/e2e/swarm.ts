/**
 * One end-to-end swarm: our tracker, a seeder and a downloader (real clients), each in its own
 * directory, inside one sandbox (sandbox.ts). Runs the whole story and returns what happened,
 * for the test to assert on:
 *
 *   1. start the tracker (observed-tracker.ts: the real tracker plus a tap on its sockets);
 *   2. write a random file, make a .torrent for it with mktorrent announcing to the tracker;
 *   3. start the seeder; wait until a scrape shows it (complete = 1) (with `seederDials`, the
 *      downloader first, until incomplete = 1);
 *   4. start the downloader; wait until its copy has the right sha256 and a scrape shows both
 *      seeding (complete = 2);
 *   5. stop the downloader with SIGINT, scrape; stop the seeder with SIGINT, scrape;
 *   6. stop the tracker (it reports its counters); everything is killed in `finally`, also on
 *      failure, and the work directory is then kept for inspection.
 *
 * Every scrape asks over HTTP and over UDP (scrape-client.ts) and both must agree.
 * Every wait is bounded; a timeout throws with the tracker's view and the clients' logs.
 */
import { Database } from "bun:sqlite";
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
  /**
   * Private mode: the tracker runs with --private and a fresh key database; the torrent's
   * announce URL carries a key made by `sc6-tracker keys add` (HTTP only: aria2 sends no BEP 41
   * URL data over UDP).
   */
  passkey?: boolean;
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
  /** Private mode: the key's usage rows in the database after the tracker stopped. */
  usage?: { uploaded: number; downloaded: number; announces: number; completions: number };
  traffic: TrafficEvent[];
}

const HERE = import.meta.dir;
const BUN = process.execPath;
const FILE_NAME = "data.bin";

/**
 * Bounds. Each step has its own; all of them together are also held to SWARM_DEADLINE_MS, so
 * that a case that goes wrong still ends (and kills everything) before its test's timeout.
 */
const SWARM_DEADLINE_MS = 75_000;
const TRACKER_START_MS = 10_000;
const FIRST_ANNOUNCE_MS = 20_000;
const DOWNLOAD_MS = 30_000;
const SCRAPE_MS = 5_000;
const SCRAPE_ATTEMPTS = 3;
/** Transmission 3.00 takes ~9 s to leave after SIGINT (its session shutdown); aria2 < 1 s. */
const CLIENT_STOP_MS = 15_000;
/** Scrape polling period while waiting for the tracker to see something. */
const POLL_MS = 250;

export async function runSwarm(spec: SwarmSpec): Promise<SwarmResult> {
  const deadline = Date.now() + SWARM_DEADLINE_MS;
  /** A step's bound, cut short by what is left of the whole case's. */
  const bound = (ms: number): number => Math.max(1, Math.min(ms, deadline - Date.now()));
  const size = spec.fileSize ?? 4 * 1024 * 1024;
  const work = mkdtempSync(join(tmpdir(), "sc6-e2e-"));
  const seedDir = join(work, "seeder");
  const dlDir = join(work, "downloader");
  mkdirSync(seedDir);
  mkdirSync(dlDir);
  let box: Sandbox | null = null;
  let tracker: Proc | null = null;
  let seeder: Proc | null = null;
  let downloader: Proc | null = null;
  const logs: Record<string, string> = {};
  let failed = false;
  /** For failure messages: every process's stderr and every client log, tails only. */
  const diagnose = (): string => {
    const parts: string[] = [];
    if (tracker) parts.push(`--- tracker traffic, last lines:\n${tracker.lines.slice(-20).map((l) => l.slice(0, 400)).join("\n")}`);
    for (const p of [tracker, seeder, downloader]) {
      if (p) parts.push(`--- ${p.name} (pid ${p.pid}, ${p.running ? "running" : `exit ${p.exitCode}`}) stderr tail:\n${p.errors().slice(-3000)}`);
    }
    for (const [name, path] of Object.entries(logs)) {
      if (existsSync(path)) parts.push(`--- ${name} log tail (${path}):\n${readFileSync(path, "latin1").slice(-3000)}`);
    }
    return parts.join("\n");
  };
  try {
    box = await Sandbox.open();
    const sandbox = box;

    // ---- 1. the tracker (and in private mode, its key database with one key) ----
    const db = join(work, "keys.sqlite");
    const passkey = spec.passkey ? makeKey(db) : null;
    const privateArgs = passkey === null ? [] : ["--private", "--db", db];
    const t = sandbox.spawn("tracker", [BUN, join(HERE, "observed-tracker.ts"), "0", "--host", spec.trackerHost, "--quiet", ...privateArgs]);
    tracker = t;
    const listening = await waitFor(
      "the tracker to listen",
      () => {
        const line = t.lines.find((l) => l.includes('"t":"listening"'));
        if (line !== undefined) return JSON.parse(line) as { httpPort: number };
        if (!t.running) throw new Error(`the tracker exited: ${t.output()}`);
        return undefined;
      },
      bound(TRACKER_START_MS),
      diagnose,
    );
    const port = listening.httpPort;

    // ---- 2. the file and the torrent ----
    const hostInUrl = spec.announceHost.includes(":") ? `[${spec.announceHost}]` : spec.announceHost;
    const announceUrl = `${spec.protocol}://${hostInUrl}:${port}${passkey === null ? "" : `/${passkey}`}/announce`;
    const expectedSha256 = writeRandomFile(join(seedDir, FILE_NAME), size);
    const torrent = join(work, "swarm.torrent");
    const infoHash = await makeTorrent(join(seedDir, FILE_NAME), torrent, announceUrl, spec.private);

    /**
     * The tracker's counts for the torrent; HTTP and UDP scrape must agree. The two go out
     * together, so a client's announce can land between them: ask again (a few times) before
     * calling a difference a disagreement.
     */
    const scrape = async (): Promise<Counts> => {
      let out = "";
      for (let attempt = 0; attempt < SCRAPE_ATTEMPTS; attempt++) {
        const keyArg = passkey === null ? [] : [passkey];
        out = await sandbox.run("scrape", [BUN, join(HERE, "scrape-client.ts"), spec.announceHost, String(port), infoHash, ...keyArg], bound(SCRAPE_MS));
        const r = JSON.parse(out) as { http: Counts; udp: Counts };
        if (JSON.stringify(r.http) === JSON.stringify(r.udp)) return r.http;
      }
      throw new Error(`HTTP and UDP scrape disagree ${SCRAPE_ATTEMPTS} times in a row; last: ${out}`);
    };
    const scrapeUntil = (what: string, want: Partial<Counts>, ms: number): Promise<Counts> =>
      waitFor(
        what,
        async () => {
          const c = await scrape();
          for (const k of Object.keys(want) as (keyof Counts)[]) if (c[k] !== want[k]) return undefined;
          return c;
        },
        bound(ms),
        diagnose,
        POLL_MS,
      );

    // ---- 3./4. seeder and downloader ----
    // In a namespace every port is free: fixed numbers make the logs easy to read.
    const ports = sandbox.mode === "host" ? freePorts(4) : [51001, 51002, 51011, 51012];
    const seederPorts: ClientPorts = { peer: ports[0]!, dht: ports[1]! };
    const downloaderPorts: ClientPorts = { peer: ports[2]!, dht: ports[3]! };
    const startClient = (role: "seeder" | "downloader"): Proc => {
      const kind = role === "seeder" ? spec.seeder : spec.downloader;
      const dir = role === "seeder" ? seedDir : dlDir;
      const p = role === "seeder" ? seederPorts : downloaderPorts;
      switch (kind) {
        case "aria2": {
          const log = join(work, `${role}-aria2.log`);
          logs[`${role} aria2`] = log;
          const cmd = aria2Command({ torrent, dir, ports: p, log, udpTracker: spec.protocol === "udp", seeder: role === "seeder" });
          return sandbox.spawn(`${role} aria2c`, cmd);
        }
        case "libtorrent":
          return sandbox.spawn(`${role} libtorrent`, libtorrentCommand({ torrent, dir, address: spec.announceHost, port: p.peer }));
        case "transmission": {
          const configDir = join(work, `${role}-transmission`);
          return sandbox.spawn(`${role} transmission-cli`, transmissionCommand({ torrent, dir, configDir, peerPort: p.peer }));
        }
      }
    };

    let firstSeeding: Counts;
    if (spec.seederDials) {
      downloader = startClient("downloader");
      await scrapeUntil("the downloader's first announce (incomplete = 1)", { incomplete: 1 }, FIRST_ANNOUNCE_MS);
      seeder = startClient("seeder");
      firstSeeding = await scrapeUntil("the seeder's first announce (complete = 1)", { complete: 1 }, FIRST_ANNOUNCE_MS);
    } else {
      seeder = startClient("seeder");
      firstSeeding = await scrapeUntil("the seeder's first announce (complete = 1)", { complete: 1 }, FIRST_ANNOUNCE_MS);
      downloader = startClient("downloader");
    }
    const target = join(dlDir, FILE_NAME);
    let downloadedSha256 = "";
    await waitFor(
      "the downloaded file to match the seeder's sha256",
      () => {
        if (!existsSync(target) || statSync(target).size !== size) return undefined;
        downloadedSha256 = sha256File(target);
        return downloadedSha256 === expectedSha256;
      },
      bound(DOWNLOAD_MS),
      diagnose,
      POLL_MS,
    );
    const bothSeeding = await scrapeUntil("both clients seeding (complete = 2)", { complete: 2 }, DOWNLOAD_MS);

    // ---- 5. orderly departures ----
    // SIGINT, as a user's Ctrl-C. (aria2 takes SIGTERM as an emergency halt and then leaves
    // without a word to the tracker; SIGINT makes it announce event=stopped.)
    const downloaderStop = await downloader.stop(bound(CLIENT_STOP_MS), "SIGINT");
    const afterDownloaderStopped = await scrape();
    const seederStop = await seeder.stop(bound(CLIENT_STOP_MS), "SIGINT");
    const afterSeederStopped = await scrape();

    // ---- 6. the tracker (it reports its counters as it stops) ----
    await t.stop(3000);
    const traffic = parseTraffic(t.lines);
    const counters = traffic.find((e) => e.t === "counters");
    return {
      sandbox: sandbox.mode,
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
      usage: passkey === null ? undefined : usageOf(db, passkey),
    };
  } catch (e) {
    failed = true;
    if (e instanceof Error) e.message += `\n(work directory kept for inspection: ${work}; the tracker's traffic is in traffic.jsonl)`;
    throw e;
  } finally {
    await box?.close();
    if (tracker) writeFileSync(join(work, "traffic.jsonl"), tracker.lines.join("\n") + "\n");
    for (const p of [seeder, downloader]) if (p) writeFileSync(join(work, `${p.name.replace(/ /g, "-")}.out`), p.output());
    if (!failed && process.env.E2E_KEEP !== "1") rmSync(work, { recursive: true, force: true });
    else console.error(`e2e: kept ${work}`);
  }
}

/** A new key in the database at `db`, made as an operator would: `sc6-tracker keys add`. */
function makeKey(db: string): string {
  const r = Bun.spawnSync([BUN, "run", join(HERE, "../../src/main.ts"), "keys", "add", "--db", db, "--note", "e2e"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`keys add failed: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

/** A key's usage summed over its torrents, read from the database after the tracker stopped. */
function usageOf(db: string, key: string): NonNullable<SwarmResult["usage"]> {
  const d = new Database(db, { readonly: true });
  try {
    return d.query(
      "SELECT SUM(uploaded) AS uploaded, SUM(downloaded) AS downloaded, SUM(announces) AS announces, SUM(completions) AS completions FROM usage WHERE key = ?",
    ).get(key) as NonNullable<SwarmResult["usage"]>;
  } finally {
    d.close();
  }
}

/** Free TCP ports on the host (only without a namespace, where the host's ports are shared). */
function freePorts(n: number): number[] {
  const held = Array.from({ length: n }, () => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const ports = held.map((l) => l.port);
  for (const l of held) l.stop(true);
  return ports;
}
