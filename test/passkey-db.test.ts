/**
 * Passkeys (src/access/passkey.ts) and their SQLite database (src/access/passkey-db.ts): key
 * shape, the key table, add/revoke/list/expiry, data_version across connections, the watcher,
 * and usage batches. Real database files in a temporary directory.
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PasskeyDb, PasskeyWatcher, type UsageDelta } from "../src/access/passkey-db.ts";
import { generatePasskey, isPasskeyShape, PASSKEY_LENGTH, PasskeyTable } from "../src/access/passkey.ts";

const dir = mkdtempSync(join(tmpdir(), "sc6-passkeys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(dir, `keys-${++files}.sqlite`);

const T = 1_800_000_000;
const hash = (b: number) => new Uint8Array(20).fill(b);
const usage = (key: string, h: number, uploaded: number, downloaded: number, announces = 1, completions = 0): UsageDelta =>
  ({ key, infoHash: hash(h), uploaded, downloaded, announces, completions });

/** Resolves once `ready()` holds (checked every 10 ms); fails the test after 3 s. */
async function until(ready: () => boolean): Promise<void> {
  for (const end = Date.now() + 3000; !ready(); await Bun.sleep(10)) {
    if (Date.now() > end) throw new Error("timed out waiting");
  }
}

/** Runs `f` with a fresh database, closed afterwards. */
function withDb(f: (db: PasskeyDb, path: string) => void): void {
  const path = newPath();
  const db = new PasskeyDb(path);
  try {
    f(db, path);
  } finally {
    db.close();
  }
}

describe("generatePasskey", () => {
  test("32 characters of the URL-safe alphabet, all distinct, every character used", () => {
    const keys = Array.from({ length: 5000 }, generatePasskey);
    for (const k of keys) {
      expect(k).toHaveLength(PASSKEY_LENGTH);
      expect(isPasskeyShape(k)).toBe(true);
    }
    expect(new Set(keys).size).toBe(keys.length);
    const seen = new Set(keys.join(""));
    expect(seen.size).toBe(64); // 160,000 draws from 64 symbols: each one shows up
    // Roughly uniform: each symbol expected 2,500 times; a modulo bias would skew some by ~25%.
    const counts = new Map<string, number>();
    for (const c of keys.join("")) counts.set(c, (counts.get(c) ?? 0) + 1);
    for (const n of counts.values()) expect(Math.abs(n - 2500)).toBeLessThan(300);
  });

  test("never starts with '-' (a command line would read it as an option)", () => {
    for (let i = 0; i < 5000; i++) expect(generatePasskey()[0]).not.toBe("-");
  });

  test("isPasskeyShape: exactly 32 characters of A-Z a-z 0-9 - _", () => {
    expect(isPasskeyShape("aZ09-_".padEnd(32, "x"))).toBe(true);
    expect(isPasskeyShape("a".repeat(31))).toBe(false);
    expect(isPasskeyShape("a".repeat(33))).toBe(false);
    expect(isPasskeyShape("a".repeat(31) + "+")).toBe(false);
    expect(isPasskeyShape("a".repeat(31) + "/")).toBe(false);
    expect(isPasskeyShape("a".repeat(31) + "\n")).toBe(false);
    expect(isPasskeyShape("")).toBe(false);
  });
});

describe("PasskeyTable", () => {
  test("ok before the expiry, expired from it on, unknown when absent", () => {
    const t = new PasskeyTable(new Map([["a".repeat(32), Infinity], ["b".repeat(32), T + 10]]));
    expect(t.size).toBe(2);
    expect(t.check("a".repeat(32), T)).toBe("ok");
    expect(t.check("b".repeat(32), T + 9)).toBe("ok");
    expect(t.check("b".repeat(32), T + 10)).toBe("expired");
    expect(t.check("c".repeat(32), T)).toBe("unknown");
    expect(new PasskeyTable().check("a".repeat(32), T)).toBe("unknown");
  });
});

