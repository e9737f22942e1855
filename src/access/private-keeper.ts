/**
 * Private mode (--private) for the running tracker: opens the passkey database (--db), keeps
 * the rules' passkey table in step with it (PasskeyWatcher: a key added or revoked by
 * `sc6-tracker keys` in another process is in force within about a second, and at SIGHUP), and
 * writes the rules' accounting to it in batches (AccountingWriter: one transaction every few
 * seconds, and at stop). Nothing here runs per request: the rules read the table and add to the
 * accounting in memory.
 */
import type { TrackerRules } from "../rules/tracker-rules.ts";
import { nowSeconds } from "../rules/tracker-rules.ts";
import { AccessStartError } from "./access-list-keeper.ts";
import { Accounting, AccountingWriter } from "./accounting.ts";
import { PasskeyDb, PasskeyWatcher } from "./passkey-db.ts";

/** How often the database is asked whether another process changed the keys. */
const KEYS_POLL_MS = 1000;
/** How often the accounting is written: at most this much is lost to a SIGKILL. */
const USAGE_FLUSH_MS = 3000;

/** What /stats shows about private mode. */
export interface PrivateStatus {
  db: string;
  /** Keys in force now (neither revoked nor expired when last read). */
  keys: number;
  /** When the keys were last read from the database (ISO). */
  keysReadAt: string;
}

export interface PrivateKeeper {
  readonly status: PrivateStatus;
  /** Read the keys again now (SIGHUP). */
  reload(): void;
  /** Stop the timers, write the pending accounting, close the database. */
  stop(): void;
}

/** Null unless config.private. Throws AccessStartError when the database cannot be opened. */
export function startPrivateKeeper(rules: TrackerRules, log: (line: string) => void, warn: (line: string) => void): PrivateKeeper | null {
  const config = rules.config;
  if (!config.private) return null;
  let db: PasskeyDb;
  try {
    // A short busy timeout: SQLite waits synchronously, holding the event loop, while another
    // process holds the write lock; a flush that times out keeps its batch for the next one.
    db = new PasskeyDb(config.db, { busyTimeoutMs: 200 });
  } catch (e) {
    throw new AccessStartError(`private mode: ${(e as Error).message}`);
  }
  const status: PrivateStatus = { db: config.db, keys: 0, keysReadAt: "" };
  const watcher = new PasskeyWatcher(db, (table) => {
    rules.passkeys = table;
    status.keys = table.size;
    status.keysReadAt = new Date().toISOString();
  }, warn);
  try {
    watcher.poll(nowSeconds(), true);
  } catch (e) {
    db.close();
    throw new AccessStartError(`private mode: cannot read the keys in ${config.db}: ${(e as Error).message}`);
  }
  watcher.start(KEYS_POLL_MS);
  const accounting = new Accounting(config.peerTimeout);
  rules.accounting = accounting;
  const writer = new AccountingWriter(accounting, db, warn, USAGE_FLUSH_MS);
  writer.start();
  log(`private mode: ${status.keys.toLocaleString("en-US")} passkeys in force from ${config.db}`);

  let stopped = false;
  return {
    status,
    reload() {
      if (stopped) return;
      try {
        watcher.poll(nowSeconds(), true);
        log(`private mode: SIGHUP: ${status.keys.toLocaleString("en-US")} passkeys in force`);
      } catch (e) {
        warn(`private mode: SIGHUP: cannot read the keys in ${config.db}: ${(e as Error).message} (the keys in memory stay)`);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      watcher.stop();
      writer.stop();
      db.close();
    },
  };
}
