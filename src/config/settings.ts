/**
 * The settings table: the one declaration of every setting (kind, default, allowed values,
 * placeholder, documentation). Everything else is derived from it: the `Config` type, DEFAULT_CONFIG,
 * the flag / environment variable / TOML key names, the parsing and checks in config.ts, and the
 * three documents in docs.ts (--help, --print-config and README.md's settings table).
 *
 * To add a setting, add one entry to SETTINGS, then run `npx bun run docs:settings --write`.
 */
import { availableParallelism } from "node:os";
import { parseAddress } from "../protocol/compact.ts";
import { MAX_ANNOUNCE_PEERS, MAX_SCRAPE_HASHES } from "../protocol/udp.ts";

/** The program name in messages and in the usage line. */
export const PROGRAM = "sc6-tracker";

/** Environment variable naming the config file (the `--config` flag wins over it). */
export const CONFIG_ENV = "TRACKER_CONFIG";

// ---------------------------------------------------------------------------------------------
// The shape of one setting

/** What each kind of setting holds once parsed: this is what makes `Config` precise. */
interface KindValues {
  int: number;
  number: number;
  bool: boolean;
  string: string;
  list: string[];
}
type Kind = keyof KindValues;

interface Common<K extends Kind> {
  kind: K;
  default: KindValues[K];
  /** For --help, the TOML comments and README.md. */
  doc: string;
  /**
   * Applied to the running tracker when SIGHUP reloads the configuration; the others need a
   * restart (their values size buffers, timers and the store when the tracker starts).
   */
  live?: true;
  /** Extra rule on a parsed value: returns what is allowed ("must be ...") when it fails. */
  check?: (value: KindValues[K]) => string | undefined;
  /**
   * The default where it depends on the machine: README.md shows only this text; --help and
   * --print-config add this machine's value.
   */
  defaultText?: string;
  /** Never echo the value in messages (they end up in logs). */
  secret?: boolean;
  /**
   * Also a positional argument (sc6 style), in table order: `sc6-tracker [port] [interval]`.
   * The text describes it in the --help usage.
   */
  positional?: string;
}

/** The value placeholder in --help, e.g. "<seconds>". Booleans take no value, so have none. */
interface Valued {
  placeholder: string;
}

interface Numeric extends Valued {
  /** Inclusive range. */
  min: number;
  max: number;
  /** Describes the allowed values where min..max is not the whole story (then `check` says the rest). */
  allowed?: string;
}

type SettingOf<K extends Kind> = Common<K> & (K extends "int" | "number" ? Numeric : K extends "bool" ? unknown : Valued);
/** One entry of SETTINGS: a union discriminated by `kind`, so `default` and `check` fit the kind. */
type Setting = { [K in Kind]: SettingOf<K> }[Kind];

/** Any entry, seen without its kind-specific types (for code that handles every key alike). */
export type SettingSpec = Common<Kind> & Partial<Numeric>;

// ---------------------------------------------------------------------------------------------
// Limits and checks used in the table

/** What is wrong with a `store` value, or undefined: `memory`, or a redis:// / rediss:// URL. */
export function storeUrlProblem(v: string): string | undefined {
  if (v === "memory") return undefined;
  const bad = "must be memory or redis://[user:pass@]host:port[/db] (or rediss://)";
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return bad;
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return bad;
  if (url.hostname === "") return bad;
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db)) return `${bad}: the database is a number, got "${db}"`;
  return undefined;
}

const INT32_MAX = 2_147_483_647;

/** UDP answers and requests must fit one datagram: that bounds numwant and scrape hashes. */
const NUMWANT_LIMIT = MAX_ANNOUNCE_PEERS;
const SCRAPE_HASHES_LIMIT = MAX_SCRAPE_HASHES;

/**
 * sc6's allowed load: one core minus a half, i.e. 0.5 on a single-core machine (sc6's `ML: 0.50`).
 * Above it the announce interval grows. Never below 0.5, whatever the runtime reports.
 */
const DEFAULT_MAX_LOAD = Math.max(1, availableParallelism()) - 0.5;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * An IP literal (v4 or v6, optional %zone)? Our own parser rather than node:net's isIP: importing
 * node:net costs ~4 MB of resident memory for the life of the process.
 */
function isIP(value: string): boolean {
  return parseAddress(value, new Uint8Array(16), 0) !== 0;
}

// ---------------------------------------------------------------------------------------------
// The table

