/**
 * The passkey database (SQLite through bun:sqlite): the keys of private mode and what each key
 * did per torrent. Two processes use one file at once: the tracker (reads the keys, writes the
 * usage) and the `keys` CLI (adds and revokes keys, reads the usage).
 *
 * - WAL journal: readers never wait for the writer nor the writer for readers, and a commit is an
 *   append to the log; `synchronous = NORMAL` is safe with WAL (a power cut may lose the last
 *   commits, never corrupts). The two writers take turns; `busy_timeout` makes one wait for the
 *   other instead of failing with SQLITE_BUSY.
 * - Usage comes in batches (accounting.ts sums in memory, one transaction every few seconds):
 *   a commit per announce would cost an fsync-ish write per request; a batch costs one per flush,
 *   whatever the announce rate.
 * - `PRAGMA data_version` changes when ANOTHER connection commits to the file, not on this
 *   connection's own writes, so PasskeyWatcher can poll it every second for next to nothing and
 *   re-read the keys only after the CLI changed something, while the tracker's own usage writes
 *   (on the same connection) do not trigger a reload.
 *
 * Statements come from `db.query()` (compiled once, cached by the Database), kept in fields: in
 * bun:sqlite those are finalized by `close()`, whereas statements from `db.prepare()` keep the
 * connection (and the file, and its WAL) open after `close()` until they are garbage collected.
 */
import { Database, type Statement } from "bun:sqlite";
import { generatePasskey, PasskeyTable } from "./passkey.ts";

export { PasskeyTable }; // the rules take the table from here, next to what builds it

