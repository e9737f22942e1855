/**
 * End to end: real BitTorrent clients complete a download through this tracker, and the
 * tracker's own scrape agrees with what they told it.
 *
 * Each case (swarm.ts) starts the tracker, makes a 4 MiB random file and a .torrent for it with
 * mktorrent, starts a seeder and a downloader in separate directories, checks the copy's
 * sha256, then stops both clients with SIGINT (a user's Ctrl-C), scraping at every step over
 * HTTP and UDP (the two must agree). Everything runs in a network namespace that holds only
 * `lo` (sandbox.ts; plain loopback when no namespace can be made, said loudly below), with DHT,
 * local peer discovery and peer exchange off in every client: the downloader can learn of the
 * seeder from our tracker only, and each case asserts that the tracker's answer is where the
 * peer came from. The tracker is the real one (src/tracker.ts) behind a tap on its sockets
 * (observed-tracker.ts), so every assertion about traffic is about the bytes the clients sent.
 *
 * A missing client fails its cases when CI=true and is skipped, loudly, otherwise.
 * Run: `npx bun test test/e2e`. E2E_SHOW_TRAFFIC=1 prints every client request; E2E_KEEP=1
 * keeps the work directories (logs, traffic.jsonl); E2E_SANDBOX=netns|userns|host forces a mode.
 *
 * ------------------------------------------------------------------------------------------
 * What the clients really send (captured by the tap; Debian 12 packages):
 *
 * aria2 1.36.0 (aria2c)
 *   HTTP: GET /announce?info_hash=..&peer_id=..&uploaded=..&downloaded=..&left=..&compact=1
 *         &key=..&numwant=50&no_peer_id=1&port=..&event=..&supportcrypto=1
 *     - User-Agent "aria2/1.36.0"; percent-escapes in UPPER case; unreserved bytes raw.
 *     - peer_id "A2-1-36-0-" + 10 random bytes; key = the last 8 bytes of peer_id (raw bytes,
 *       percent-escaped, not hex text).
 *     - events: started (left = size for a downloader, 0 for a seeder), completed (left=0,
 *       downloaded=size) the moment the last piece checks, stopped (numwant=0) on SIGINT.
 *       SIGTERM is an "emergency shutdown": aria2 leaves WITHOUT announcing stopped.
 *     - the downloader reports uploaded=0 and the seeder its real upload (4194304) on stopped.
 *   UDP (BEP 15), only with --enable-dht=true: the datagrams leave from the DHT port.
 *     - connect 16 B once, then announces of 100 B: the 98-byte announce + 2 bytes of BEP 41
 *       options: 0x00 (EndOfOptions) 0x00. No URL data option: the path is not sent.
 *     - key: a NEW random u32 in every announce (so a tracker must not use key to identify a
 *       peer across announces); ip=0; numwant=50 (0 on stopped); port = its TCP peer port.
 *     - IPv6: aria2 cannot announce to udp://[::1] (its UDP tracker client rides the IPv4 DHT
 *       socket: "Exception thrown while sending UDP tracker request").
 *   IPv6 over HTTP (http://[::1]): works; the answer's peers6 carries the seeder.
 *
 * transmission-cli 3.00
 *   HTTP: GET /announce?info_hash=..&peer_id=..&port=..&uploaded=..&downloaded=..&left=..
 *         &numwant=80&key=..&compact=1&supportcrypto=1&event=..
 *     - User-Agent "Transmission/3.00"; percent-escapes in lower case.
 *     - peer_id "-TR3000-" + 12 chars of [0-9a-z]; key = a constant u32 in lower-case hex
 *       WITHOUT zero padding (printf "%x": "db06da5" was seen, 7 digits).
 *     - no no_peer_id; numwant=80 (0 on stopped); no ipv6= (no global IPv6 address here).
 *     - its FIRST announce may be event=stopped, numwant=0 (checking the torrent's data pauses
 *       it): always so far when seeding a file found on disk, sometimes when starting empty.
 *       Then event=started (left=0 for a seeder).
 *     - on SIGINT over HTTP it prints "Stopping torrent...", takes ~9 s to exit and never
 *       announces stopped: the tracker keeps the peer until it times out. Over UDP it does
 *       announce stopped.
 *     - Transmission drops tracker peers on 127/8 and ::1 ("martian" addresses), so on
 *       loopback it only takes part when the other side dials: as a seeder, or as a
 *       downloader that aria2 (seeding) connects to after seeing it in its announce answer.
 *   UDP: connect 16 B, announce 98 B with no BEP 41 options, from its peer port (the UDP socket
 *     it shares with uTP/DHT); key constant; numwant=80; it also sends BEP 15 scrapes (36 B).
 *     udp://[::1]: no announce at all in a namespace without a global IPv6 address (it opens
 *     its IPv6 UDP socket only when it has one): "Could not connect to tracker".
 *
 * libtorrent-rasterbar 2.0.8 (python3-libtorrent; the engine of qBittorrent and Deluge)
 *   HTTP: GET /announce?info_hash=..&peer_id=..&port=..&uploaded=..&downloaded=..&left=..
 *         &corrupt=0&key=..&event=..&numwant=200&compact=1&no_peer_id=1&supportcrypto=1
 *         &redundant=0
 *     - User-Agent "libtorrent/2.0.8.0"; percent-escapes in lower case; peer_id "-LT2080-" +
 *       12 printable chars; key = 8 UPPER-case hex digits, constant; numwant=200 (0 on stopped).
 *   UDP: connect 16 B; announce 109 B = 98 + BEP 41 option 0x02 (URL data), length 9,
 *     "/announce", and no EndOfOptions byte after it. key constant; numwant=200. IPv6 works.
 *
 * mktorrent 1.1 makes the .torrent files (-p for private, -l 18 for 256 KiB pieces).
 * ------------------------------------------------------------------------------------------
 */