/** Every setting, in the order --help, --print-config and README.md list them. */
const SETTINGS = {
  port: {
    kind: "int",
    default: 6969, // sc6's example port; TCP (HTTP) and UDP share it
    min: 0,
    max: 65_535,
    placeholder: "<port>",
    positional: "TCP and UDP port",
    doc: "TCP (HTTP) and UDP port; both protocols share it. 0 picks a free port.",
  },
  host: {
    kind: "string",
    default: "::", // all interfaces, IPv4 and IPv6 (dual-stack)
    placeholder: "<address>",
    doc: 'Address to bind: an IP literal or "localhost". "::" is every interface, IPv4 and IPv6.',
    check: (v) =>
      v === "localhost" || isIP(v)
        ? undefined
        : 'must be an IP address literal (e.g. "::", "0.0.0.0", "127.0.0.1", "::1") or "localhost"',
  },
  udp: { kind: "bool", default: true, doc: "Serve the UDP tracker protocol (BEP 15) on the port." },
  http: {
    kind: "bool",
    default: true,
    doc: "Serve HTTP (announce, scrape, stats) on the port. At least one of udp and http must be on.",
  },
  interval: {
    kind: "int",
    default: 299, // sc6: just under 5 minutes
    min: 1,
    max: 86_400,
    placeholder: "<seconds>",
    positional: "starting announce interval in seconds",
    doc: "Starting announce interval, seconds; must lie within interval-min..interval-max, where the load rule then moves it.",
  },
  intervalMin: {
    live: true,
    kind: "int",
    default: 239, // sc6: 4 minutes (minus a second)
    min: 1,
    max: 86_400,
    placeholder: "<seconds>",
    doc: "Shortest announce interval, seconds.",
  },
  intervalMax: {
    live: true,
    kind: "int",
    default: 1799, // sc6: 30 minutes (minus a second)
    min: 1,
    max: 86_400,
    placeholder: "<seconds>",
    doc: "Longest announce interval, seconds.",
  },
  intervalStepPeriod: {
    kind: "int",
    default: 900, // sc6: the interval rule runs every 15 minutes
    min: 1,
    max: 86_400,
    placeholder: "<seconds>",
    doc: "How often the interval rule runs (and the terminal line is printed), seconds.",
  },
  intervalStep: {
    live: true,
    kind: "int",
    default: 60, // one minute per step
    min: 0,
    max: 86_400,
    placeholder: "<seconds>",
    doc: "How far the interval moves per period, seconds. 0 keeps the interval fixed.",
  },
  maxLoad: {
    live: true,
    kind: "number",
    default: DEFAULT_MAX_LOAD,
    defaultText: "CPUs available - 0.5",
    min: 0,
    max: 1_000_000,
    allowed: "a number greater than 0",
    check: (v) => (v > 0 ? undefined : "must be greater than 0"),
    placeholder: "<load>",
    doc: "Allowed 15-minute load average: below it the interval shrinks by one step, at or above it grows.",
  },
  peerTimeout: {
    kind: "int",
    default: 2700, // 45 minutes: comfortably above intervalMax, so a slow announcer is kept
    min: 1,
    max: INT32_MAX,
    placeholder: "<seconds>",
    doc: "Peers not heard from for this long are swept, seconds. Must exceed interval-max.",
  },
  torrentRetention: {
    kind: "int",
    default: 86_400, // an empty torrent keeps its `downloaded` count for a day
    min: 0,
    max: INT32_MAX,
    placeholder: "<seconds>",
    doc: "An empty torrent keeps its downloaded count this long before it is forgotten, seconds.",
  },
  numwantDefault: {
    live: true,
    kind: "int",
    default: 50, // BEP 3 / common client default
    min: 0,
    max: NUMWANT_LIMIT,
    placeholder: "<n>",
    doc: "Peers returned when the client does not say how many it wants; at most numwant-max.",
  },
  numwantMax: {
    kind: "int",
    default: 200,
    min: 1,
    max: NUMWANT_LIMIT,
    placeholder: "<n>",
    doc: `Most peers returned by one announce (at most ${NUMWANT_LIMIT}: a UDP answer must fit one datagram).`,
  },
  scrapeMaxHashes: {
    kind: "int",
    default: 74, // a 74-hash UDP scrape request is 16 + 74 * 20 = 1496 bytes of payload
    min: 1,
    max: SCRAPE_HASHES_LIMIT,
    placeholder: "<n>",
    doc: "Most info_hashes one scrape may ask for, HTTP and UDP.",
  },
  maxTorrents: {
    kind: "int",
    default: 10_000_000,
    min: 1,
    max: INT32_MAX,
    placeholder: "<n>",
    doc: "Capacity: announces for new torrents beyond this get a failure reason.",
  },
  maxPeers: {
    kind: "int",
    default: 50_000_000,
    min: 1,
    max: INT32_MAX,
    placeholder: "<n>",
    doc: "Capacity: announces from new peers beyond this get a failure reason.",
  },
  fullScrape: {
    kind: "bool",
    default: false, // a full scrape is large and easy to abuse
    doc: "Answer /scrape without info_hash with every torrent (off, as in sc6).",
  },
  fullScrapeCache: {
    kind: "int",
    default: 30,
    min: 0,
    max: 86_400,
    placeholder: "<seconds>",
    doc: "A rendered full scrape is reused for this long, seconds.",
  },
  fullScrapeMaxConcurrent: {
    kind: "int",
    default: 4,
    min: 1,
    max: 10_000,
    placeholder: "<n>",
    doc: "Most full scrapes sent at once; more get 503 with Retry-After. Each is streamed from the one cached body, so a slow reader holds no copy of it.",
  },
  quiet: {
    live: true,
    kind: "bool",
    default: false,
    doc: "Do not print the start-up line, the periodic terminal line or the stop message.",
  },
  logRequests: {
    live: true,
    kind: "bool",
    default: false,
    doc: "Print one line per request on stdout (time, address, protocol, action, info_hash, result), for debugging a client. Off: nothing is formatted.",
  },
  peerIds: {
    kind: "bool",
    default: true, // BEP 3 dictionaries carry peer ids; the memory is spent only once a client asks
    doc:
      "Keep peer_ids for compact=0 answers, from the first request that asks for them on (20 bytes per peer from then). " +
      "A compact=0 answer lists peers as dictionaries only when every listed peer's id is known (or the client sent " +
      "no_peer_id=1); otherwise it is answered in the compact form, which BEP 23 allows. --no-peer-ids never keeps " +
      "them, so compact=0 answers are then compact unless no_peer_id=1.",
  },
  statsAllow: {
    kind: "list",
    default: [], // empty = everyone, as in sc6
    placeholder: "<ip,ip,...>",
    doc: "Addresses allowed to read /stats and /metrics (IP literals). Empty: everyone, as in sc6.",
    check: (list) => {
      for (const a of list) if (!isIP(a)) return `must list IP address literals; "${a}" is not one`;
      return undefined;
    },
  },
  udpSecret: {
    kind: "string",
    default: "", // empty = a random key per process
    secret: true,
    placeholder: "<text>",
    doc: "Secret for UDP connection ids, so several processes accept each other's. Empty: random per process; otherwise at least 16 characters.",
    // A short secret can be guessed, and a guessed key lets anyone forge connection ids, which
    // turns the tracker into a reflector for spoofed packets.
    check: (v) =>
      v === "" || v.length >= 16 ? undefined : "must be empty or at least 16 characters (a short secret can be guessed)",
  },
  tlsPort: {
    kind: "int",
    default: 0, // off
    min: 0,
    max: 65535,
    placeholder: "<port>",
    doc: "Also serve HTTPS (and WebSocket over wss://) on this TCP port: everything the HTTP port serves. Needs tls-cert and tls-key. 0: off. With --no-http it may be the main port (HTTPS-only TCP; UDP keeps the port).",
  },
  tlsCert: {
    kind: "string",
    default: "",
    placeholder: "<file>",
    doc: "The HTTPS certificate, PEM (a chain in the file: leaf first, as certbot's fullchain.pem). Read again on SIGHUP and whenever it changes; a pair that does not load is reported and the old one kept.",
    check: (v) => (v.includes("\0") ? "must be a file path" : undefined),
  },
  tlsKey: {
    kind: "string",
    default: "",
    placeholder: "<file>",
    doc: "The HTTPS certificate's private key, PEM (unencrypted). Read again with the certificate.",
    check: (v) => (v.includes("\0") ? "must be a file path" : undefined),
  },
  httpIdleTimeout: {
    kind: "int",
    default: 10, // Bun's default keep-alive idle timeout
    min: 1,
    max: 255,
    placeholder: "<seconds>",
    doc: "HTTP keep-alive idle timeout, seconds (Bun allows 1..255): an idle connection is then closed.",
  },
  trustProxyHeader: {
    kind: "string",
    default: "", // the socket address: safe unless behind a proxy you run
    placeholder: "<header>",
    doc: 'Header with the client address, set by a reverse proxy you run (e.g. "x-forwarded-for"); its last entry is used. Empty: the socket address.',
    check: (v) =>
      v === "" || HEADER_NAME.test(v) ? undefined : 'must be empty or an HTTP header name such as "x-forwarded-for"',
  },
  completionsPerAddress: {
    kind: "int",
    default: 3,
    min: 0,
    max: 1_000_000,
    placeholder: "<n>",
    doc: "Most `completed` events counted per address, per torrent, per hour: one host announcing from many ports cannot inflate a torrent's downloaded count. 0: no limit (still once per peer).",
  },
  announcesPerMinute: {
    kind: "int",
    default: 3000,
    min: 0,
    max: 100_000_000,
    placeholder: "<n>",
    doc: "Most announces one address may make per minute, HTTP and UDP together; more get a failure reason (UDP: an error packet) until the next minute. Generous: many users can share one address (CGNAT). 0: no limit.",
  },
  udpConnectsPerMinute: {
    kind: "int",
    default: 3000,
    min: 0,
    max: 100_000_000,
    placeholder: "<n>",
    doc: "Most BEP 15 connects one address may make per minute; more are dropped unanswered until the next minute. 0: no limit.",
  },
  udpBadIdAnswersPerMinute: {
    kind: "int",
    default: 60,
    min: 0,
    max: 100_000_000,
    placeholder: "<n>",
    doc: "Most error packets per minute answering one address's wrong or expired connection ids; past that its packets are dropped unanswered, so a spoofed address cannot draw a stream of answers. 0: no limit.",
  },
  store: {
    kind: "string",
    default: "memory",
    secret: true, // a Redis URL may carry a password
    placeholder: "memory|redis://...",
    doc: "Where swarms live: memory (this process) or redis://[user:pass@]host:port[/db] (also rediss://, Valkey too), shared by every tracker node pointed at it.",
    check: (v) => storeUrlProblem(v),
  },
  stateFile: {
    kind: "string",
    default: "", // off: swarms live in memory only
    placeholder: "<path>",
    doc: "Keep swarms and downloaded counts across restarts in this file: written on SIGTERM/SIGINT, on SIGUSR1 and every state-interval seconds (to a temporary file, fsynced, then renamed), read back at start. Empty: off.",
    check: (v) => (v.includes("\0") ? "must be a file path" : undefined),
  },
  stateInterval: {
    kind: "int",
    default: 300,
    min: 0,
    max: 86_400,
    placeholder: "<seconds>",
    doc: "How often the state file is written while running, seconds; 0: only at stop and on SIGUSR1. A SIGKILL loses at most this much.",
  },
  accessMode: {
    kind: "string",
    default: "off",
    live: true,
    placeholder: "off|allow|deny",
    doc: "Which torrents are served: off (all), allow (only those in access-list), deny (all but those in access-list).",
    check: (v) => (ACCESS_MODES.includes(v) ? undefined : "must be off, allow or deny"),
  },
  accessList: {
    kind: "string",
    default: "",
    live: true,
    placeholder: "<path>",
    doc: "The info_hash list for access-mode: one 40-hex or 32-base32 info_hash per line, # comments. The file is also read again whenever it changes; a file with a bad line is refused whole and the old list kept.",
    check: (v) => (v.includes("\0") ? "must be a file path" : undefined),
  },
  private: {
    kind: "bool",
    default: false,
    doc: "Private tracker: serve only /<passkey>/announce and /<passkey>/scrape (UDP: BEP 41 URL data /<passkey>/announce), for keys in the db made with `sc6-tracker keys add`; record per key and torrent what was uploaded and downloaded.",
  },
  db: {
    kind: "string",
    default: "tracker.sqlite",
    placeholder: "<path>",
    doc: "The SQLite database of passkeys and their accounting (private mode and `sc6-tracker keys`), relative to the working directory.",
    check: (v) => (v === "" || v.includes("\0") ? "must be a file path" : undefined),
  },
  ws: {
    kind: "bool",
    default: true,
    doc: "Serve WebTorrent over WebSocket on the HTTP port (ws://host:port/ and /announce).",
  },
  wsMaxMessageBytes: {
    kind: "int",
    default: 65_536,
    min: 1024,
    max: 16 * 1024 * 1024,
    placeholder: "<bytes>",
    doc: "Largest WebSocket message accepted; a larger one closes the connection (code 1009).",
  },
  wsMaxOffers: {
    kind: "int",
    default: 10,
    min: 0,
    max: 100,
    placeholder: "<count>",
    doc: "Most WebRTC offers in one announce; more is refused with a failure reason.",
  },
  wsMessagesPerMinute: {
    kind: "int",
    default: 600,
    min: 0,
    max: 1_000_000,
    placeholder: "<count>",
    doc: "Most messages one WebSocket connection may send per minute; past it the connection is closed (code 1008). 0: no limit.",
  },
  wsIdleTimeout: {
    kind: "int",
    default: 300,
    min: 10,
    max: 960,
    placeholder: "<seconds>",
    doc: "A WebSocket connection that sends nothing for this long is closed (Bun pings it meanwhile).",
  },
  wsOfferTimeout: {
    kind: "int",
    default: 120,
    min: 1,
    max: 3600,
    placeholder: "<seconds>",
    doc: "How long a relayed offer waits for its answer; an answer after that, or to an offer never relayed, is refused.",
  },
  wsMaxConnections: {
    kind: "int",
    default: 100_000,
    min: 1,
    max: 10_000_000,
    placeholder: "<count>",
    doc: "Most WebSocket connections open at once; more get HTTP 503 instead of the upgrade.",
  },
} satisfies Record<string, Setting>;

