/**
 * `sc6-tracker keys ...`: the operator's tool for private mode's passkeys (add, list, revoke,
 * stats), working on the same SQLite file as the running tracker. The tracker notices a change
 * within about a second (PasskeyWatcher polls `data_version`), so nothing needs restarting, and
 * WAL plus busy_timeout let this process and the tracker write the file at the same time.
 *
 * Output is for people by default (a table, ISO dates, byte counts in KiB/MiB/...) and for
 * scripts with --json (exact numbers, dates as unix seconds). Exit codes: 0 done, 1 the database
 * could not be used, 2 bad usage (with a message on stderr).
 */
import { existsSync } from "node:fs";
import { PasskeyDb, type KeyListRow, type KeyRow, type KeyUsage, type TorrentUsage } from "../access/passkey-db.ts";
import { isPasskeyShape } from "../access/passkey.ts";

const USAGE = `Usage: sc6-tracker keys <command> [options]

Manage the passkeys of private mode; a running tracker picks up changes within seconds.

Commands:
  add [--note TEXT] [--expires DURATION]   make a new key and print it
  list                                     every key (revoked and expired ones too), with its usage
  revoke KEY                               stop KEY from working (its usage is kept)
  stats [KEY]                              KEY's usage per torrent, or every key's usage

Options:
  --db PATH     the database (default: $TRACKER_DB, else tracker.sqlite in the working directory)
  --json        print JSON for scripts (exact byte counts, dates as unix seconds)
  -h, --help    print this help

DURATION: a whole number and a unit: s, m, h, d or w (3600s, 90m, 12h, 30d, 2w).
Exit status: 0 done, 1 the database could not be used, 2 bad usage.
`;

type Command = "add" | "list" | "revoke" | "stats";

/** What each command takes: how many positional arguments, and whether --note/--expires apply. */
const COMMANDS: Record<Command, { minArgs: number; maxArgs: number; addOptions: boolean }> = {
  add: { minArgs: 0, maxArgs: 0, addOptions: true },
  list: { minArgs: 0, maxArgs: 0, addOptions: false },
  revoke: { minArgs: 1, maxArgs: 1, addOptions: false },
  stats: { minArgs: 0, maxArgs: 1, addOptions: false },
};

interface Invocation {
  command: Command;
  /** The positional arguments after the command. */
  args: string[];
  db: string | undefined;
  json: boolean;
  note: string | undefined;
  /** Seconds from now. */
  expiresIn: number | undefined;
}

/** A mistake in the command line: reported with a pointer to --help, exit status 2. */
class UsageError extends Error {}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
/** No key needs to outlive this; it also keeps the arithmetic far from the unsafe integers. */
const MAX_DURATION = 100 * 365 * 86_400;

/** Seconds in `30d`, `12h`, `90m`, `3600s`, `2w`. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhdw])$/.exec(text);
  const seconds = m === null ? NaN : Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  if (!(seconds > 0 && seconds <= MAX_DURATION)) {
    throw new UsageError(`bad duration '${text}': a whole number above 0 and a unit s, m, h, d or w (e.g. 30d), at most 100 years`);
  }
  return seconds;
}

/** Splits the command line (the words after `keys`); throws UsageError. */
function parseArgs(argv: readonly string[]): Invocation {
  const positional: string[] = [];
  const inv: Omit<Invocation, "command" | "args"> = { db: undefined, json: false, note: undefined, expiresIn: undefined };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    // A passkey may start with '-' (keys made before generatePasskey avoided it): its shape,
    // 32 characters, is no option's.
    if (!word.startsWith("-") || word === "-" || isPasskeyShape(word)) {
      positional.push(word);
      continue;
    }
    const eq = word.indexOf("=");
    const name = eq < 0 ? word : word.slice(0, eq);
    const value = (): string => {
      if (eq >= 0) return word.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${name} needs a value`);
      i++;
      return next;
    };
    if (name === "--json" && eq < 0) inv.json = true;
    else if (name === "--db") inv.db = value();
    else if (name === "--note") inv.note = value();
    else if (name === "--expires") inv.expiresIn = parseDuration(value());
    else throw new UsageError(`unknown option '${word}'`);
  }
  const [command, ...args] = positional;
  if (command === undefined) throw new UsageError("no command given (add, list, revoke or stats)");
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command '${command}' (add, list, revoke or stats)`);
  const spec = COMMANDS[command as Command];
  if (args.length < spec.minArgs) throw new UsageError(`'keys ${command}' needs a KEY`);
  if (args.length > spec.maxArgs) throw new UsageError(`unexpected argument '${args[spec.maxArgs]}' after 'keys ${command}'`);
  if (!spec.addOptions && (inv.note !== undefined || inv.expiresIn !== undefined)) {
    throw new UsageError(`${inv.note !== undefined ? "--note" : "--expires"} goes with 'keys add' only`);
  }
  return { command: command as Command, args, ...inv };
}

/**
 * Runs `keys <argv...>` (argv: the words after `keys`). `out` and `err` receive whole lines, each
 * ending in a newline (pass `s => process.stdout.write(s)`). Resolves to the exit status.
 */
