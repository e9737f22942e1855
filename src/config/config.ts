/**
 * Configuration: the documented defaults, the command line, TRACKER_* environment variables and
 * a TOML config file, merged with precedence flag > env > file > default and validated.
 *
 * One table (FIELDS) describes every setting: its kind, allowed range and documentation. The
 * flag, environment variable and TOML key are derived from the field name, so the three can
 * never drift apart:  peerTimeout -> --peer-timeout, TRACKER_PEER_TIMEOUT, peer_timeout.
 *
 * This module never exits or prints: parseCommandLine() returns what main.ts should do.
 * Everything here runs once at start-up, so clarity wins over speed.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Config } from "./types.ts";
import { parseAddress } from "../protocol/compact.ts";

/**
 * An IP literal (v4 or v6, optional %zone)? Our own parser rather than node:net's isIP: importing
 * node:net costs ~4 MB of resident memory for the life of the process.
 */
function isIP(value: string): number {
  return parseAddress(value, new Uint8Array(16), 0);
}

export type { Config } from "./types.ts";

type Key = keyof Config;

/** The program name in messages and in the usage line. */
const PROGRAM = "sc6-tracker";

/** Environment variable naming the config file (the `--config` flag wins over it). */
const CONFIG_ENV = "TRACKER_CONFIG";

const INT32_MAX = 2_147_483_647;

/**
 * Largest UDP payload over IPv4 (65535 - 20 IP header - 8 UDP header). The UDP answers must fit
 * in one datagram, which bounds numwant and the number of hashes in one scrape.
 */
const UDP_MAX_PAYLOAD = 65_507;
/** A UDP announce answer is 20 bytes + 18 per IPv6 peer (BEP 15): at most 3638 peers. */
const NUMWANT_LIMIT = Math.floor((UDP_MAX_PAYLOAD - 20) / 18);
/** A UDP scrape request is 16 bytes + 20 per info_hash (BEP 15): at most 3274 hashes. */
const SCRAPE_HASHES_LIMIT = Math.floor((UDP_MAX_PAYLOAD - 16) / 20);

/**
 * sc6's allowed load: one core minus a half, i.e. 0.5 on a single-core machine (sc6's `ML: 0.50`).
 * Above it the announce interval grows. Never below 0.5, whatever the runtime reports.
 */
const DEFAULT_MAX_LOAD = Math.max(1, availableParallelism()) - 0.5;

/**
 * The built-in defaults. Each is documented again (for operators) in FIELDS below, which feeds
 * --help and --print-config.
 */
export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  port: 6969, // sc6's example port; TCP (HTTP) and UDP share it
  host: "::", // all interfaces, IPv4 and IPv6 (dual-stack)
  udp: true,
  http: true,
  interval: 299, // sc6: just under 5 minutes
  intervalMin: 239, // sc6: 4 minutes (minus a second)
  intervalMax: 1799, // sc6: 30 minutes (minus a second)
  intervalStepPeriod: 900, // sc6: the interval rule runs every 15 minutes
  intervalStep: 60, // one minute per step
  maxLoad: DEFAULT_MAX_LOAD, // CPUs available - 0.5
  peerTimeout: 2700, // 45 minutes: comfortably above intervalMax, so a slow announcer is kept
  torrentRetention: 86_400, // an empty torrent keeps its `downloaded` count for a day
  numwantDefault: 50, // BEP 3 / common client default
  numwantMax: 200,
  scrapeMaxHashes: 74, // a 74-hash UDP scrape request is 1496 bytes: fits a 1500-byte MTU
  peerIds: true, // compact=0 answers carry peer ids (BEP 3), kept once a client asks for them
  maxTorrents: 10_000_000,
  maxPeers: 50_000_000,
  fullScrape: false, // off, as in sc6 (a full scrape is large and easy to abuse)
  fullScrapeCache: 30,
  quiet: false,
  statsAllow: Object.freeze([]) as unknown as string[], // empty = everyone, as in sc6
  udpSecret: "", // empty = a random key per process
  httpIdleTimeout: 10, // Bun's default keep-alive idle timeout
  trustProxyHeader: "", // empty = the socket address (safe unless behind a proxy you run)
});