const SCHEMA_VERSION = 1;
/** How long a write waits for the other process's write lock by default (see the constructor). */
const BUSY_TIMEOUT_MS = 5000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS passkeys (
  key TEXT PRIMARY KEY,
  note TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL, -- unix seconds
  expires INTEGER,          -- unix seconds, or NULL for never
  revoked INTEGER           -- unix seconds, or NULL
);
CREATE TABLE IF NOT EXISTS usage (
  key TEXT NOT NULL,
  info_hash BLOB NOT NULL,
  uploaded INTEGER NOT NULL DEFAULT 0,
  downloaded INTEGER NOT NULL DEFAULT 0,
  announces INTEGER NOT NULL DEFAULT 0,
  completions INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key, info_hash)
) WITHOUT ROWID;
PRAGMA user_version = ${SCHEMA_VERSION};
`;

export interface KeyRow {
  key: string;
  note: string;
  /** Unix seconds. */
  created: number;
  /** Unix seconds, or null for never. */
  expires: number | null;
  /** Unix seconds, or null if not revoked. */
  revoked: number | null;
}

export interface UsageTotals {
  uploaded: number;
  downloaded: number;
  announces: number;
  completions: number;
}

/** A key with its usage summed over all torrents (listKeys). */
export interface KeyListRow extends KeyRow, UsageTotals {}

/** One key's usage on one torrent (keyStats(key)). */
export interface TorrentUsage extends UsageTotals {
  /** 40 lower-case hex digits. */
  infoHash: string;
}

/** One key's usage summed over its torrents (keyStats()). */
export interface KeyUsage extends UsageTotals {
  key: string;
  torrents: number;
}

/** Deltas to add to one (key, info_hash) row (addUsage). */
export interface UsageDelta extends UsageTotals {
  key: string;
  /** The 20 bytes of the info_hash. */
  infoHash: Uint8Array;
}

type Params = Record<string, string | number | null | Uint8Array>;

const TOTALS = `COALESCE(SUM(u.uploaded), 0) AS uploaded, COALESCE(SUM(u.downloaded), 0) AS downloaded,
  COALESCE(SUM(u.announces), 0) AS announces, COALESCE(SUM(u.completions), 0) AS completions`;

export class PasskeyDb {
  private readonly db: Database;
  private readonly insertKey: Statement<unknown, [Params]>;
  private readonly revoke: Statement<unknown, [Params]>;
  private readonly selectKey: Statement<KeyRow, [Params]>;
  private readonly selectList: Statement<KeyListRow, []>;
  private readonly selectTorrents: Statement<TorrentUsage, [Params]>;
  private readonly selectKeyUsage: Statement<KeyUsage, []>;
  private readonly selectActive: Statement<{ key: string; expires: number | null }, [Params]>;
  private readonly selectDataVersion: Statement<{ data_version: number }, []>;
  private readonly upsertUsage: Statement<unknown, [Params]>;
  private readonly addUsageTx: (batch: readonly UsageDelta[]) => void;

  /**
   * Opens (creating if missing) the database at `path`; throws an Error naming the path if it
   * cannot. `busyTimeoutMs`: how long a write waits while another connection holds the write
   * lock. bun:sqlite is synchronous, so that wait blocks the event loop: the tracker may want it
   * short (a flush that times out keeps its batch for the next one), the CLI can afford seconds.
   */
  constructor(readonly path: string, { busyTimeoutMs = BUSY_TIMEOUT_MS }: { busyTimeoutMs?: number } = {}) {
    let db: Database | undefined;
    try {
      db = new Database(path, { create: true, readwrite: true, strict: true });
      // busy_timeout first: switching to WAL and creating the schema take the write lock.
      db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      db.run("PRAGMA journal_mode = WAL");
      db.run("PRAGMA synchronous = NORMAL");
      migrate(db);
    } catch (e) {
      db?.close();
      throw new Error(`cannot open passkey database ${path}: ${(e as Error).message}`);
    }
    this.db = db;
    this.insertKey = db.query("INSERT INTO passkeys (key, note, created, expires) VALUES ($key, $note, $created, $expires)");
    this.revoke = db.query("UPDATE passkeys SET revoked = COALESCE(revoked, $now) WHERE key = $key");
    this.selectKey = db.query("SELECT key, note, created, expires, revoked FROM passkeys WHERE key = $key");
    this.selectList = db.query(
      `SELECT p.key, p.note, p.created, p.expires, p.revoked, ${TOTALS}
       FROM passkeys p LEFT JOIN usage u ON u.key = p.key GROUP BY p.key ORDER BY p.created, p.key`,
    );
    this.selectTorrents = db.query(
      `SELECT lower(hex(info_hash)) AS infoHash, uploaded, downloaded, announces, completions
       FROM usage WHERE key = $key ORDER BY announces DESC, info_hash`,
    );
    this.selectKeyUsage = db.query(
      `SELECT p.key, COUNT(u.info_hash) AS torrents, ${TOTALS}
       FROM passkeys p LEFT JOIN usage u ON u.key = p.key GROUP BY p.key ORDER BY p.created, p.key`,
    );
    this.selectActive = db.query(
      "SELECT key, expires FROM passkeys WHERE revoked IS NULL AND (expires IS NULL OR expires > $now)",
    );
    this.selectDataVersion = db.query("PRAGMA data_version");
    this.upsertUsage = db.query(
      `INSERT INTO usage (key, info_hash, uploaded, downloaded, announces, completions)
       VALUES ($key, $infoHash, $uploaded, $downloaded, $announces, $completions)
       ON CONFLICT (key, info_hash) DO UPDATE SET
         uploaded = uploaded + excluded.uploaded, downloaded = downloaded + excluded.downloaded,
         announces = announces + excluded.announces, completions = completions + excluded.completions`,
    );
    const applyBatch = db.transaction((batch: readonly UsageDelta[]) => {
      for (const d of batch) {
        const { key, infoHash, uploaded, downloaded, announces, completions } = d;
        this.upsertUsage.run({ key, infoHash, uploaded, downloaded, announces, completions });
      }
    });
    // IMMEDIATE: take the write lock at BEGIN (waiting up to busy_timeout), not half-way through.
    this.addUsageTx = applyBatch.immediate;
  }

  /** Makes and stores a new key; `expires` in unix seconds (null or absent: never). */
  addKey(opts: { note?: string; expires?: number | null }, now: number): KeyRow {
    const row: KeyRow = { key: generatePasskey(), note: opts.note ?? "", created: now, expires: opts.expires ?? null, revoked: null };
    this.insertKey.run({ key: row.key, note: row.note, created: row.created, expires: row.expires });
    return row;
  }

  /** Revokes `key` as of `now` (an already revoked key keeps its first date); false if unknown. */
  revokeKey(key: string, now: number): boolean {
    return this.revoke.run({ key, now }).changes > 0;
  }

  getKey(key: string): KeyRow | null {
    return this.selectKey.get({ key });
  }

  /** Every key (revoked and expired ones too), oldest first, with its usage totals. */
  listKeys(): KeyListRow[] {
    return this.selectList.all();
  }

  /** One key's usage per torrent, busiest first; without a key, every key's totals. */
  keyStats(key: string): TorrentUsage[];
  keyStats(): KeyUsage[];
  keyStats(key?: string): TorrentUsage[] | KeyUsage[] {
    return key === undefined ? this.selectKeyUsage.all() : this.selectTorrents.all({ key });
  }

  /** key -> expiry (unix seconds, Infinity for never) of the keys neither revoked nor expired at `now`. */
  activeKeys(now: number): Map<string, number> {
    const keys = new Map<string, number>();
    for (const r of this.selectActive.all({ now })) keys.set(r.key, r.expires ?? Infinity);
    return keys;
  }

  /** Changes whenever another connection has committed to the file since the last call (not on own writes). */
  dataVersion(): number {
    return this.selectDataVersion.get()!.data_version;
  }

  /** Adds each delta to its (key, info_hash) row, creating rows as needed: all or nothing, one transaction. */
  addUsage(batch: readonly UsageDelta[]): void {
    if (batch.length > 0) this.addUsageTx(batch);
  }

  close(): void {
    this.db.close();
  }
}

/** Creates the schema in an empty database; refuses one made by a newer version. */
function migrate(db: Database): void {
  const version = userVersion(db);
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(`schema version ${version} is newer than this program's (${SCHEMA_VERSION})`);
  }
  // Version 0: a new file (or one from another program with no tables of these names). Another
  // process may be doing the same right now: IF NOT EXISTS, in one transaction.
  db.transaction(() => db.run(SCHEMA)).immediate();
}

