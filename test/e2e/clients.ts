/**
 * The real BitTorrent programs the e2e suite drives: finding them, their versions, the command
 * lines that make them seed or download with every peer source but the tracker switched off,
 * and .torrent files made by mktorrent.
 *
 * Peer sources other than the tracker, and how each is switched off:
 *   aria2c            --enable-dht=false --enable-dht6=false --enable-peer-exchange=false
 *                     --bt-enable-lpd=false. aria2 speaks to UDP trackers only through its DHT
 *                     socket, so UDP cases keep --enable-dht=true with a private torrent: the
 *                     private flag (BEP 27) keeps that torrent out of DHT, PEX and LPD, and with
 *                     no bootstrap node in an empty namespace the DHT has nobody to talk to.
 *   transmission-cli  settings.json in its own config dir: dht-enabled, lpd-enabled,
 *                     pex-enabled false (no command-line flags exist for them); -M (no UPnP).
 *                     Transmission 3.00 drops tracker peers on 127/8 and ::1 ("martian"
 *                     addresses, libtransmission/net.c), so on loopback it can only seed, or
 *                     download from a peer that dials it.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { runBounded } from "./sandbox.ts";

export type Tool = "aria2c" | "transmission-cli" | "mktorrent" | "unshare";

/** The BitTorrent clients the suite drives. */
export type ClientKind = "aria2" | "transmission" | "libtorrent";

/** The system Python that Debian's python3-libtorrent installs into. */
export const PYTHON = "/usr/bin/python3";
const LT_CLIENT = join(import.meta.dir, "lt-client.py");

export interface Availability {
  ok: boolean;
  /** Version line when found, what is missing otherwise. */
  detail: string;
}

const availability = new Map<string, Promise<Availability>>();

/** Whether a client (or mktorrent) can run here, and its version; probed once. */
export function clientAvailable(kind: ClientKind | "mktorrent"): Promise<Availability> {
  let p = availability.get(kind);
  if (p === undefined) {
    p = probeClient(kind);
    availability.set(kind, p);
  }
  return p;
}

async function probeClient(kind: ClientKind | "mktorrent"): Promise<Availability> {
  if (kind === "libtorrent") {
    const r = await runBounded([PYTHON, "-c", "import libtorrent as lt; print(lt.__version__)"], 10_000);
    return r.code === 0
      ? { ok: true, detail: `libtorrent-rasterbar ${r.stdout.trim()} (python3-libtorrent, ${PYTHON})` }
      : { ok: false, detail: `python3-libtorrent not importable by ${PYTHON} (apt-get install -y python3-libtorrent)` };
  }
  const tool: Tool = kind === "aria2" ? "aria2c" : kind === "transmission" ? "transmission-cli" : "mktorrent";
  if (findTool(tool) === null) return { ok: false, detail: `${tool} not found on PATH (apt-get install -y ${kind === "aria2" ? "aria2" : tool})` };
  return { ok: true, detail: await toolVersion(tool) };
}

/** Absolute path of a program on PATH, or null. */
export function findTool(name: Tool): string | null {
  return Bun.which(name);
}

/** One line naming each program's version, e.g. "aria2 version 1.36.0". */
export async function toolVersion(name: Tool): Promise<string> {
  const path = findTool(name);
  if (path === null) return `${name}: not found`;
  const arg = name === "mktorrent" ? "-h" : name === "unshare" ? "-V" : "--version";
  const r = await runBounded([path, arg], 5000);
  const first = (r.stdout + "\n" + r.stderr).split("\n").find((l) => l.trim() !== "") ?? "";
  return first.trim();
}

/** sha256 of a file, hex. */
export function sha256File(path: string): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(readFileSync(path));
  return h.digest("hex");
}

/** A file of `size` random bytes; returns its sha256. */
export function writeRandomFile(path: string, size: number): string {
  const buf = Buffer.alloc(size);
  for (let o = 0; o < size; o += 65_536) crypto.getRandomValues(buf.subarray(o, Math.min(size, o + 65_536)));
  writeFileSync(path, buf);
  const h = new Bun.CryptoHasher("sha256");
  h.update(buf);
  return h.digest("hex");
}

/**
 * The byte span of the value of top-level key "info" in a bencoded torrent, by walking the
 * structure (the info_hash is the SHA-1 of exactly those bytes, not of a re-encoding).
 */
export function infoHashOf(torrent: Uint8Array): string {
  function skip(o: number): number {
    const c = torrent[o]!;
    if (c === 0x69) return torrent.indexOf(0x65, o) + 1; // i...e
    if (c === 0x6c || c === 0x64) {
      o++;
      while (torrent[o] !== 0x65) o = skip(o);
      return o + 1;
    }
    const colon = torrent.indexOf(0x3a, o);
    return colon + 1 + Number(Buffer.from(torrent.subarray(o, colon)).toString("latin1"));
  }
  if (torrent[0] !== 0x64) throw new Error("torrent is not a dictionary");
  for (let o = 1; torrent[o] !== 0x65; ) {
    const keyEnd = skip(o);
    const key = Buffer.from(torrent.subarray(o, keyEnd)).toString("latin1");
    const valueEnd = skip(keyEnd);
    if (key === "4:info") {
      const h = new Bun.CryptoHasher("sha1");
      h.update(torrent.subarray(keyEnd, valueEnd));
      return h.digest("hex");
    }
    o = valueEnd;
  }
  throw new Error("torrent has no info dictionary");
}