export async function runKeysCommand(
  argv: string[],
  env: Record<string, string | undefined>,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    out(USAGE);
    return 0;
  }
  let inv: Invocation;
  try {
    inv = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return usageError(err, e);
    throw e;
  }
  const path = inv.db ?? (env.TRACKER_DB || "tracker.sqlite");
  if (inv.command !== "add" && !existsSync(path)) {
    err(`sc6-tracker keys: no database at ${path} (it is made by the first 'sc6-tracker keys add'; --db or TRACKER_DB name another)\n`);
    return 1;
  }
  let db: PasskeyDb;
  try {
    db = new PasskeyDb(path);
  } catch (e) {
    err(`sc6-tracker keys: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    out(run(db, inv, Math.floor(Date.now() / 1000)));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) return usageError(err, e);
    err(`sc6-tracker keys: ${path}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    db.close();
  }
}

function usageError(err: (s: string) => void, e: UsageError): number {
  err(`sc6-tracker keys: ${e.message}\nTry 'sc6-tracker keys --help' for usage.\n`);
  return 2;
}

/** Carries out the command; returns its output. */
function run(db: PasskeyDb, inv: Invocation, now: number): string {
  switch (inv.command) {
    case "add": {
      const row = db.addKey({ note: inv.note, expires: inv.expiresIn === undefined ? null : now + inv.expiresIn }, now);
      return inv.json ? json(row) : `${row.key}\n`;
    }
    case "list": {
      const rows = db.listKeys().map((r) => ({ ...r, status: statusOf(r, now) }));
      return inv.json ? json(rows) : listTable(rows);
    }
    case "revoke": {
      const key = knownKey(db, inv.args[0]!);
      const wasRevoked = key.revoked;
      db.revokeKey(key.key, now);
      const row = db.getKey(key.key)!;
      if (inv.json) return json(row);
      return wasRevoked === null ? `revoked ${row.key}\n` : `${row.key} was already revoked (${isoDate(wasRevoked)})\n`;
    }
    case "stats": {
      if (inv.args.length === 0) {
        const rows = db.keyStats();
        return inv.json ? json(rows) : keyUsageTable(rows);
      }
      const key = knownKey(db, inv.args[0]!);
      const rows = db.keyStats(key.key);
      return inv.json ? json(rows) : torrentUsageTable(key, rows);
    }
  }
}

/** The row of KEY; a UsageError if it is malformed or not in the database. */
function knownKey(db: PasskeyDb, key: string): KeyRow {
  if (!isPasskeyShape(key)) throw new UsageError(`'${key}' is not a passkey (32 characters of A-Z a-z 0-9 - _)`);
  const row = db.getKey(key);
  if (row === null) throw new UsageError(`no such key: ${key}`);
  return row;
}

type KeyStatus = "active" | "expired" | "revoked";

function statusOf(r: KeyRow, now: number): KeyStatus {
  if (r.revoked !== null) return "revoked";
  return r.expires !== null && r.expires <= now ? "expired" : "active";
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** `2025-01-31T12:00:00Z` (unix seconds in, no milliseconds out). */
function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** 1536 -> `1.5 KiB`; under 1 KiB in bytes. */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A note fit for one table cell: control characters blanked, long ones cut. */
function noteCell(note: string): string {
  const flat = note.replace(/[\x00-\x1f\x7f]/g, " ");
  return flat.length > 30 ? flat.slice(0, 29) + "…" : flat;
}

function listTable(rows: (KeyListRow & { status: KeyStatus })[]): string {
  if (rows.length === 0) return "no keys\n";
  return table(
    ["KEY", "NOTE", "CREATED", "EXPIRES", "STATUS", "UPLOADED", "DOWNLOADED", "ANNOUNCES"],
    rows.map((r) => [
      r.key, noteCell(r.note), isoDate(r.created), r.expires === null ? "never" : isoDate(r.expires),
      r.status === "revoked" ? `revoked ${isoDate(r.revoked!)}` : r.status,
      humanBytes(r.uploaded), humanBytes(r.downloaded), String(r.announces),
    ]),
    5,
  );
}

function keyUsageTable(rows: KeyUsage[]): string {
  if (rows.length === 0) return "no keys\n";
  const sum = (f: (r: KeyUsage) => number) => rows.reduce((s, r) => s + f(r), 0);
  const line = (name: string, torrents: number, up: number, down: number, announces: number, completions: number) =>
    [name, String(torrents), humanBytes(up), humanBytes(down), String(announces), String(completions)];
  return table(
    ["KEY", "TORRENTS", "UPLOADED", "DOWNLOADED", "ANNOUNCES", "COMPLETIONS"],
    [
      ...rows.map((r) => line(r.key, r.torrents, r.uploaded, r.downloaded, r.announces, r.completions)),
      line("total", sum((r) => r.torrents), sum((r) => r.uploaded), sum((r) => r.downloaded), sum((r) => r.announces), sum((r) => r.completions)),
    ],
    1,
  );
}

function torrentUsageTable(key: KeyRow, rows: TorrentUsage[]): string {
  const head = `${key.key}${key.note === "" ? "" : ` (${noteCell(key.note)})`}: ${rows.length} torrent${rows.length === 1 ? "" : "s"}\n`;
  if (rows.length === 0) return head;
  return head + table(
    ["INFO_HASH", "UPLOADED", "DOWNLOADED", "ANNOUNCES", "COMPLETIONS"],
    rows.map((r) => [r.infoHash, humanBytes(r.uploaded), humanBytes(r.downloaded), String(r.announces), String(r.completions)]),
    1,
  );
}

/** Columns padded to their widest cell, two spaces apart; columns from `firstNumeric` on are right-aligned. */
function table(headers: string[], rows: string[][], firstNumeric: number): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const format = (r: string[]) =>
    r.map((cell, c) => (c >= firstNumeric ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd();
  return all.map(format).join("\n") + "\n";
}