/** The values of access-mode. */
export const ACCESS_MODES: readonly string[] = ["off", "allow", "deny"];

// ---------------------------------------------------------------------------------------------
// Derived from the table

/**
 * The tracker's settings: one field per SETTINGS entry, typed by its kind (go to the entry for
 * its documentation). Every field is settable by flag, environment variable and TOML key.
 */
export type Config = { -readonly [K in keyof typeof SETTINGS]: KindValues[(typeof SETTINGS)[K]["kind"]] };

export type Key = keyof Config;

export const KEYS = Object.keys(SETTINGS) as Key[];

/** The entry for `key`, seen uniformly (its kind-specific types are checked in the table above). */
export function spec(key: Key): SettingSpec {
  return SETTINGS[key] as SettingSpec;
}

/** The built-in defaults, frozen (the list too); parseCommandLine hands out copies. */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze(
  Object.fromEntries(
    KEYS.map((key) => {
      const value = spec(key).default;
      return [key, Array.isArray(value) ? Object.freeze([...value]) : value];
    }),
  ) as Config,
);

/** The settings SIGHUP applies to the running tracker. */
export const LIVE_KEYS = KEYS.filter((key) => spec(key).live === true);

/** A setting's documentation as every document shows it. */
export function docText(key: Key): string {
  const f = spec(key);
  return f.live === true ? `${f.doc} Reloaded on SIGHUP.` : f.doc;
}