/**
 * `mktorrent -a <announce> [-p] -l 18 -o <out> <file>`: 256 KiB pieces, so a few-MB file has
 * a dozen pieces. Returns the info_hash (hex).
 */
export async function makeTorrent(file: string, out: string, announce: string, isPrivate: boolean): Promise<string> {
  const cmd = [findTool("mktorrent")!, "-a", announce, "-l", "18", "-o", out];
  if (isPrivate) cmd.push("-p");
  cmd.push(file);
  const r = await runBounded(cmd, 15_000);
  if (r.code !== 0) throw new Error(`mktorrent failed (${r.code}): ${r.stderr}${r.stdout}`);
  return infoHashOf(readFileSync(out));
}

export interface ClientPorts {
  /** TCP port for peers (and Transmission's UDP socket, which also carries its tracker traffic). */
  peer: number;
  /** aria2's DHT UDP socket, which carries its UDP tracker traffic. */
  dht: number;
}

/**
 * aria2c as a seeder (`dir` already holds the file: verified first, then seeded) or a
 * downloader that keeps seeding after completion (--seed-ratio=0.0 = seed until stopped), so
 * the tracker sees two seeders at the end.
 */
export function aria2Command(opts: {
  torrent: string;
  dir: string;
  ports: ClientPorts;
  log: string;
  /** true for udp:// trackers: aria2 needs its DHT socket for them (see the header). */
  udpTracker: boolean;
  seeder: boolean;
}): string[] {
  return [
    findTool("aria2c")!,
    "--no-conf=true",
    `--dir=${opts.dir}`,
    `--listen-port=${opts.ports.peer}`,
    `--enable-dht=${opts.udpTracker}`,
    `--dht-listen-port=${opts.ports.dht}`,
    `--dht-file-path=${join(opts.dir, "..", `dht-${opts.ports.dht}.dat`)}`,
    "--enable-dht6=false",
    "--enable-peer-exchange=false",
    "--bt-enable-lpd=false",
    "--seed-ratio=0.0",
    `--check-integrity=${opts.seeder}`,
    "--bt-seed-unverified=false",
    "--file-allocation=none",
    "--allow-overwrite=true",
    "--auto-file-renaming=false",
    "--bt-tracker-connect-timeout=5",
    "--bt-tracker-timeout=10",
    "--bt-stop-timeout=0",
    "--summary-interval=0",
    "--console-log-level=warn",
    `--log=${opts.log}`,
    "--log-level=info",
    opts.torrent,
  ];
}

/**
 * The libtorrent client (lt-client.py) on `address`:`port`: it seeds if `dir` holds the file,
 * downloads otherwise, and keeps seeding until SIGINT.
 */
export function libtorrentCommand(opts: { torrent: string; dir: string; address: string; port: number }): string[] {
  return [PYTHON, LT_CLIENT, opts.torrent, opts.dir, opts.address, String(opts.port)];
}

/**
 * transmission-cli as a seeder of the file already in `dir` or as a downloader into `dir`. Its
 * switches for DHT/LPD/PEX live in settings.json only. It checks data it finds on its own;
 * `-v` is NOT used: with it, transmission-cli 3.00 sometimes quits at once (its main loop
 * exits when it sees the torrent "stopped", which the forced check briefly makes it).
 * -M: no port mapping; -D/-U: no speed limits. "message-level": 2 logs to stderr (info).
 */
export function transmissionCommand(opts: { torrent: string; dir: string; configDir: string; peerPort: number }): string[] {
  mkdirSync(opts.configDir, { recursive: true });
  writeFileSync(
    join(opts.configDir, "settings.json"),
    JSON.stringify(
      {
        "dht-enabled": false,
        "lpd-enabled": false,
        "pex-enabled": false,
        "utp-enabled": false,
        "port-forwarding-enabled": false,
        "blocklist-enabled": false,
        "peer-port": opts.peerPort,
        "peer-port-random-on-start": false,
        "download-dir": opts.dir,
        "incomplete-dir-enabled": false,
        "ratio-limit-enabled": false,
        "idle-seeding-limit-enabled": false,
        "encryption": 1,
        "message-level": 2,
      },
      null,
      2,
    ),
  );
  return [
    findTool("transmission-cli")!,
    "-g", opts.configDir,
    "-w", opts.dir,
    "-p", String(opts.peerPort),
    "-M",
    "-D",
    "-U",
    opts.torrent,
  ];
}
