/**
 * The documents generated from the settings table (settings.ts): the --help text, the commented
 * TOML of --print-config, and the settings table in README.md (written there by
 * scripts/settings-doc.ts; test/settings-doc.test.ts keeps the two equal).
 */
import { allowedText, CONFIG_ENV, DEFAULT_CONFIG, docText, envName, flagName, fmtNumber, KEYS, POSITIONALS, PROGRAM, quote, spec, tomlKey } from "./settings.ts";
import type { Config, Key } from "./settings.ts";
import type { Origin } from "./config.ts";

/** The default as --help and the TOML comments show it: a machine-dependent one with this machine's value. */
function defaultText(key: Key): string {
  const described = spec(key).defaultText;
  const value = valueText(DEFAULT_CONFIG[key], quote);
  return described === undefined ? value : `${described} (${value} on this machine)`;
}

/** A value for people to read; `str` renders a non-empty string. */
function valueText(v: Config[Key], str: (s: string) => string): string {
  if (Array.isArray(v)) return v.length === 0 ? "empty" : v.join(",");
  if (typeof v === "string") return v === "" ? "empty" : str(v);
  return typeof v === "number" ? fmtNumber(v) : String(v);
}

/** A boolean's two flags, joined by `between`: "--udp, --no-udp". */
function boolFlags(key: Key, between: string): string {
  return `--${flagName(key)}${between}--no-${flagName(key)}`;
}

/** The --help text. */
export function usageText(): string {
  const lines: string[] = [
    `Usage: ${PROGRAM} ${POSITIONALS.map((key) => `[${flagName(key)}]`).join(" ")} [options]`,
    `       ${PROGRAM} keys add|list|revoke|stats ...   private mode's passkeys (${PROGRAM} keys --help)`,
    "",
    "A BitTorrent tracker: HTTP and UDP (BEP 15) announce and scrape on one port.",
    "",
    ...POSITIONALS.map(
      (key) =>
        `  ${flagName(key).padEnd(22)} ${spec(key).positional}, same as --${flagName(key)} (default ${defaultText(key)})`,
    ),
    "",
    "Options:",
    "  -h, --help             show this help and exit",
    "  -V, --version          print the version and exit",
    "  --print-config         print the settings in force (defaults, config file, TRACKER_*,",
    "                         flags) as a commented TOML config file, each with where it came",
    "                         from, and exit; with nothing else given: the defaults",
    "  --check-config <file>  check a config file (with the environment and flags given) and",
    "                         exit: 0 when valid, 2 naming the offending key",
    `  --config <file>        read settings from a TOML file (also ${CONFIG_ENV}=<file>)`,
    "",
    "Settings (flag, environment variable, default):",
  ];
  for (const key of KEYS) {
    const f = spec(key);
    const flag = f.kind === "bool" ? boolFlags(key, ", ") : `--${flagName(key)} ${f.placeholder}`;
    lines.push(`  ${flag.padEnd(38)} ${envName(key).padEnd(30)} ${defaultText(key)}`);
    lines.push(`      ${docText(key)}`);
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
    "Signals:",
    "  SIGTERM, SIGINT   stop: stop accepting, write the state file (--state-file), answer what is",
    "                    in flight, exit 0; a second one exits at once",
    "  SIGHUP            reload the configuration (flags, TRACKER_*, the config file) and apply the",
    "                    settings marked \"Reloaded on SIGHUP\"; an invalid one is reported and ignored;",
    "                    then read the access list and the passkeys again (the list is also read",
    "                    whenever its file changes)",
    "  SIGUSR1           write the state file now",
    "  SIGUSR2           ignored (logged)",
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

/** Where a setting's value came from, as --print-config says it. */
function originText(o: Origin | undefined): string {
  if (o === undefined || o.from === "default") return "default";
  if (o.from === "flag") return `flag ${o.name}`;
  if (o.from === "env") return `environment ${o.name}`;
  return `config file ${o.path}`;
}

/**
 * The config as a commented TOML file that parseCommandLine(["--config", file]) reads back to
 * the same Config. With `origins` (--print-config) each key also says where its value came
 * from, and two kinds of value are written as comments only:
 * - a machine-dependent default (max_load: this machine's CPU count) left at its default: on
 *   another machine the automatic value is the right one;
 * - a secret (udp_secret, a store URL with a password) that was set: it is not printed.
 */
export function configToToml(config: Config, origins?: ReadonlyMap<Key, Origin>): string {
  const lines: string[] = [
    `# ${PROGRAM} configuration (TOML). Use it with: ${PROGRAM} --config <this file>`,
    "# Every key is optional; a missing key takes its default.",
    "# Precedence: command-line flag > TRACKER_* environment variable > this file > default.",
  ];
  if (origins !== undefined) lines.push(`# The settings in force for this command line, printed by ${PROGRAM} --print-config.`);
  for (const key of KEYS) {
    const f = spec(key);
    const flag = f.kind === "bool" ? boolFlags(key, " / ") : `--${flagName(key)}`;
    const origin = origins?.get(key);
    lines.push("", `# ${docText(key)}`, `# flag ${flag}, env ${envName(key)}, default: ${defaultText(key)}`);
    if (origins !== undefined) lines.push(`# in force: from ${originText(origin)}`);
    // Without origins (a config to write back whole) every value is written.
    const isDefault = origins !== undefined && (origin === undefined || origin.from === "default");
    if (f.defaultText !== undefined && isDefault) {
      lines.push(`# ${tomlKey(key)} = ${tomlValue(config[key])}   (automatic: ${f.defaultText}; set it to fix a value)`);
      continue;
    }
    if (origins !== undefined && f.secret && !isDefault && !isShowable(key, config)) {
      lines.push(`# ${tomlKey(key)} is set (secret: not printed)`);
      continue;
    }
    lines.push(`${tomlKey(key)} = ${tomlValue(config[key])}`);
  }
  return lines.join("\n") + "\n";
}

/** A secret setting whose value holds nothing secret (a store URL without a password). */
function isShowable(key: Key, config: Config): boolean {
  if (key !== "store") return false;
  const v = config.store;
  if (v === "memory") return true;
  try {
    return new URL(v).password === "";
  } catch {
    return false;
  }
}

/** Inline code in a Markdown table cell. */
const code = (s: string): string => "`" + s + "`";

/**
 * README.md's settings table (Markdown, ending in a newline). Unlike --help it shows no
 * machine-dependent values, so it is the same wherever it is generated.
 */
export function settingsTable(): string {
  const rows = [
    "| Flag | Environment | TOML key | Default | Meaning |",
    "|---|---|---|---|---|",
  ];
  for (const key of KEYS) {
    const f = spec(key);
    let flag = f.kind === "bool" ? boolFlags(key, "` / `") : `--${flagName(key)}`;
    flag = code(flag);
    const position = POSITIONALS.indexOf(key);
    if (position >= 0) flag += ` (or ${ordinal(position + 1)} positional)`;
    const dflt = f.defaultText ?? valueText(DEFAULT_CONFIG[key], code);
    const meaning = f.kind === "int" || f.kind === "number" ? `${docText(key)} Must be ${allowedText(key)}.` : docText(key);
    const cells = [flag, code(envName(key)), code(tomlKey(key)), dflt, meaning];
    rows.push(`| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`);
  }
  return rows.join("\n") + "\n";
}

function ordinal(n: number): string {
  return ["1st", "2nd", "3rd"][n - 1] ?? `${n}th`;
}
