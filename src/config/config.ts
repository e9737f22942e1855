/**
 * Configuration: the command line, TRACKER_* environment variables and a TOML config file, merged
 * with precedence flag > env > file > default and validated.
 *
 * Every setting is declared once, in settings.ts (kind, default, allowed values, documentation,
 * and its names: peerTimeout -> --peer-timeout, TRACKER_PEER_TIMEOUT, peer_timeout). This module
 * parses and checks values by that table, then the rules between settings (checkTogether).
 *
 * This module never exits or prints: parseCommandLine() returns what main.ts should do.
 * Everything here runs once at start-up, so clarity wins over speed.
 */
import { readFileSync } from "node:fs";
import { configToToml, usageText } from "./docs.ts";
import { versionLine } from "../version.ts";
import { allowedText, CONFIG_ENV, DEFAULT_CONFIG, envName, flagName, KEYS, POSITIONALS, quote, spec, tomlKey } from "./settings.ts";
import type { Config, Key } from "./settings.ts";

export type { Config } from "./settings.ts";
export { configToToml, DEFAULT_CONFIG, usageText };

// ---------------------------------------------------------------------------------------------
// Finding a setting by name

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

const INT_TEXT = /^[+-]?\d+(?:_\d+)*$/;
const NUMBER_TEXT = /^[+-]?(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)$/;
const TRUE_TEXT = new Set(["true", "1", "yes", "on"]);
const FALSE_TEXT = new Set(["false", "0", "no", "off"]);

/** A flag or environment value (always text) -> the field's type, then the range checks. */
function parseText(key: Key, raw: string): Parsed {
  const kind = spec(key).kind;
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
  const { kind, secret } = spec(key);
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
  const f = spec(key);
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
  | { kind: "version"; text: string } // --version / -V: print to stdout, exit 0
  // --print-config: the settings in force (file, environment, flags) as commented TOML, each
  // with where it came from; --check-config FILE: that they are valid. Print to stdout, exit 0.
  | { kind: "print-config"; text: string }
  | { kind: "check-config"; text: string }
  | { kind: "error"; message: string }; // print message + "try --help" to stderr, exit 2

/** Where a value came from: used to name it in messages and by --print-config. */
export type Origin =
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
  // --help and --version win over everything else, even over mistakes elsewhere.
  const options = argv.indexOf("--") < 0 ? argv : argv.slice(0, argv.indexOf("--"));
  if (options.includes("--help") || options.includes("-h")) return { kind: "help", text: usageText() };
  if (options.includes("--version") || options.includes("-V")) return { kind: "version", text: versionLine() };

  try {
    const fromFlags = readArgv(argv);
    const fromEnv = readEnv(env);
    // --check-config FILE reads FILE as --config would, and wins over --config / TRACKER_CONFIG.
    const configPath = fromFlags.checkPath ?? fromFlags.configPath ?? fromEnv.configPath;
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
    if (fromFlags.printConfig) return { kind: "print-config", text: configToToml(config, origins) };
    if (fromFlags.checkPath !== undefined) {
      const given = [...origins.values()].filter((o) => o.from === "file").length;
      return { kind: "check-config", text: `${fromFlags.checkPath}: valid (${given} setting${given === 1 ? "" : "s"} from the file; --print-config shows all in force)` };
    }
    return { kind: "run", config };
  } catch (e) {
    if (e instanceof ConfigError) return { kind: "error", message: e.message };
    throw e;
  }
}

type Layer = Map<Key, { value: Config[Key]; origin: Origin }>;

function readArgv(argv: string[]): { values: Layer; configPath?: string; checkPath?: string; printConfig: boolean } {
  const values: Layer = new Map();
  let configPath: string | undefined;
  let checkPath: string | undefined;
  let printConfig = false;
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
    if (name === "check-config") {
      if (checkPath !== undefined) throw new ConfigError("--check-config is given twice");
      checkPath = takeValue();
      if (checkPath === "") throw new ConfigError("--check-config needs a file name");
      continue;
    }
    if (name === "print-config") {
      if (inline !== undefined) throw new ConfigError("--print-config takes no value");
      printConfig = true;
      continue;
    }
    const key = BY_FLAG.get(name);
    if (key !== undefined) {
      if (spec(key).kind === "bool") set(key, inline ?? "true", flag);
      else set(key, takeValue(), flag);
      continue;
    }
    const negated = name.startsWith("no-") ? BY_FLAG.get(name.slice(3)) : undefined;
    if (negated !== undefined && spec(negated).kind === "bool") {
      if (inline !== undefined) throw new ConfigError(`${flag} takes no value`);
      set(negated, "false", flag);
      continue;
    }
    const known = [...BY_FLAG.keys(), "config", "check-config", "help", "print-config", "version"].map((n) => "--" + n);
    throw new ConfigError(`unknown option ${flag}${hint(closest(flag, known))}`);
  }

  // sc6 style: `sc6-tracker [port] [interval]` (the settings marked positional, in order).
  if (positionals.length > POSITIONALS.length) {
    const expected = POSITIONALS.map((key) => `[${flagName(key)}]`).join(" ");
    throw new ConfigError(
      `too many arguments: ${positionals.slice(POSITIONALS.length).map(quote).join(" ")} (expected at most ${expected})`,
    );
  }
  positionals.forEach((raw, i) => set(POSITIONALS[i]!, raw, `${flagName(POSITIONALS[i]!)} argument`));
  return { values, configPath, checkPath, printConfig };
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
  if (!c.udp && !c.http && c.tlsPort === 0) {
    throw new ConfigError(`udp and http are both off and there is no tls-port: nothing to serve (${said("udp")}, ${said("http")})`);
  }
  if (c.tlsPort !== 0 && (c.tlsCert === "" || c.tlsKey === "")) {
    throw new ConfigError(`tls-port needs tls-cert and tls-key, but ${said(c.tlsCert === "" ? "tlsCert" : "tlsKey")}`);
  }
  if (c.tlsPort === 0 && (c.tlsCert !== "" || c.tlsKey !== "")) {
    throw new ConfigError(`tls-cert and tls-key are used only with a tls-port, but ${said("tlsPort")}`);
  }
  if (c.tlsPort !== 0 && c.http && c.tlsPort === c.port) {
    throw new ConfigError(`tls-port must differ from port while HTTP is on (with --no-http it may be the same), but ${said("tlsPort")} and ${said("port")}`);
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
  if (c.accessMode !== "off" && c.accessList === "") {
    throw new ConfigError(`access-mode ${c.accessMode} needs an access-list file, but ${said("accessList")}`);
  }
  if (c.store !== "memory" && c.stateFile !== "") {
    throw new ConfigError(`state-file keeps the in-memory store; with a Redis store the swarms live in Redis (${said("stateFile")})`);
  }
  if (c.store !== "memory" && c.fullScrape) {
    throw new ConfigError(`full-scrape needs the in-memory store: a shared store would have to read every swarm (${said("fullScrape")})`);
  }
  if (c.numwantDefault > c.numwantMax) {
    throw new ConfigError(
      `numwant-default must not exceed numwant-max, but ${said("numwantDefault")} and ${said("numwantMax")}`,
    );
  }
}

