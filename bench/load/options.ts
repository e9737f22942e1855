/**
 * Command-line options of the load generator, their defaults and limits.
 * parseLoadArgs never throws: it returns the options or an error message for the CLI to print.
 */
import { DEFAULT_SEED } from "./info-hashes.ts";
import { parseTarget, type Target } from "./target.ts";

export type LoadMode = "udp" | "http-close" | "http-keepalive";
export const LOAD_MODES: readonly LoadMode[] = ["udp", "http-close", "http-keepalive"];

/** No run lasts longer than this, whatever --seconds says. */
export const MAX_SECONDS = 120;

export interface LoadOptions {
  target: Target;
  mode: LoadMode;
  /** Measured duration, seconds (capped at MAX_SECONDS). */
  seconds: number;
  /** Unmeasured warm-up before it, seconds (JITs, caches, socket buffers settle). */
  warmup: number;
  /** Number of torrents; torrent i is the i-th most popular. */
  torrents: number;
  /** Number of simulated clients, each with its own peer_id, port and torrent. */
  clients: number;
  /** UDP: requests in flight at most. */
  window: number;
  /** UDP: client sockets (clients are spread over them; each has its own source port). */
  sockets: number;
  /** HTTP: concurrent connections. */
  connections: number;
  seed: number;
  /** Popularity exponent: torrent i has weight 1/(i+1)^zipf. */
  zipf: number;
  /** Share of clients that start as seeders (left = 0). */
  seeders: number;
  /** Chance that a client's next request is a scrape instead of an announce. */
  scrapeChance: number;
  /** Most info_hashes in one scrape (1..74). */
  scrapeMax: number;
  /** Chance that a regular announce is event=stopped (the client re-joins with started). */
  stopChance: number;
  /** Chance that a leecher's regular announce is event=completed (it becomes a seeder). */
  completeChance: number;
  /** numwant sent in announces. */
  numwant: number;
  /** UDP: a request with no answer after this long is counted lost. */
  timeoutMs: number;
  /** UDP: a client reconnects when its connection id is older than this (BEP 15: 60 s). */
  connectionTtlSeconds: number;
  /** HTTP modes over TLS (HTTPS), or null for plain TCP. */
  tls: LoadTls | null;
  json: boolean;
}

/**
 * How the HTTP modes speak TLS. `ca` and `verify` are exclusive ways to accept a test
 * certificate: the CA file's certificates replace the system's roots, or no verification at all.
 * Neither: verified against the system's roots (a self-signed certificate is then refused).
 */
export interface LoadTls {
  /** --ca FILE: PEM certificates to verify the server's chain against (read when the run starts). */
  caFile: string | null;
  /** false with --tls-no-verify: any certificate is accepted (the handshake is the same work). */
  verify: boolean;
}

export const DEFAULTS = {
  mode: "udp" as LoadMode,
  seconds: 10,
  warmup: 1,
  torrents: 10_000,
  clients: 2_000,
  window: 128,
  sockets: 8,
  connections: 64,
  seed: DEFAULT_SEED,
  zipf: 1.0,
  seeders: 0.5,
  scrapeChance: 0.02,
  scrapeMax: 10,
  stopChance: 0.02,
  completeChance: 0.05,
  numwant: 50,
  timeoutMs: 1000,
  connectionTtlSeconds: 60,
  tls: null as LoadTls | null,
};