// ---------------------------------------------------------------------------------------------
// The settings table

type KindOf<T> = T extends boolean
  ? "bool"
  : T extends number
    ? "int" | "number"
    : T extends string
      ? "string"
      : T extends readonly string[]
        ? "list"
        : never;

interface FieldSpec<T> {
  kind: KindOf<T>;
  /** For --help and the TOML comments. First sentence is the summary. */
  doc: string;
  /** Inclusive range for numbers. */
  min?: number;
  max?: number;
  /** Extra rule on a parsed value: returns what is allowed ("must be ...") when it fails. */
  check?: (value: T) => string | undefined;
  /** How the default is described where the value itself is not the whole story. */
  defaultText?: string;
  /** Never echo the value in messages (they end up in logs). */
  secret?: boolean;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function checkIp(value: string): string | undefined {
  return isIP(value) !== 0 ? undefined : "must be an IP address literal such as 127.0.0.1 or ::1";
}

const FIELDS: { readonly [K in Key]: FieldSpec<Config[K]> } = {
  port: {
    kind: "int",
    min: 0,
    max: 65_535,
    doc: "TCP (HTTP) and UDP port; both protocols share it. 0 picks a free port.",
  },
  host: {
    kind: "string",
    doc: 'Address to bind: an IP literal or "localhost". "::" is every interface, IPv4 and IPv6.',
    check: (v) =>
      v === "localhost" || isIP(v) !== 0
        ? undefined
        : 'must be an IP address literal (e.g. "::", "0.0.0.0", "127.0.0.1", "::1") or "localhost"',
  },
  udp: { kind: "bool", doc: "Serve the UDP tracker protocol (BEP 15) on the port." },
  http: { kind: "bool", doc: "Serve HTTP (announce, scrape, stats) on the port." },
  interval: {
    kind: "int",
    min: 1,
    max: 86_400,
    doc: "Starting announce interval, seconds. The load rule then moves it within interval-min..interval-max.",
  },
  intervalMin: { kind: "int", min: 1, max: 86_400, doc: "Shortest announce interval, seconds." },
  intervalMax: { kind: "int", min: 1, max: 86_400, doc: "Longest announce interval, seconds." },
  intervalStepPeriod: {
    kind: "int",
    min: 1,
    max: 86_400,
    doc: "How often the interval rule runs (and the terminal line is printed), seconds.",
  },
  intervalStep: {
    kind: "int",
    min: 0,
    max: 86_400,
    doc: "How far the interval moves per period, seconds. 0 keeps the interval fixed.",
  },
  maxLoad: {
    kind: "number",
    min: 0,
    max: 1_000_000,
    check: (v) => (v > 0 ? undefined : "must be greater than 0"),
    doc: "Allowed 15-minute load average: below it the interval shrinks by one step, at or above it grows.",
    defaultText: `CPUs available - 0.5 (${DEFAULT_MAX_LOAD} on this machine)`,
  },
  peerTimeout: {
    kind: "int",
    min: 1,
    max: INT32_MAX,
    doc: "Peers not heard from for this long are swept, seconds. Must exceed interval-max.",
  },
  torrentRetention: {
    kind: "int",
    min: 0,
    max: INT32_MAX,
    doc: "An empty torrent keeps its downloaded count this long before it is forgotten, seconds.",
  },
  numwantDefault: {
    kind: "int",
    min: 0,
    max: NUMWANT_LIMIT,
    doc: "Peers returned when the client does not say how many it wants.",
  },
  numwantMax: {
    kind: "int",
    min: 1,
    max: NUMWANT_LIMIT,
    doc: `Most peers returned by one announce (at most ${NUMWANT_LIMIT}: a UDP answer must fit one datagram).`,
  },
  scrapeMaxHashes: {
    kind: "int",
    min: 1,
    max: SCRAPE_HASHES_LIMIT,
    doc: "Most info_hashes one scrape may ask for, HTTP and UDP.",
  },
  maxTorrents: {
    kind: "int",
    min: 1,
    max: INT32_MAX,
    doc: "Capacity: announces for new torrents beyond this get a failure reason.",
  },
  maxPeers: {
    kind: "int",
    min: 1,
    max: INT32_MAX,
    doc: "Capacity: announces from new peers beyond this get a failure reason.",
  },
  fullScrape: { kind: "bool", doc: "Answer /scrape without info_hash with every torrent (off, as in sc6)." },
  fullScrapeCache: {
    kind: "int",
    min: 0,
    max: 86_400,
    doc: "A rendered full scrape is reused for this long, seconds.",
  },
  quiet: { kind: "bool", doc: "Do not print the periodic terminal line." },
  peerIds: {
    kind: "bool",
    doc: "Keep peer_ids for compact=0 answers, from the first request that asks for them on (20 bytes per peer from then). --no-peer-ids never keeps them; compact=0 answers then leave out `peer id`.",
  },
  statsAllow: {
    kind: "list",
    doc: "Addresses allowed to read /stats and /metrics (IP literals). Empty: everyone, as in sc6.",
    check: (list) => {
      for (const a of list) if (checkIp(a)) return `must list IP address literals; "${a}" is not one`;
      return undefined;
    },
  },
  udpSecret: {
    kind: "string",
    secret: true,
    doc: "Secret for UDP connection ids, so several processes accept each other's. Empty: random per process.",
    // A short secret can be guessed, and a guessed key lets anyone forge connection ids, which
    // turns the tracker into a reflector for spoofed packets.
    check: (v) =>
      v === "" || v.length >= 16 ? undefined : "must be empty or at least 16 characters (a short secret can be guessed)",
  },
  httpIdleTimeout: {
    kind: "int",
    min: 1,
    max: 255,
    doc: "HTTP keep-alive idle timeout, seconds (Bun allows 1..255).",
  },
  trustProxyHeader: {
    kind: "string",
    doc: 'Header with the client address, set by a reverse proxy you run (e.g. "x-forwarded-for"). Empty: the socket address.',
    check: (v) =>
      v === "" || HEADER_NAME.test(v) ? undefined : 'must be empty or an HTTP header name such as "x-forwarded-for"',
  },
};

const KEYS = Object.keys(FIELDS) as Key[];

// ---------------------------------------------------------------------------------------------
// Names

/** intervalMin -> interval-min */
function flagName(key: Key): string {
  return key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}
/** intervalMin -> interval_min */
function tomlKey(key: Key): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}
/** intervalMin -> TRACKER_INTERVAL_MIN */
function envName(key: Key): string {
  return "TRACKER_" + tomlKey(key).toUpperCase();
}