import { describe, expect, test } from "bun:test";
import { clientAvailable, type Availability, type ClientKind } from "./clients.ts";
import { probeSandbox } from "./sandbox.ts";
import { runSwarm, type Counts, type SwarmResult, type SwarmSpec } from "./swarm.ts";
import { announcesOf, describeTraffic, type Announce, type Event } from "./traffic.ts";

const IN_CI = process.env.CI === "true";
/** Per-test bound; runSwarm holds itself to 75 s and then kills everything it started. */
const CASE_TIMEOUT_MS = 90_000;
const FILE_SIZE = 4 * 1024 * 1024;

// ---- what this machine has: said once, loudly when something is missing ----
const sandbox = await probeSandbox();
const available: Record<ClientKind | "mktorrent", Availability> = {
  aria2: await clientAvailable("aria2"),
  transmission: await clientAvailable("transmission"),
  libtorrent: await clientAvailable("libtorrent"),
  mktorrent: await clientAvailable("mktorrent"),
};
console.error(
  [
    sandbox.mode === "host"
      ? `!!! e2e: NO NETWORK NAMESPACE (${sandbox.reason}): the swarms run on the host's loopback instead.`
      : `e2e: each swarm runs in its own network namespace (${sandbox.mode}: ${sandbox.reason}).`,
    ...Object.entries(available).map(([k, a]) => (a.ok ? `e2e: ${k}: ${a.detail}` : `!!! e2e: ${k} MISSING: ${a.detail}`)),
  ].join("\n"),
);

/**
 * A case that needs `clients` (and mktorrent). A missing one fails the case in CI, and skips
 * it elsewhere with a loud message: never a silent pass.
 */
function swarmTest(name: string, clients: ClientKind[], fn: () => Promise<void>): void {
  const missing = [...new Set<ClientKind | "mktorrent">([...clients, "mktorrent"])].filter((k) => !available[k].ok);
  if (missing.length === 0) {
    test(name, fn, CASE_TIMEOUT_MS);
    return;
  }
  const why = missing.map((k) => available[k].detail).join("; ");
  if (IN_CI) {
    test(name, () => {
      throw new Error(`e2e: cannot run "${name}": ${why}. CI=true, so a missing client is a failure.`);
    });
  } else {
    console.error(`!!! e2e: SKIPPED "${name}": ${why} (this would FAIL with CI=true)`);
    test.skip(name, fn);
  }
}