export const USAGE = `Usage: bun run bench/load/main.ts --target 127.0.0.1:PORT [options]

  --target HOST:PORT   loopback only (127.0.0.0/8, ::1 as [::1]:PORT)
  --mode M             udp | http-close | http-keepalive        (default udp)
                       | ws: the WebSocket (WebTorrent) load, run by bench/ws/load.ts
                       with the other arguments (npx bun run bench/ws/load.ts --help)
  --seconds S          measured duration, at most ${MAX_SECONDS}           (default ${DEFAULTS.seconds})
  --warmup S           unmeasured warm-up before it, at most 30 (default ${DEFAULTS.warmup})
  --torrents N         torrents, Zipf-popular                    (default ${DEFAULTS.torrents})
  --clients M          simulated clients                         (default ${DEFAULTS.clients})
  --window W           udp: requests in flight                   (default ${DEFAULTS.window})
  --sockets K          udp: client sockets                       (default ${DEFAULTS.sockets})
  --connections C      http: concurrent connections              (default ${DEFAULTS.connections})
  --seed S             workload seed (also the info_hashes')     (default ${DEFAULTS.seed})
  --zipf X             popularity exponent                       (default ${DEFAULTS.zipf})
  --seeders P          share of clients starting as seeders      (default ${DEFAULTS.seeders})
  --scrape P           chance a request is a scrape              (default ${DEFAULTS.scrapeChance})
  --scrape-max N       most info_hashes per scrape               (default ${DEFAULTS.scrapeMax})
  --stop P             chance an announce is event=stopped       (default ${DEFAULTS.stopChance})
  --complete P         chance a leecher announces completed      (default ${DEFAULTS.completeChance})
  --numwant N          numwant in announces                      (default ${DEFAULTS.numwant})
  --timeout-ms T       udp: a request unanswered this long is lost (default ${DEFAULTS.timeoutMs})
  --conn-ttl S         udp: connection id refresh age, seconds   (default ${DEFAULTS.connectionTtlSeconds})
  --tls                http modes over TLS (HTTPS): a TLS handshake per connection
  --ca FILE            with --tls: verify the server's certificate against FILE (PEM)
  --tls-no-verify      with --tls: accept any certificate (no verification, like curl -k)
                       (--tls alone verifies against the system's roots)
                       with --mode ws, --tls makes the target wss:// and --ca or
                       --tls-no-verify go on to bench/ws/load.ts
  --json               print the result as JSON on stdout
  --write-whitelist F  write the --torrents info_hashes of --seed to F as 40-hex lines
                       (and exit, unless --target is also given)
`;

/**
 * `--mode ws`: the arguments for bench/ws/load.ts, or null when the mode is another. The WebSocket
 * load has its own options (connections, swarms, offers per announce) and its own client, so it
 * lives in bench/ws/; this is the one door to it from here. A bare HOST:PORT target becomes
 * ws://HOST:PORT.
 */
export function wsLoadArgs(argv: readonly string[]): string[] | null {
  const out: string[] = [];
  let ws = false;
  const tls = argv.includes("--tls");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--mode=ws" || (arg === "--mode" && argv[i + 1] === "ws")) {
      ws = true;
      if (arg === "--mode") i++;
      continue;
    }
    if (arg === "--tls") continue;
    if (arg === "--target" && argv[i + 1] !== undefined) {
      out.push(arg, asWsUrl(argv[++i]!, tls));
      continue;
    }
    if (arg.startsWith("--target=")) {
      out.push(`--target=${asWsUrl(arg.slice("--target=".length), tls)}`);
      continue;
    }
    out.push(arg);
  }
  return ws ? out : null;
}

function asWsUrl(target: string, tls: boolean): string {
  return target.includes("://") ? target : `${tls ? "wss" : "ws"}://${target}`;
}

/** --write-whitelist: where, and which hashes (--torrents of --seed). */
export interface WhitelistRequest {
  path: string;
  torrents: number;
  seed: number;
}

export type ParsedArgs =
  | { ok: true; options: LoadOptions | null; writeWhitelist: WhitelistRequest | null }
  | { ok: false; error: string };