const BY_FLAG = new Map(KEYS.map((k) => [flagName(k), k]));
const BY_TOML = new Map(KEYS.map((k) => [tomlKey(k), k]));
const BY_ENV = new Map(KEYS.map((k) => [envName(k), k]));

/** The closest known name, for "did you mean" hints (edit distance at most 2). */
function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = row;
  }
  return prev[b.length]!;
}

function hint(suggestion: string | undefined): string {
  return suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
}

// ---------------------------------------------------------------------------------------------
// Values

type Parsed = { ok: true; value: Config[Key] } | { ok: false; problem: string };

function allowedText(key: Key): string {
  const f = FIELDS[key] as FieldSpec<unknown>;
  switch (f.kind) {
    case "int":
      return `an integer in ${fmtNumber(f.min!)}..${fmtNumber(f.max!)}`;
    case "number":
      return key === "maxLoad" ? "a number greater than 0" : `a number in ${f.min}..${f.max}`;
    case "bool":
      return "true or false";
    case "string":
      return "text";
    case "list":
      return "a list of text";
  }
  return "";
}

/** Integers from 100000 up with "_" between thousands (valid TOML, accepted by the flags too). */
function fmtNumber(n: number): string {
  if (!Number.isInteger(n) || Math.abs(n) < 100_000) return String(n);
  return String(n).replace(/\B(?=(\d{3})+$)/g, "_");
}