describe("PasskeyDb", () => {
  test("a new file: WAL, schema version 1", () => {
    withDb((_db, path) => {
      const other = new PasskeyDb(path); // opening an existing database again works too
      other.close();
      const raw = new Database(path, { readonly: true });
      try {
        expect(raw.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
        expect(raw.query("PRAGMA user_version").get()).toEqual({ user_version: 1 });
      } finally {
        raw.close();
      }
    });
  });

  test("add, list (oldest first, with zero totals), revoke, activeKeys with expiry", () => {
    withDb((db) => {
      const a = db.addKey({ note: "alice" }, T);
      const b = db.addKey({ expires: T + 100 }, T + 1);
      const c = db.addKey({}, T + 2);
      expect(a).toEqual({ key: a.key, note: "alice", created: T, expires: null, revoked: null });
      expect(isPasskeyShape(b.key)).toBe(true);
      expect(db.listKeys().map((r) => r.key)).toEqual([a.key, b.key, c.key]);
      expect(db.listKeys()[1]).toEqual({ ...b, note: "", uploaded: 0, downloaded: 0, announces: 0, completions: 0 });

      expect(db.activeKeys(T + 50)).toEqual(new Map([[a.key, Infinity], [b.key, T + 100], [c.key, Infinity]]));
      expect([...db.activeKeys(T + 100).keys()]).toEqual([a.key, c.key]); // b expired

      expect(db.revokeKey(c.key, T + 60)).toBe(true);
      expect(db.revokeKey(c.key, T + 70)).toBe(true); // again: still known, first date kept
      expect(db.getKey(c.key)!.revoked).toBe(T + 60);
      expect(db.revokeKey("x".repeat(32), T)).toBe(false);
      expect([...db.activeKeys(T + 61).keys()]).toEqual([a.key, b.key]);
      expect(db.listKeys().find((r) => r.key === c.key)!.revoked).toBe(T + 60); // still listed
      expect(db.getKey("x".repeat(32))).toBeNull();
    });
  });

  test("addUsage: batches add up per (key, info_hash), across batches; stats per torrent and per key", () => {
    withDb((db) => {
      const a = db.addKey({}, T).key;
      const b = db.addKey({}, T + 1).key;
      db.addUsage([usage(a, 1, 100, 1000, 2, 0), usage(a, 2, 5, 50), usage(b, 1, 7, 70)]);
      db.addUsage([usage(a, 1, 1, 10, 1, 1), usage(b, 3, 2 ** 40, 2 ** 41)]);
      db.addUsage([]);

      expect(db.keyStats(a)).toEqual([
        { infoHash: "01".repeat(20), uploaded: 101, downloaded: 1010, announces: 3, completions: 1 },
        { infoHash: "02".repeat(20), uploaded: 5, downloaded: 50, announces: 1, completions: 0 },
      ]);
      expect(db.keyStats(b).map((r) => r.infoHash)).toEqual(["01".repeat(20), "03".repeat(20)]);
      expect(db.keyStats()).toEqual([
        { key: a, torrents: 2, uploaded: 106, downloaded: 1060, announces: 4, completions: 1 },
        { key: b, torrents: 2, uploaded: 7 + 2 ** 40, downloaded: 70 + 2 ** 41, announces: 2, completions: 0 },
      ]);
      const listed = db.listKeys();
      expect(listed[0]).toMatchObject({ key: a, uploaded: 106, downloaded: 1060, announces: 4, completions: 1 });
      expect(listed[1]).toMatchObject({ key: b, uploaded: 7 + 2 ** 40 });
      expect(db.keyStats("x".repeat(32))).toEqual([]);
    });
  });

  test("addUsage is all or nothing: a failing row leaves the earlier rows of its batch unwritten", () => {
    withDb((db) => {
      const a = db.addKey({}, T).key;
      const bad = { ...usage(a, 1, 1, 1), key: null as unknown as string }; // key is NOT NULL
      expect(() => db.addUsage([usage(a, 2, 10, 10), bad])).toThrow();
      expect(db.keyStats(a)).toEqual([]);
      db.addUsage([usage(a, 2, 10, 10)]);
      expect(db.keyStats(a)).toHaveLength(1);
    });
  });

  test("data_version changes when another connection commits, not on this connection's own writes", () => {
    withDb((db, path) => {
      const v0 = db.dataVersion();
      db.addKey({}, T);
      db.addUsage([usage("y".repeat(32), 1, 1, 1)]);
      expect(db.dataVersion()).toBe(v0);
      const other = new PasskeyDb(path);
      try {
        const ov = other.dataVersion();
        other.addKey({}, T);
        expect(db.dataVersion()).not.toBe(v0);
        expect(other.dataVersion()).toBe(ov);
        const v1 = db.dataVersion();
        expect(db.dataVersion()).toBe(v1); // stable while nothing happens
      } finally {
        other.close();
      }
    });
  });

  test("a bad path or a file that is no database: an Error naming the path", () => {
    const missingDir = join(dir, "no-such-dir", "keys.sqlite");
    expect(() => new PasskeyDb(missingDir)).toThrow(`cannot open passkey database ${missingDir}`);
    const junk = join(dir, "junk.sqlite");
    writeFileSync(junk, "this is not a database, just some text ".repeat(50));
    expect(() => new PasskeyDb(junk)).toThrow(new RegExp(`^cannot open passkey database ${junk}: .*not a database`));
    expect(() => new PasskeyDb(dir)).toThrow(`cannot open passkey database ${dir}`);
  });

  test("a database with a newer schema is refused", () => {
    const path = newPath();
    new PasskeyDb(path).close();
    const raw = new Database(path);
    raw.run("PRAGMA user_version = 7");
    raw.close();
    expect(() => new PasskeyDb(path)).toThrow("schema version 7 is newer");
  });
});

describe("PasskeyWatcher", () => {
  test("picks up a key added and one revoked by another connection; no reload when nothing changed", () => {
    withDb((db, path) => {
      const first = db.addKey({}, T).key;
      const tables: PasskeyTable[] = [];
      const w = new PasskeyWatcher(db, (t) => tables.push(t), () => {});
      expect(w.poll(T)).toBe(true); // the first poll always reads
      expect(tables).toHaveLength(1);
      expect(tables[0]!.check(first, T)).toBe("ok");
      expect(w.poll(T)).toBe(false);
      db.addUsage([usage(first, 1, 1, 1)]); // own writes: no reload
      expect(w.poll(T)).toBe(false);

      const cli = new PasskeyDb(path);
      let added: string;
      try {
        added = cli.addKey({ expires: T + 5 }, T).key;
        cli.revokeKey(first, T);
      } finally {
        cli.close();
      }
      expect(w.poll(T + 1)).toBe(true);
      const table = tables.at(-1)!;
      expect(table.check(added, T + 1)).toBe("ok");
      expect(table.check(added, T + 5)).toBe("expired"); // expiry without a reload
      expect(table.check(first, T + 1)).toBe("unknown");
      expect(w.poll(T + 2)).toBe(false);
      expect(w.poll(T + 2, true)).toBe(true); // forced
    });
  });

  test("start(): polls on a timer; a failure is warned once, not at every poll", async () => {
    const path = newPath();
    const db = new PasskeyDb(path);
    const tables: PasskeyTable[] = [];
    const warnings: string[] = [];
    const w = new PasskeyWatcher(db, (t) => tables.push(t), (line) => warnings.push(line));
    w.start(20);
    try {
      await until(() => tables.length === 1);
      const cli = new PasskeyDb(path);
      const key = cli.addKey({}, T).key;
      cli.close();
      await until(() => tables.length === 2);
      expect(tables[1]!.check(key, T)).toBe("ok");
      db.close(); // every poll fails from here on
      await until(() => warnings.length > 0);
      await Bun.sleep(100); // five more failed polls
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(path);
    } finally {
      w.stop();
      db.close();
    }
  });
});