/** The settings that are also positional arguments, in order. */
export const POSITIONALS = KEYS.filter((key) => spec(key).positional !== undefined);

/** intervalMin -> interval-min */
export function flagName(key: Key): string {
  return key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}
/** intervalMin -> interval_min */
export function tomlKey(key: Key): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}
/** intervalMin -> TRACKER_INTERVAL_MIN */
export function envName(key: Key): string {
  return "TRACKER_" + tomlKey(key).toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Describing values (shared by the messages in config.ts and the documents in docs.ts)

/** What `key` accepts, as it ends "... is not <this>" and "must be <this>". */
export function allowedText(key: Key): string {
  const f = spec(key);
  switch (f.kind) {
    case "int":
      return `an integer in ${fmtNumber(f.min!)}..${fmtNumber(f.max!)}`;
    case "number":
      return f.allowed ?? `a number in ${f.min}..${f.max}`;
    case "bool":
      return "true or false";
    case "string":
      return "text";
    case "list":
      return "a list of text";
  }
}

/** Integers from 100000 up with "_" between thousands (valid TOML, accepted by the flags too). */
export function fmtNumber(n: number): string {
  if (!Number.isInteger(n) || Math.abs(n) < 100_000) return String(n);
  return String(n).replace(/\B(?=(\d{3})+$)/g, "_");
}

export function quote(s: string): string {
  return JSON.stringify(s);
}