/** Parses argv (without the runtime and script). options is null when there is no --target. */
export function parseLoadArgs(argv: readonly string[]): ParsedArgs {
  const values = new Map<string, string>();
  let json = false;
  let tlsOn = false;
  let noVerify = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--json") {
      json = true;
      continue;
    }
    if (arg === "--tls") {
      tlsOn = true;
      continue;
    }
    if (arg === "--tls-no-verify") {
      noVerify = true;
      continue;
    }
    if (arg === "--help" || arg === "-h") return { ok: false, error: "" };
    if (!arg.startsWith("--")) return { ok: false, error: `unexpected argument "${arg}"` };
    const eq = arg.indexOf("=");
    if (eq > 0) {
      values.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined) return { ok: false, error: `${arg} needs a value` };
      values.set(arg.slice(2), value);
      i++;
    }
  }
  const known = new Set([
    "target", "mode", "seconds", "warmup", "torrents", "clients", "window", "sockets", "connections", "seed",
    "zipf", "seeders", "scrape", "scrape-max", "stop", "complete", "numwant", "timeout-ms",
    "conn-ttl", "write-whitelist", "ca",
  ]);
  for (const key of values.keys()) {
    if (!known.has(key)) return { ok: false, error: `unknown option --${key}` };
  }

  let error = "";
  const num = (key: string, fallback: number, min: number, max: number, integer: boolean): number => {
    const text = values.get(key);
    if (text === undefined) return fallback;
    const n = Number(text.replaceAll("_", ""));
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      error ||= `--${key} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got "${text}"`;
    }
    return n;
  };

  const mode = (values.get("mode") ?? DEFAULTS.mode) as LoadMode;
  if (!LOAD_MODES.includes(mode)) return { ok: false, error: `--mode must be one of ${LOAD_MODES.join(", ")}` };
  const seconds = Math.min(num("seconds", DEFAULTS.seconds, 0.1, 1e9, false), MAX_SECONDS);
  const warmup = num("warmup", DEFAULTS.warmup, 0, 30, false);
  const torrents = num("torrents", DEFAULTS.torrents, 1, 10_000_000, true);
  const clients = num("clients", DEFAULTS.clients, 1, 1_000_000, true);
  const window = num("window", DEFAULTS.window, 1, 65_536, true);
  const sockets = num("sockets", DEFAULTS.sockets, 1, 256, true);
  const connections = num("connections", DEFAULTS.connections, 1, 10_000, true);
  const seed = num("seed", DEFAULTS.seed, 0, 0xffff_ffff, true);
  const zipf = num("zipf", DEFAULTS.zipf, 0, 10, false);
  const seeders = num("seeders", DEFAULTS.seeders, 0, 1, false);
  const scrapeChance = num("scrape", DEFAULTS.scrapeChance, 0, 1, false);
  const scrapeMax = num("scrape-max", DEFAULTS.scrapeMax, 1, 74, true);
  const stopChance = num("stop", DEFAULTS.stopChance, 0, 1, false);
  const completeChance = num("complete", DEFAULTS.completeChance, 0, 1, false);
  const numwant = num("numwant", DEFAULTS.numwant, -1, 1000, true);
  const timeoutMs = num("timeout-ms", DEFAULTS.timeoutMs, 1, 60_000, true);
  const connectionTtlSeconds = num("conn-ttl", DEFAULTS.connectionTtlSeconds, 1, 3600, false);
  if (error) return { ok: false, error };
  if (stopChance + completeChance > 1) return { ok: false, error: "--stop + --complete must not exceed 1" };
  const caFile = values.get("ca") ?? null;
  if (!tlsOn && (caFile !== null || noVerify)) {
    return { ok: false, error: `${caFile !== null ? "--ca" : "--tls-no-verify"} needs --tls` };
  }
  if (caFile !== null && noVerify) return { ok: false, error: "--ca and --tls-no-verify exclude each other" };
  if (caFile === "") return { ok: false, error: "--ca needs a file" };
  if (tlsOn && mode === "udp") return { ok: false, error: "--tls is for --mode http-close and http-keepalive" };
  const tls: LoadTls | null = tlsOn ? { caFile, verify: !noVerify } : null;

  const whitelistPath = values.get("write-whitelist");
  const writeWhitelist = whitelistPath === undefined ? null : { path: whitelistPath, torrents, seed };
  const targetText = values.get("target");
  if (targetText === undefined) {
    if (writeWhitelist !== null) {
      return { ok: true, options: null, writeWhitelist };
    }
    return { ok: false, error: "--target is required" };
  }
  const parsed = parseTarget(targetText);
  if (!parsed.ok) return { ok: false, error: parsed.error };

  return {
    ok: true,
    writeWhitelist,
    options: {
      target: parsed.target, mode, seconds, warmup, torrents, clients, window, sockets, connections, seed,
      zipf, seeders, scrapeChance, scrapeMax, stopChance, completeChance, numwant, timeoutMs,
      connectionTtlSeconds, tls, json,
    },
  };
}

/** Options for programmatic use (tests, the comparison): DEFAULTS overridden by `partial`. */
export function loadOptions(target: Target, partial: Partial<Omit<LoadOptions, "target">> = {}): LoadOptions {
  return { target, ...DEFAULTS, json: false, ...partial };
}