/** Run the case; print the traffic when asked. */
async function swarm(spec: SwarmSpec): Promise<SwarmResult> {
  const r = await runSwarm({ fileSize: FILE_SIZE, ...spec });
  if (process.env.E2E_SHOW_TRAFFIC === "1") {
    console.error(`--- ${spec.seeder} -> ${spec.downloader} ${r.announceUrl} (${r.sandbox})\n${describeTraffic(r.traffic).join("\n")}\ntracker counters: ${JSON.stringify(r.trackerCounters)}`);
  }
  return r;
}

const c = (complete: number, downloaded: number, incomplete: number): Counts => ({ complete, downloaded, incomplete });

/** Counters that must stay 0 while real clients talk to the tracker: nobody refused, nothing lost. */
const TROUBLE_COUNTERS = ["http400", "http404", "http500", "httpFailures", "udpErrorsSent", "udpDropped", "udpBadConnectionId", "udpSendErrors"];

/**
 * What every case checks: the copy is identical, each client announced exactly `events`, the
 * tracker's scrapes at each step are `scrapes`, and the tracker refused and lost nothing.
 * Returns each client's announces for the case's own checks.
 */
function expectSwarm(
  r: SwarmResult,
  want: { seeder: Event[]; downloader: Event[]; scrapes: SwarmResult["scrapes"] },
  /** Roles played by Transmission, whose first announce may be a stray "stopped" (see the top). */
  transmission: ("seeder" | "downloader")[] = [],
): { seeder: Announce[]; downloader: Announce[] } {
  expect(r.downloadedSha256).toBe(r.expectedSha256);
  const seeder = withoutOpeningStop(announcesOf(r.traffic, r.seederPort), transmission.includes("seeder"));
  const downloader = withoutOpeningStop(announcesOf(r.traffic, r.downloaderPort), transmission.includes("downloader"));
  expect({ seeder: seeder.map((a) => a.event), downloader: downloader.map((a) => a.event) }).toEqual({
    seeder: want.seeder,
    downloader: want.downloader,
  });
  expect(r.scrapes).toEqual(want.scrapes);
  const trouble = Object.fromEntries(TROUBLE_COUNTERS.filter((k) => (r.trackerCounters[k] ?? 0) !== 0).map((k) => [k, r.trackerCounters[k]]));
  expect(trouble).toEqual({});
  return { seeder, downloader };
}

/**
 * Transmission checks a torrent's data before starting it, and when that check pauses the
 * torrent it announces event=stopped (numwant=0) to a tracker that never heard of it. Seeding a
 * file it found on disk it always did here; starting with an empty directory it sometimes did.
 * That stray announce is dropped (after checking it is one); the tracker must shrug it off,
 * which the scrapes and TROUBLE_COUNTERS check.
 */
function withoutOpeningStop(announces: Announce[], isTransmission: boolean): Announce[] {
  const first = announces[0];
  if (!isTransmission || first?.event !== "stopped" || announces.length < 2) return announces;
  expect(first.numwant).toBe(0);
  return announces.slice(1);
}

/** "127.0.0.1:port" or "[::1]:port", as the compact peer lists decode. */
const peer = (host: string, port: number): string => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

/** Both clients seed until SIGINT, both announce stopped: the common aria2/libtorrent story. */
const FULL_STORY = {
  seeder: ["started", "stopped"] as Event[],
  downloader: ["started", "completed", "stopped"] as Event[],
  scrapes: {
    firstSeeding: c(1, 0, 0),
    bothSeeding: c(2, 1, 0),
    afterDownloaderStopped: c(1, 1, 0),
    afterSeederStopped: c(0, 1, 0),
  },
};