const INT_TEXT = /^[+-]?\d+(?:_\d+)*$/;
const NUMBER_TEXT = /^[+-]?(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)$/;
const TRUE_TEXT = new Set(["true", "1", "yes", "on"]);
const FALSE_TEXT = new Set(["false", "0", "no", "off"]);

/** A flag or environment value (always text) -> the field's type, then the range checks. */
function parseText(key: Key, raw: string): Parsed {
  const kind = FIELDS[key].kind;
  let value: Config[Key];
  switch (kind) {
    case "int": {
      const n = INT_TEXT.test(raw) ? Number(raw.replace(/_/g, "")) : NaN;
      if (!Number.isSafeInteger(n)) return { ok: false, problem: `${quote(raw)} is not ${allowedText(key)}` };
      value = n;
      break;
    }
    case "number": {
      const n = NUMBER_TEXT.test(raw) ? Number(raw.replace(/_/g, "")) : NaN;
      if (!Number.isFinite(n)) return { ok: false, problem: `${quote(raw)} is not ${allowedText(key)}` };
      value = n;
      break;
    }
    case "bool": {
      const t = raw.toLowerCase();
      if (TRUE_TEXT.has(t)) value = true;
      else if (FALSE_TEXT.has(t)) value = false;
      else return { ok: false, problem: `${quote(raw)} is not true or false (also accepted: 1/0, yes/no, on/off)` };
      break;
    }
    case "string":
      value = raw;
      break;
    case "list":
      value = raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      break;
  }
  return checkValue(key, value);
}

/** A TOML value -> the field's type (no coercion between types), then the range checks. */
function parseTomlValue(key: Key, raw: unknown): Parsed {
  const { kind, secret } = FIELDS[key] as FieldSpec<unknown>;
  const seen = secret ? "the value" : describeToml(raw);
  const wrong = (): Parsed => ({ ok: false, problem: `${seen} is not ${allowedText(key)}` });
  switch (kind) {
    case "int":
      if (typeof raw !== "number" || !Number.isSafeInteger(raw)) return wrong();
      break;
    case "number":
      if (typeof raw !== "number" || !Number.isFinite(raw)) return wrong();
      break;
    case "bool":
      if (typeof raw !== "boolean") return wrong();
      break;
    case "string":
      if (typeof raw !== "string") return wrong();
      break;
    case "list":
      if (!Array.isArray(raw) || !raw.every((s) => typeof s === "string")) {
        return { ok: false, problem: `${seen} is not a list of strings, e.g. ["127.0.0.1", "::1"]` };
      }
      return checkValue(key, [...raw] as string[]);
  }
  return checkValue(key, raw as Config[Key]);
}