function userVersion(db: Database): number {
  const row = db.query<{ user_version: number }, []>("PRAGMA user_version").get();
  return row?.user_version ?? 0;
}

/**
 * Keeps a PasskeyTable in step with the database: `poll()` (every second once started) reads
 * `data_version` and, only when another connection committed since the last poll, re-reads the
 * active keys and hands a new table to `onTable`. Expiry needs no reload: the table holds each
 * key's expiry and checks it against the clock.
 */
export class PasskeyWatcher {
  private lastVersion: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastError = "";

  constructor(
    private readonly db: PasskeyDb,
    private readonly onTable: (table: PasskeyTable) => void,
    private readonly warn: (line: string) => void,
  ) {}

  /** Re-reads the keys if the database changed (always on the first poll, or with `force`); true if it did. */
  poll(now: number, force = false): boolean {
    const version = this.db.dataVersion();
    if (!force && version === this.lastVersion) return false;
    const table = new PasskeyTable(this.db.activeKeys(now));
    this.lastVersion = version;
    this.onTable(table);
    return true;
  }

  /** Polls every `intervalMs`; failures are reported through `warn` (once until the next success). */
  start(intervalMs = 1000): void {
    this.stop();
    this.timer = setInterval(() => this.pollReporting(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private pollReporting(): void {
    try {
      this.poll(Math.floor(Date.now() / 1000));
      this.lastError = "";
    } catch (e) {
      const message = (e as Error).message;
      if (message !== this.lastError) this.warn(`passkeys: cannot re-read ${this.db.path}: ${message} (the keys in memory stay)`);
      this.lastError = message;
    }
  }
}