const ARIA2_HTTP_PARAMS = ["info_hash", "peer_id", "uploaded", "downloaded", "left", "compact", "key", "numwant", "no_peer_id", "port", "event", "supportcrypto"];
const TRANSMISSION_HTTP_PARAMS = ["info_hash", "peer_id", "port", "uploaded", "downloaded", "left", "numwant", "key", "compact", "supportcrypto", "event"];
const LIBTORRENT_HTTP_PARAMS = ["info_hash", "peer_id", "port", "uploaded", "downloaded", "left", "corrupt", "key", "event", "numwant", "compact", "no_peer_id", "supportcrypto", "redundant"];

describe("real BitTorrent clients complete downloads through the tracker", () => {
  swarmTest("aria2 -> aria2 over HTTP (127.0.0.1)", ["aria2"], async () => {
    const r = await swarm({ trackerHost: "127.0.0.1", announceHost: "127.0.0.1", protocol: "http", private: false, seeder: "aria2", downloader: "aria2" });
    const { seeder, downloader } = expectSwarm(r, FULL_STORY);
    // The downloader's only source of peers: our answer to its first announce.
    expect(downloader[0]!.peers).toEqual([peer("127.0.0.1", r.seederPort)]);
    for (const a of [...seeder, ...downloader]) {
      expect(a.http!.names).toEqual(ARIA2_HTTP_PARAMS);
      expect(a.http!.userAgent).toStartWith("aria2/");
      expect(a.peerId.subarray(0, 3).toString()).toBe("A2-");
      expect(a.from).toBe("127.0.0.1");
    }
    expect(downloader.map((a) => a.left)).toEqual([BigInt(FILE_SIZE), 0n, 0n]);
    expect(downloader.map((a) => a.numwant)).toEqual([50, 50, 0]);
    expect(seeder[0]!.left).toBe(0n);
  });

  swarmTest("aria2 -> aria2 over HTTP through a passkey URL (private mode, key made by `keys add`)", ["aria2"], async () => {
    const r = await swarm({ trackerHost: "127.0.0.1", announceHost: "127.0.0.1", protocol: "http", private: true, seeder: "aria2", downloader: "aria2", passkey: true });
    expect(r.announceUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/announce$/);
    const { seeder, downloader } = expectSwarm(r, FULL_STORY);
    expect(downloader[0]!.peers).toEqual([peer("127.0.0.1", r.seederPort)]);
    // The accounting written at the tracker's stop matches what the clients reported: each
    // client's counters only grow, so its deltas add up to its last report.
    const last = (list: typeof seeder) => list[list.length - 1]!;
    expect(r.usage).toEqual({
      uploaded: Number(last(seeder).uploaded + last(downloader).uploaded),
      downloaded: Number(last(seeder).downloaded + last(downloader).downloaded),
      announces: seeder.length + downloader.length,
      completions: 1,
    });
    expect(Number(last(downloader).downloaded)).toBe(FILE_SIZE);
  });

  swarmTest("aria2 -> aria2 over UDP (127.0.0.1, private torrent)", ["aria2"], async () => {
    const r = await swarm({ trackerHost: "127.0.0.1", announceHost: "127.0.0.1", protocol: "udp", private: true, seeder: "aria2", downloader: "aria2" });
    const { seeder, downloader } = expectSwarm(r, FULL_STORY);
    expect(downloader[0]!.peers).toEqual([peer("127.0.0.1", r.seederPort)]);
    for (const a of [...seeder, ...downloader]) {
      // 98-byte announce + BEP 41 EndOfOptions + one more zero byte.
      expect(a.udp!.size).toBe(100);
      expect(a.udp!.options).toEqual([{ type: 0 }]);
    }
    // A fresh random key in every announce.
    expect(new Set(downloader.map((a) => a.key)).size).toBe(downloader.length);
    expect(downloader.map((a) => a.numwant)).toEqual([50, 50, 0]);
  });

  swarmTest("aria2 -> aria2 over HTTP (::1)", ["aria2"], async () => {
    const r = await swarm({ trackerHost: "::1", announceHost: "::1", protocol: "http", private: false, seeder: "aria2", downloader: "aria2" });
    const { seeder, downloader } = expectSwarm(r, FULL_STORY);
    expect(downloader[0]!.peers).toEqual([peer("::1", r.seederPort)]); // from peers6
    expect(downloader[0]!.http!.names).toEqual(ARIA2_HTTP_PARAMS);
    for (const a of [...seeder, ...downloader]) expect(a.from).toBe("::1");
  });

  swarmTest("transmission-cli -> aria2 over HTTP (dual-stack tracker on ::, IPv4 clients)", ["transmission", "aria2"], async () => {
    const r = await swarm({ trackerHost: "::", announceHost: "127.0.0.1", protocol: "http", private: false, seeder: "transmission", downloader: "aria2" });
    const { seeder, downloader } = expectSwarm(
      r,
      {
        // On SIGINT over HTTP no stopped announce comes: the tracker keeps it as a seeder.
        seeder: ["started"],
        downloader: ["started", "completed", "stopped"],
        scrapes: { firstSeeding: c(1, 0, 0), bothSeeding: c(2, 1, 0), afterDownloaderStopped: c(1, 1, 0), afterSeederStopped: c(1, 1, 0) },
      },
      ["seeder"],
    );
    // IPv4 clients reach a dual-stack socket as ::ffff:127.0.0.1; the tracker must still hand
    // out plain IPv4 records.
    expect(downloader[0]!.peers).toEqual([peer("127.0.0.1", r.seederPort)]);
    for (const a of seeder) {
      expect(a.http!.names).toEqual(TRANSMISSION_HTTP_PARAMS);
      expect(a.http!.userAgent).toStartWith("Transmission/");
      expect(a.peerId.toString("latin1")).toMatch(/^-TR\d{4}-[0-9a-z]{12}$/);
      expect(a.key).toMatch(/^[0-9a-f]{1,8}$/); // printf("%x"): not zero-padded
      expect(a.left).toBe(0n);
      // A dual-stack socket sees IPv4 clients as IPv4-mapped IPv6 addresses.
      expect(a.from).toBe("::ffff:127.0.0.1");
    }
    expect(seeder.map((a) => a.numwant)).toEqual([80]);
  });

  swarmTest("transmission-cli -> aria2 over UDP (dual-stack tracker on ::, private torrent)", ["transmission", "aria2"], async () => {
    const r = await swarm({ trackerHost: "::", announceHost: "127.0.0.1", protocol: "udp", private: true, seeder: "transmission", downloader: "aria2" });
    const { seeder, downloader } = expectSwarm(
      r,
      {
        seeder: ["started", "stopped"], // over UDP its stopped on SIGINT does arrive
        downloader: ["started", "completed", "stopped"],
        scrapes: FULL_STORY.scrapes,
      },
      ["seeder"],
    );
    expect(downloader[0]!.peers).toEqual([peer("127.0.0.1", r.seederPort)]);
    for (const a of seeder) {
      expect(a.udp!.size).toBe(98); // no BEP 41 options
      expect(a.udp!.sourcePort).toBe(r.seederPort); // its one UDP socket, on the peer port
    }
    expect(new Set(seeder.map((a) => a.key)).size).toBe(1);
  });

  swarmTest("transmission-cli -> aria2 over HTTP (::1)", ["transmission", "aria2"], async () => {
    const r = await swarm({ trackerHost: "::1", announceHost: "::1", protocol: "http", private: false, seeder: "transmission", downloader: "aria2" });
    const { downloader } = expectSwarm(
      r,
      {
        seeder: ["started"],
        downloader: ["started", "completed", "stopped"],
        scrapes: { firstSeeding: c(1, 0, 0), bothSeeding: c(2, 1, 0), afterDownloaderStopped: c(1, 1, 0), afterSeederStopped: c(1, 1, 0) },
      },
      ["seeder"],
    );
    expect(downloader[0]!.peers).toEqual([peer("::1", r.seederPort)]);
  });

  swarmTest("aria2 -> transmission-cli over HTTP (the seeder dials the downloader it was told of)", ["transmission", "aria2"], async () => {
    // Transmission will not dial a loopback peer, but accepts one that dials it: start it
    // first, so that the seeder's first answer lists it and aria2 connects to it.
    const r = await swarm({ trackerHost: "127.0.0.1", announceHost: "127.0.0.1", protocol: "http", private: false, seeder: "aria2", downloader: "transmission", seederDials: true });
    const { seeder, downloader } = expectSwarm(
      r,
      {
        seeder: ["started", "stopped"],
        // Transmission sends completed, and (over HTTP) no stopped on SIGINT.
        downloader: ["started", "completed"],
        scrapes: { firstSeeding: c(1, 0, 1), bothSeeding: c(2, 1, 0), afterDownloaderStopped: c(2, 1, 0), afterSeederStopped: c(1, 1, 0) },
      },
      ["downloader"],
    );
    expect(seeder[0]!.peers).toEqual([peer("127.0.0.1", r.downloaderPort)]);
    expect(downloader.map((a) => a.left)).toEqual([BigInt(FILE_SIZE), 0n]);
  });

  swarmTest("libtorrent -> aria2 over UDP (dual-stack tracker on ::, private torrent)", ["libtorrent", "aria2"], async () => {
    const r = await swarm({ trackerHost: "::", announceHost: "127.0.0.1", protocol: "udp", private: true, seeder: "libtorrent", downloader: "aria2" });
    const { seeder, downloader } = expectSwarm(r, FULL_STORY);
    expect(downloader[0]!.peers).toEqual([peer("127.0.0.1", r.seederPort)]);
    for (const a of seeder) {
      // 98 + BEP 41 URL data: type 2, length 9, "/announce".
      expect(a.udp!.size).toBe(109);
      expect(a.udp!.options).toEqual([{ type: 2, data: "/announce" }]);
    }
    expect(seeder.map((a) => a.numwant)).toEqual([200, 0]);
  });

  swarmTest("aria2 -> libtorrent over HTTP (127.0.0.1)", ["libtorrent", "aria2"], async () => {
    const r = await swarm({ trackerHost: "127.0.0.1", announceHost: "127.0.0.1", protocol: "http", private: false, seeder: "aria2", downloader: "libtorrent" });
    const { downloader } = expectSwarm(r, FULL_STORY);
    expect(downloader[0]!.peers).toEqual([peer("127.0.0.1", r.seederPort)]);
    for (const a of downloader) {
      expect(a.http!.names).toEqual(LIBTORRENT_HTTP_PARAMS);
      expect(a.http!.userAgent).toStartWith("libtorrent/");
      expect(a.key).toMatch(/^[0-9A-F]{8}$/);
    }
    expect(downloader.map((a) => a.numwant)).toEqual([200, 200, 0]);
  });

  swarmTest("libtorrent -> libtorrent over UDP through a passkey URL (private mode, BEP 41 URL data)", ["libtorrent"], async () => {
    const r = await swarm({ trackerHost: "127.0.0.1", announceHost: "127.0.0.1", protocol: "udp", private: true, seeder: "libtorrent", downloader: "libtorrent", passkey: true });
    const { seeder, downloader } = expectSwarm(r, FULL_STORY);
    expect(downloader[0]!.peers).toEqual([peer("127.0.0.1", r.seederPort)]);
    const key = /\/([A-Za-z0-9_-]{32})\/announce$/.exec(r.announceUrl)![1];
    for (const a of [...seeder, ...downloader]) {
      // 98 + BEP 41 URL data: type 2, length 42, "/<passkey>/announce".
      expect(a.udp!.options).toEqual([{ type: 2, data: `/${key}/announce` }]);
    }
    expect(r.usage!.announces).toBe(seeder.length + downloader.length);
    expect(r.usage!.completions).toBe(1);
  });

  swarmTest("libtorrent -> libtorrent over UDP (::1)", ["libtorrent"], async () => {
    const r = await swarm({ trackerHost: "::1", announceHost: "::1", protocol: "udp", private: false, seeder: "libtorrent", downloader: "libtorrent" });
    const { downloader } = expectSwarm(r, FULL_STORY);
    // An IPv6 UDP answer: 20 bytes + one 18-byte record.
    expect(downloader[0]!.peers).toEqual([peer("::1", r.seederPort)]);
    for (const a of downloader) expect(a.from).toBe("::1");
  });
});