function checkValue(key: Key, value: Config[Key]): Parsed {
  const f = FIELDS[key] as FieldSpec<Config[Key]>;
  if (typeof value === "number") {
    if (value < f.min! || value > f.max!) {
      return { ok: false, problem: `${value} is out of range: must be ${allowedText(key)}` };
    }
  }
  if (typeof value === "string" && !value.isWellFormed()) {
    return { ok: false, problem: "is not valid Unicode text" };
  }
  const problem = f.check?.(value);
  if (problem !== undefined) {
    return { ok: false, problem: f.secret ? `the value ${problem}` : `${shown(value)} ${problem}` };
  }
  return { ok: true, value };
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function shown(value: Config[Key]): string {
  if (Array.isArray(value)) return quote(value.join(","));
  return typeof value === "string" ? quote(value) : String(value);
}

function describeToml(raw: unknown): string {
  if (typeof raw === "string") return quote(raw);
  if (typeof raw === "number" || typeof raw === "boolean") return String(raw);
  if (Array.isArray(raw)) return "an array";
  if (raw instanceof Date) return "a date";
  return "a table";
}

// ---------------------------------------------------------------------------------------------
// The command line

export type CliResult =
  | { kind: "run"; config: Config }
  | { kind: "help"; text: string } // --help / -h: print to stdout, exit 0
  | { kind: "print-config"; text: string } // --print-config: defaults as commented TOML, exit 0
  | { kind: "error"; message: string }; // print message + "try --help" to stderr, exit 2

/** Where a value came from: used to name it in messages. */
type Origin =
  | { from: "default" }
  | { from: "flag"; name: string }
  | { from: "env"; name: string }
  | { from: "file"; path: string };

class ConfigError extends Error {}

/**
 * argv is process.argv.slice(2). env is process.env (only TRACKER_* variables are read).
 * readFile reads the --config file (default: UTF-8 from disk; tests pass their own).
 */
export function parseCommandLine(
  argv: string[],
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): CliResult {
  // --help and --print-config win over everything else, even over mistakes elsewhere.
  const options = argv.indexOf("--") < 0 ? argv : argv.slice(0, argv.indexOf("--"));
  if (options.includes("--help") || options.includes("-h")) return { kind: "help", text: usageText() };
  if (options.includes("--print-config")) return { kind: "print-config", text: configToToml(DEFAULT_CONFIG) };

  try {
    const fromFlags = readArgv(argv);
    const fromEnv = readEnv(env);
    const configPath = fromFlags.configPath ?? fromEnv.configPath;
    const fromFile: Layer = configPath === undefined ? new Map() : readConfigFile(configPath, readFile);

    const config = { ...DEFAULT_CONFIG, statsAllow: [...DEFAULT_CONFIG.statsAllow] } as Config;
    const origins = new Map<Key, Origin>();
    // Lowest precedence first: each layer overwrites the one before.
    for (const layer of [fromFile, fromEnv.values, fromFlags.values]) {
      for (const [key, { value, origin }] of layer) {
        (config as Record<Key, unknown>)[key] = value;
        origins.set(key, origin);
      }
    }
    checkTogether(config, origins);
    return { kind: "run", config };
  } catch (e) {
    if (e instanceof ConfigError) return { kind: "error", message: e.message };
    throw e;
  }
}

type Layer = Map<Key, { value: Config[Key]; origin: Origin }>;

function readArgv(argv: string[]): { values: Layer; configPath?: string } {
  const values: Layer = new Map();
  let configPath: string | undefined;
  const positionals: string[] = [];

  const set = (key: Key, raw: string, name: string) => {
    if (values.has(key)) {
      const before = values.get(key)!.origin;
      const beforeName = before.from === "flag" ? before.name : "";
      throw new ConfigError(
        beforeName === name ? `${name} is given twice` : `${name} and ${beforeName} both set ${flagName(key)}`,
      );
    }
    const parsed = parseText(key, raw);
    if (!parsed.ok) throw new ConfigError(`${name}: ${parsed.problem}`);
    values.set(key, { value: parsed.value, origin: { from: "flag", name } });
  };

  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPositionals || !arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    if (arg === "--") {
      onlyPositionals = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new ConfigError(`unknown option ${arg}`);

    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const flag = "--" + name;
    // The value of a valued flag: after "=", or the next argument (which must not be a flag:
    // `--host --port 80` means the host was forgotten, not that the host is "--port").
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new ConfigError(`${flag} needs a value`);
      i++;
      return next;
    };

    if (name === "config") {
      if (configPath !== undefined) throw new ConfigError("--config is given twice");
      configPath = takeValue();
      if (configPath === "") throw new ConfigError("--config needs a file name");
      continue;
    }
    const key = BY_FLAG.get(name);
    if (key !== undefined) {
      if (FIELDS[key].kind === "bool") set(key, inline ?? "true", flag);
      else set(key, takeValue(), flag);
      continue;
    }
    const negated = name.startsWith("no-") ? BY_FLAG.get(name.slice(3)) : undefined;
    if (negated !== undefined && FIELDS[negated].kind === "bool") {
      if (inline !== undefined) throw new ConfigError(`${flag} takes no value`);
      set(negated, "false", flag);
      continue;
    }
    const known = [...BY_FLAG.keys(), "config", "help", "print-config"].map((n) => "--" + n);
    throw new ConfigError(`unknown option ${flag}${hint(closest(flag, known))}`);
  }

  // sc6 style: `sc6-tracker [port] [interval]`.
  if (positionals.length > 2) {
    throw new ConfigError(
      `too many arguments: ${positionals.slice(2).map(quote).join(" ")} (expected at most [port] [interval])`,
    );
  }
  if (positionals[0] !== undefined) set("port", positionals[0], "port argument");
  if (positionals[1] !== undefined) set("interval", positionals[1], "interval argument");
  return { values, configPath };
}

