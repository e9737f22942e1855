/**
 * Private mode's accounting (src/access/accounting.ts): deltas from the clients' running totals
 * per (key, torrent, peer), the batches they add up to, forgetting quiet peers, and the writer
 * that puts batches into a real SQLite file (keeping a batch it could not write).
 */
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Accounting, AccountingWriter, type AccountingEvent } from "../src/access/accounting.ts";
import { PasskeyDb, type UsageDelta } from "../src/access/passkey-db.ts";

const dir = mkdtempSync(join(tmpdir(), "sc6-accounting-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(dir, `usage-${++files}.sqlite`);

const T = 1_800_000_000;
const TIMEOUT = 2700;
const A = "A".repeat(32);
const B = "B".repeat(32);

/**
 * A request-like buffer holding the info_hash at offset 3 and the peer_id at offset 30 (the rules
 * pass views into a packet with offsets).
 */
function packet(hashByte: number, peerByte: number): Uint8Array {
  const p = new Uint8Array(64);
  p.fill(hashByte, 3, 23);
  p.fill(peerByte, 30, 50);
  return p;
}

/** One announce: key, torrent (a byte repeated), peer (a byte repeated), reported totals. */
function announce(
  acc: Accounting, key: string, torrent: number, peer: number, uploaded: number, downloaded: number,
  event: AccountingEvent = "none", now = T, completionCounted = true,
): void {
  const p = packet(torrent, peer);
  acc.record(key, p, 3, p, 30, uploaded, downloaded, event, completionCounted, now);
}

/** The batch as plain rows, sorted, with the info_hash in hex. */
function rows(batch: UsageDelta[]) {
  return batch
    .map((d) => ({ ...d, infoHash: Buffer.from(d.infoHash).toString("hex") }))
    .sort((x, y) => (x.key + x.infoHash < y.key + y.infoHash ? -1 : 1));
}

const h = (b: number) => Buffer.alloc(20, b).toString("hex");

describe("Accounting", () => {
  test("started, then increments: the deltas add up to the last totals", () => {
    const acc = new Accounting(TIMEOUT);
    announce(acc, A, 1, 1, 0, 0, "started");
    announce(acc, A, 1, 1, 100, 1000);
    announce(acc, A, 1, 1, 250, 4000);
    expect(rows(acc.takeBatch())).toEqual([{ key: A, infoHash: h(1), uploaded: 250, downloaded: 4000, announces: 3, completions: 0 }]);
    expect(acc.takeBatch()).toEqual([]); // taken: starts afresh
    announce(acc, A, 1, 1, 300, 4500);
    expect(rows(acc.takeBatch())).toEqual([{ key: A, infoHash: h(1), uploaded: 50, downloaded: 500, announces: 1, completions: 0 }]);
  });

  test("a peer first seen counts its totals from 0; `started` starts from 0 again", () => {
    const acc = new Accounting(TIMEOUT);
    announce(acc, A, 1, 1, 500, 700); // no started (e.g. the tracker restarted): all of it
    announce(acc, A, 1, 1, 600, 900);
    announce(acc, A, 1, 1, 40, 60, "started"); // a new session
    announce(acc, A, 1, 1, 50, 80);
    expect(rows(acc.takeBatch())[0]).toMatchObject({ uploaded: 650, downloaded: 980, announces: 4 });
  });

  test("a total below the last one (the client reset its counters) counts as it stands", () => {
    const acc = new Accounting(TIMEOUT);
    announce(acc, A, 1, 1, 1000, 1000, "started");
    announce(acc, A, 1, 1, 30, 1200); // uploaded reset, downloaded went on
    announce(acc, A, 1, 1, 80, 1300);
    expect(rows(acc.takeBatch())[0]).toMatchObject({ uploaded: 1080, downloaded: 1300 });
  });

  test("stopped: its delta is counted, then the peer is forgotten", () => {
    const acc = new Accounting(TIMEOUT);
    announce(acc, A, 1, 1, 0, 0, "started");
    announce(acc, A, 1, 1, 100, 100);
    expect(acc.peerCount).toBe(1);
    announce(acc, A, 1, 1, 150, 120, "stopped");
    expect(acc.peerCount).toBe(0);
    announce(acc, A, 1, 1, 20, 20); // back without `started`: from 0
    expect(rows(acc.takeBatch())[0]).toMatchObject({ uploaded: 170, downloaded: 140, announces: 4 });
  });

  test("a completion counts only when the rules counted it", () => {
    const acc = new Accounting(TIMEOUT);
    announce(acc, A, 1, 1, 0, 100, "completed", T, true);
    announce(acc, A, 1, 2, 0, 100, "completed", T, false); // over the completion limit
    announce(acc, A, 1, 3, 0, 100, "none", T, true); // not a completion at all
    expect(rows(acc.takeBatch())[0]).toMatchObject({ announces: 3, completions: 1 });
  });

  test("peers, keys and torrents are kept apart; one row per (key, torrent)", () => {
    const acc = new Accounting(TIMEOUT);
    announce(acc, A, 1, 1, 0, 0, "started");
    announce(acc, A, 1, 2, 0, 0, "started");
    announce(acc, A, 1, 1, 10, 1);
    announce(acc, A, 1, 2, 20, 2);
    announce(acc, A, 1, 1, 15, 3); // peer 1: +5, +2 (not against peer 2's totals)
    announce(acc, A, 2, 1, 7, 7); // same peer_id on another torrent: its own totals
    announce(acc, B, 1, 1, 9, 9); // another key, same torrent and peer_id
    expect(acc.peerCount).toBe(4);
    expect(acc.pendingCount).toBe(3);
    expect(rows(acc.takeBatch())).toEqual([
      { key: A, infoHash: h(1), uploaded: 35, downloaded: 5, announces: 5, completions: 0 },
      { key: A, infoHash: h(2), uploaded: 7, downloaded: 7, announces: 1, completions: 0 },
      { key: B, infoHash: h(1), uploaded: 9, downloaded: 9, announces: 1, completions: 0 },
    ]);
  });

  test("the batch keeps its own copy of the info_hash (the request buffer is reused)", () => {
    const acc = new Accounting(TIMEOUT);
    const p = packet(7, 1);
    acc.record(A, p, 3, p, 30, 1, 1, "none", false, T);
    p.fill(0);
    expect(rows(acc.takeBatch())[0]!.infoHash).toBe(h(7));
  });

  test("quiet peers are forgotten after peerTimeout (and at most twice that); live ones stay", () => {
    const acc = new Accounting(100);
    announce(acc, A, 1, 1, 10, 10, "none", T); // quiet from here on
    announce(acc, A, 1, 2, 10, 10, "none", T);
    expect(acc.expire(T + 99)).toBe(0);
    for (let t = T + 50; t <= T + 250; t += 50) announce(acc, A, 1, 2, 10 + t - T, 10, "none", t); // peer 2 every 50 s
    acc.expire(T + 250);
    expect(acc.peerCount).toBe(1); // peer 1 gone (silent for 250 s >= 2 x 100), peer 2 still known
    acc.takeBatch();
    announce(acc, A, 1, 2, 270, 10, "none", T + 260);
    expect(rows(acc.takeBatch())[0]).toMatchObject({ uploaded: 10 }); // a delta: its report was kept
    announce(acc, A, 1, 1, 15, 15, "none", T + 260);
    expect(rows(acc.takeBatch())[0]).toMatchObject({ uploaded: 15 }); // forgotten: counted from 0
  });

  test("a peer is never forgotten before peerTimeout, whatever the rotation's phase", () => {
    for (let start = 0; start < 100; start += 7) {
      const acc = new Accounting(100);
      announce(acc, B, 9, 9, 0, 0, "none", T); // the generations turn at T, T + 100, ...
      announce(acc, A, 1, 1, start, 0, "none", T + start);
      for (let t = T + start; t < T + start + 100; t += 10) acc.expire(t);
      acc.takeBatch();
      announce(acc, A, 1, 1, start + 1, 0, "none", T + start + 99);
      expect(rows(acc.takeBatch()).find((r) => r.key === A)).toMatchObject({ uploaded: 1 });
    }
  });

  test("restore() puts a batch back, to be summed with what came since", () => {
    const acc = new Accounting(TIMEOUT);
    announce(acc, A, 1, 1, 100, 100, "completed");
    const batch = acc.takeBatch();
    announce(acc, A, 1, 1, 150, 100);
    acc.restore(batch);
    expect(rows(acc.takeBatch())).toEqual([{ key: A, infoHash: h(1), uploaded: 150, downloaded: 100, announces: 2, completions: 1 }]);
  });
});

describe("AccountingWriter", () => {
  test("flush writes the batch to the database; two flushes add up", () => {
    const db = new PasskeyDb(newPath());
    try {
      const acc = new Accounting(TIMEOUT);
      const writer = new AccountingWriter(acc, db, () => {});
      announce(acc, A, 1, 1, 0, 0, "started");
      announce(acc, A, 1, 1, 100, 200);
      expect(writer.flush(T)).toBe(true);
      expect(acc.pendingCount).toBe(0);
      announce(acc, A, 1, 1, 150, 300, "completed");
      announce(acc, B, 2, 1, 5, 5);
      expect(writer.flush(T)).toBe(true);
      expect(writer.flush(T)).toBe(true); // nothing pending: nothing written
      expect(db.keyStats(A)).toEqual([{ infoHash: h(1), uploaded: 150, downloaded: 300, announces: 3, completions: 1 }]);
      expect(db.keyStats(B)).toEqual([{ infoHash: h(2), uploaded: 5, downloaded: 5, announces: 1, completions: 0 }]);
    } finally {
      db.close();
    }
  });

  test("a failed flush keeps its batch for the next one: nothing lost, nothing doubled, one warning", () => {
    const acc = new Accounting(TIMEOUT);
    const warnings: string[] = [];
    let target = new PasskeyDb(newPath());
    const path = target.path;
    target.close(); // every write fails
    const writer = new AccountingWriter(acc, { addUsage: (batch) => target.addUsage(batch) }, (line) => warnings.push(line));
    announce(acc, A, 1, 1, 100, 100);
    expect(writer.flush(T)).toBe(false);
    announce(acc, A, 1, 1, 250, 100);
    expect(writer.flush(T)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("1 rows kept");
    expect(acc.pendingCount).toBe(1);

    target = new PasskeyDb(path); // the database is back
    try {
      expect(writer.flush(T)).toBe(true);
      expect(writer.flush(T)).toBe(true);
      expect(target.keyStats(A)).toEqual([{ infoHash: h(1), uploaded: 250, downloaded: 100, announces: 2, completions: 0 }]);
    } finally {
      target.close();
    }
  });

  test("another connection holding the write lock: the flush waits busy_timeout, fails, and the batch goes with the next", () => {
    const path = newPath();
    const db = new PasskeyDb(path, { busyTimeoutMs: 50 });
    const other = new Database(path); // e.g. `keys add` in the middle of its transaction
    try {
      const acc = new Accounting(TIMEOUT);
      const warnings: string[] = [];
      const writer = new AccountingWriter(acc, db, (line) => warnings.push(line));
      announce(acc, A, 1, 1, 100, 0);
      other.run("BEGIN IMMEDIATE");
      const t0 = performance.now();
      expect(writer.flush(T)).toBe(false);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(40);
      expect(warnings[0]).toContain("database is locked");
      other.run("COMMIT");
      announce(acc, A, 1, 1, 120, 0);
      expect(writer.flush(T)).toBe(true);
      expect(db.keyStats(A)[0]).toMatchObject({ uploaded: 120, announces: 2 });
    } finally {
      other.close();
      db.close();
    }
  });

  test("start() flushes on its timer; stop() writes what is left", async () => {
    const db = new PasskeyDb(newPath());
    try {
      const acc = new Accounting(TIMEOUT);
      const writer = new AccountingWriter(acc, db, () => {}, 20);
      writer.start();
      announce(acc, A, 1, 1, 10, 10);
      for (const end = Date.now() + 3000; db.keyStats(A).length === 0 && Date.now() < end; ) await Bun.sleep(10);
      expect(db.keyStats(A)[0]).toMatchObject({ uploaded: 10 });
      announce(acc, A, 1, 1, 30, 10);
      expect(writer.stop()).toBe(true);
      expect(db.keyStats(A)[0]).toMatchObject({ uploaded: 30, announces: 2 });
    } finally {
      db.close();
    }
  });
});