function readEnv(env: Record<string, string | undefined>): { values: Layer; configPath?: string } {
  const values: Layer = new Map();
  let configPath: string | undefined;
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("TRACKER_")) continue;
    const raw = env[name];
    // An empty variable counts as unset (the usual convention in shells and compose files).
    if (raw === undefined || raw === "") continue;
    if (name === CONFIG_ENV) {
      configPath = raw;
      continue;
    }
    const key = BY_ENV.get(name);
    if (key === undefined) {
      throw new ConfigError(
        `unknown environment variable ${name}${hint(closest(name, [...BY_ENV.keys(), CONFIG_ENV]))}`,
      );
    }
    const parsed = parseText(key, raw);
    if (!parsed.ok) throw new ConfigError(`${name}: ${parsed.problem}`);
    values.set(key, { value: parsed.value, origin: { from: "env", name } });
  }
  return { values, configPath };
}

function readConfigFile(path: string, readFile: (path: string) => string): Layer {
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = Bun.TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${path}: not valid TOML: ${e instanceof Error ? e.message : String(e)}`);
  }
  const values: Layer = new Map();
  for (const [name, raw] of Object.entries(doc)) {
    const key = BY_TOML.get(name);
    if (key === undefined) {
      throw new ConfigError(`${path}: unknown key "${name}"${hint(closest(name, BY_TOML.keys()))}`);
    }
    const parsed = parseTomlValue(key, raw);
    if (!parsed.ok) throw new ConfigError(`${path}: ${name}: ${parsed.problem}`);
    values.set(key, { value: parsed.value, origin: { from: "file", path } });
  }
  return values;
}

/** Rules between settings, checked on the merged result; messages say where each value came from. */
function checkTogether(c: Config, origins: Map<Key, Origin>): void {
  const said = (key: Key): string => {
    const o = origins.get(key) ?? { from: "default" };
    const source =
      o.from === "default" ? "the default" : o.from === "file" ? `from ${o.path}` : `from ${o.name}`;
    return `${flagName(key)} is ${shown(c[key])} (${source})`;
  };
  if (!c.udp && !c.http) {
    throw new ConfigError(`udp and http are both off: nothing to serve (${said("udp")}, ${said("http")})`);
  }
  if (c.intervalMin > c.intervalMax) {
    throw new ConfigError(
      `interval-min must not exceed interval-max, but ${said("intervalMin")} and ${said("intervalMax")}`,
    );
  }
  if (c.interval < c.intervalMin || c.interval > c.intervalMax) {
    const bound = c.interval < c.intervalMin ? "intervalMin" : "intervalMax";
    throw new ConfigError(
      `interval must lie within interval-min..interval-max, but ${said("interval")} and ${said(bound)}`,
    );
  }
  if (c.peerTimeout <= c.intervalMax) {
    throw new ConfigError(
      "peer-timeout must be greater than interval-max (a peer that announces every interval-max " +
        `seconds must not be swept in between), but ${said("peerTimeout")} and ${said("intervalMax")}`,
    );
  }
  if (c.numwantDefault > c.numwantMax) {
    throw new ConfigError(
      `numwant-default must not exceed numwant-max, but ${said("numwantDefault")} and ${said("numwantMax")}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Help and the config file writer

function defaultText(key: Key): string {
  const f = FIELDS[key] as FieldSpec<unknown>;
  if (f.defaultText !== undefined) return f.defaultText;
  const v = DEFAULT_CONFIG[key];
  if (Array.isArray(v)) return v.length === 0 ? "empty" : v.join(",");
  if (typeof v === "string") return v === "" ? "empty" : quote(v);
  return typeof v === "number" ? fmtNumber(v) : String(v);
}

const PLACEHOLDERS: Partial<Record<Key, string>> = {
  port: "<port>",
  host: "<address>",
  maxLoad: "<load>",
  statsAllow: "<ip,ip,...>",
  trustProxyHeader: "<header>",
  udpSecret: "<text>",
};

/** The value placeholder in --help: durations are "<seconds>", other integers "<n>". */
function placeholder(key: Key): string {
  const named = PLACEHOLDERS[key];
  if (named !== undefined) return named;
  const doc = FIELDS[key].doc;
  return /seconds/.test(doc) ? "<seconds>" : "<n>";
}

/** The --help text. */
export function usageText(): string {
  const lines: string[] = [
    `Usage: ${PROGRAM} [port] [interval] [options]`,
    "",
    "A BitTorrent tracker: HTTP and UDP (BEP 15) announce and scrape on one port.",
    "",
    `  port                   TCP and UDP port, same as --port (default ${DEFAULT_CONFIG.port})`,
    `  interval               starting announce interval in seconds, same as --interval (default ${DEFAULT_CONFIG.interval})`,
    "",
    "Options:",
    "  -h, --help             show this help and exit",
    "  --print-config         print the defaults as a commented TOML config file and exit",
    `  --config <file>        read settings from a TOML file (also ${CONFIG_ENV}=<file>)`,
    "",
    "Settings (flag, environment variable, default):",
  ];
  for (const key of KEYS) {
    const f = FIELDS[key];
    const flag = f.kind === "bool" ? `--${flagName(key)}, --no-${flagName(key)}` : `--${flagName(key)} ${placeholder(key)}`;
    lines.push(`  ${flag.padEnd(38)} ${envName(key).padEnd(30)} ${defaultText(key)}`);
    lines.push(`      ${f.doc}`);
  }
  lines.push(
    "",
    "Each setting is also a key in the config file: the flag name in snake_case",
    "(peer_timeout = 2700, full_scrape = true, stats_allow = [\"127.0.0.1\", \"::1\"]).",
    "Precedence: flag > environment variable > config file > default.",
    "Flags take `--name value` or `--name=value`; lists are comma-separated;",
    "booleans in variables are true/false (or 1/0, yes/no, on/off); empty variables are ignored.",
    `Start from the output of \`${PROGRAM} --print-config\`.`,
    "",
  );
  return lines.join("\n");
}

/** A TOML basic string. Control characters and DEL must be escaped (TOML 1.0, "String"). */
function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

function tomlValue(v: Config[Key]): string {
  if (Array.isArray(v)) return "[" + v.map(tomlString).join(", ") + "]";
  if (typeof v === "string") return tomlString(v);
  // Integers as TOML integers (10_000_000 is valid TOML), other numbers as TOML floats
  // (String() gives "1.5" or "1e-7", both valid); booleans as-is.
  if (typeof v === "number" && Number.isInteger(v)) return fmtNumber(v);
  return String(v);
}

/**
 * The config as a commented TOML file that parseCommandLine(["--config", file]) reads back to
 * the same Config. With DEFAULT_CONFIG it is the --print-config output.
 */
export function configToToml(config: Config): string {
  const lines: string[] = [
    `# ${PROGRAM} configuration (TOML). Use it with: ${PROGRAM} --config <this file>`,
    "# Every key is optional; a missing key takes its default.",
    "# Precedence: command-line flag > TRACKER_* environment variable > this file > default.",
  ];
  for (const key of KEYS) {
    const f = FIELDS[key] as FieldSpec<unknown>;
    const flag = f.kind === "bool" ? `--${flagName(key)} / --no-${flagName(key)}` : `--${flagName(key)}`;
    lines.push("", `# ${f.doc}`, `# flag ${flag}, env ${envName(key)}, default: ${defaultText(key)}`);
    if (key === "maxLoad") lines.push("# (remove this line to keep the automatic default on another machine)");
    lines.push(`${tomlKey(key)} = ${tomlValue(config[key])}`);
  }
  return lines.join("\n") + "\n";
}
