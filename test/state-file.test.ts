/**
 * The state file (src/store/state-file.ts and MemoryStore's records), on real files in a
 * temporary directory: what is saved comes back (peers, flags, counts, interval), times are
 * rebased so that peers which expired while the tracker was down are dropped, a swarm bigger
 * than a write slice survives, and a bad file is reported and moved aside, never applied.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnnounceResult, ScrapeResult } from "../src/rules/results.ts";
import { MemoryStore, type MemoryStoreLimits } from "../src/store/memory/memory-store.ts";
import { restoreState, saveState, STATE_FORMAT_VERSION } from "../src/store/state-file.ts";
import { StoreAnnounce } from "../src/store/store.ts";

const dir = mkdtempSync(join(tmpdir(), "sc6-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newPath = () => join(dir, `state-${++files}`);

const limits: MemoryStoreLimits = { maxTorrents: 1_000_000, maxPeers: 10_000_000, peerTimeout: 2700, torrentRetention: 86_400 };
const T0 = 1_800_000_000; // the time of the saves, Unix seconds

function ih(n: number): Uint8Array {
  const b = new Uint8Array(20).fill(0x5a);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

const op = new StoreAnnounce();
const res = new AnnounceResult();
function announce(s: MemoryStore, t: number, peer: number, o: { now?: number; seeder?: boolean; completed?: boolean; leaving?: boolean; family?: 4 | 6 } = {}): void {
  op.infoHash = ih(t);
  op.family = o.family ?? 4;
  op.record = new Uint8Array(o.family === 6 ? 18 : 6);
  if (op.family === 4) op.record.set([10, (peer >> 16) & 255, (peer >> 8) & 255, peer & 255, 0x1a, 0xe1]);
  else op.record.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, (peer >> 16) & 255, (peer >> 8) & 255, peer & 255, 0x1a, 0xe1]);
  op.seeder = o.seeder ?? false;
  op.completed = o.completed ?? false;
  op.leaving = o.leaving ?? false;
  op.numwant = 0;
  op.now = o.now ?? T0;
  res.reset();
  s.announce(op, res);
}

function counts(s: MemoryStore, t: number): [number, number, number] {
  const r = new ScrapeResult(1);
  s.scrape(ih(t), 0, 1, r);
  return [r.complete[0]!, r.downloaded[0]!, r.incomplete[0]!];
}

/** Every peer of torrent t (both families) as hex records, sorted: what a full answer holds. */
function peersOf(s: MemoryStore, t: number, now = T0 + 60): string[] {
  op.infoHash = ih(t);
  op.family = 4;
  op.record = new Uint8Array([1, 2, 3, 4, 0, 1]); // an outsider asking for everyone
  op.numwant = 1_000_000;
  op.bothFamilies = true;
  op.leaving = false;
  op.completed = false;
  op.now = now;
  res.reset();
  s.announce(op, res);
  const list: string[] = [];
  for (const w of [res.peers4, res.peers6]) {
    for (let k = 0; k < w.count; k++) list.push(w.rec.subarray(w.slot(k) * w.stride, (w.slot(k) + 1) * w.stride).toString("hex"));
  }
  op.bothFamilies = false;
  op.leaving = true; // and leave again, so the probe changes nothing
  s.announce(op, res);
  return list.sort();
}

describe("state file: what is saved comes back", () => {
  test("peers of both families, seeder and counted flags, downloaded counts and the interval", async () => {
    const a = new MemoryStore(limits);
    for (let p = 0; p < 30; p++) announce(a, 1, p, { seeder: p % 3 === 0, completed: p % 3 === 0 });
    for (let p = 0; p < 5; p++) announce(a, 1, 100 + p, { family: 6, seeder: p === 0 });
    for (let t = 2; t < 200; t++) announce(a, t, t, { seeder: t % 2 === 0 });
    announce(a, 300, 1, { seeder: true, completed: true });
    announce(a, 300, 1, { leaving: true }); // empty, kept for its downloaded count
    const path = newPath();
    const saved = await saveState(path, a, 421, T0);
    expect(saved.bytes).toBe(readFileSync(path).length);
    expect(existsSync(`${path}.tmp-${process.pid}`)).toBe(false);

    const b = new MemoryStore(limits);
    const out = restoreState(path, b, T0 + 60);
    expect(out.kind).toBe("restored");
    if (out.kind !== "restored") return;
    expect(out.interval).toBe(421);
    expect(out.savedAt).toBe(T0);
    expect(out.report).toEqual({ torrents: a.torrentCount, peers: a.peerCount, expired: 0, refused: 0 });
    expect(b.verify()).toBeNull();
    expect([b.torrentCount, b.peerCount]).toEqual([a.torrentCount, a.peerCount]);
    for (const t of [1, 2, 77, 199, 300]) expect(counts(b, t)).toEqual(counts(a, t));
    expect(counts(b, 300)).toEqual([0, 1, 0]);
    expect(peersOf(b, 1)).toEqual(peersOf(a, 1));
    // The counted flag came back: a second `completed` from the same peer counts nothing.
    announce(b, 1, 0, { seeder: true, completed: true, now: T0 + 60 });
    expect(counts(b, 1)[1]).toBe(10);
  });

  test("a swarm bigger than one write slice (256 KiB) is split over records and comes back whole", async () => {
    const a = new MemoryStore(limits);
    for (let p = 0; p < 150_000; p++) announce(a, 7, p, { seeder: p % 10 === 0 });
    for (let p = 0; p < 30_000; p++) announce(a, 7, p, { family: 6 });
    const path = newPath();
    await saveState(path, a, 300, T0);
    const b = new MemoryStore(limits);
    const out = restoreState(path, b, T0 + 1);
    expect(out.kind).toBe("restored");
    expect(b.peerCount).toBe(180_000);
    expect(b.torrentCount).toBe(1);
    expect(counts(b, 7)).toEqual(counts(a, 7));
    expect(b.verify()).toBeNull();
  });

  test("times are rebased: peers that expired while the tracker was down are dropped, the rest keep their age", async () => {
    const a = new MemoryStore(limits); // peer timeout 2700 s
    announce(a, 1, 1, { now: T0 - 2000 });
    announce(a, 1, 2, { now: T0 - 100 });
    announce(a, 2, 3, { now: T0 - 2000, completed: true, seeder: true });
    const path = newPath();
    await saveState(path, a, 300, T0);
    const b = new MemoryStore(limits);
    const out = restoreState(path, b, T0 + 1000); // down for 1000 s
    expect(out.kind === "restored" && out.report.expired).toBe(2);
    expect(b.peerCount).toBe(1);
    expect(counts(b, 1)).toEqual([0, 0, 1]);
    expect(counts(b, 2)).toEqual([0, 1, 0]); // empty, but its downloaded count is kept
    // The remaining peer keeps its age: it expires 2700 s after its last announce, not after the restart.
    while (!b.sweepSlice(T0 - 100 + 2700 + 20, 100)) { /* a whole cycle */ }
    expect(b.lastSweep.removedPeers).toBe(1);
  });

  test("capacity limits hold on restore: what does not fit is counted, not added", async () => {
    const a = new MemoryStore(limits);
    for (let p = 0; p < 10; p++) announce(a, 1, p);
    const path = newPath();
    await saveState(path, a, 300, T0);
    const b = new MemoryStore({ ...limits, maxPeers: 4 });
    const out = restoreState(path, b, T0);
    expect(out.kind === "restored" && out.report.refused).toBe(6);
    expect(b.peerCount).toBe(4);
    expect(b.verify()).toBeNull();
  });
});

describe("state file: a bad file is reported and moved aside, never applied", () => {
  async function goodFile(): Promise<string> {
    const a = new MemoryStore(limits);
    for (let p = 0; p < 50; p++) announce(a, p % 5, p, { completed: true, seeder: true });
    const path = newPath();
    await saveState(path, a, 300, T0);
    return path;
  }

  function expectCorrupt(path: string, reason: RegExp): void {
    const before = readFileSync(path);
    const b = new MemoryStore(limits);
    const out = restoreState(path, b, T0);
    expect(out.kind).toBe("corrupt");
    if (out.kind !== "corrupt") return;
    expect(out.reason).toMatch(reason);
    expect(b.torrentCount).toBe(0); // nothing half-applied
    expect(existsSync(path)).toBe(false);
    expect(out.movedTo).toStartWith(`${path}.corrupt-`);
    expect(readFileSync(out.movedTo!).equals(before)).toBe(true); // the evidence, untouched
  }

  test("missing is normal", () => {
    expect(restoreState(join(dir, "nothing-here"), new MemoryStore(limits), T0)).toEqual({ kind: "missing" });
  });

  test("a flipped byte: checksum mismatch", async () => {
    const path = await goodFile();
    const b = readFileSync(path);
    b[100] = b[100]! ^ 0x40;
    writeFileSync(path, b);
    expectCorrupt(path, /checksum mismatch/);
  });

  test("truncated: cut anywhere, it is refused", async () => {
    const path = await goodFile();
    const b = readFileSync(path);
    for (const cut of [b.length - 1, b.length - 30, 200, 40, 10, 0]) {
      const p = newPath();
      writeFileSync(p, b.subarray(0, cut));
      expectCorrupt(p, /truncated|too short/);
    }
  });

  test("another format version, another magic", async () => {
    const path = await goodFile();
    const b = readFileSync(path);
    b.writeUInt32LE(STATE_FORMAT_VERSION + 1, 8);
    writeFileSync(path, b);
    expectCorrupt(path, new RegExp(`format version ${STATE_FORMAT_VERSION + 1}, this tracker reads ${STATE_FORMAT_VERSION}`));
    const other = newPath();
    writeFileSync(other, Buffer.from("d8:announce35:udp://tracker.example:6969/announcee".padEnd(200, "x")));
    expectCorrupt(other, /not a state file/);
  });

  test("a record whose framing does not add up is refused whole (the checksum alone would not catch a buggy writer)", async () => {
    const path = await goodFile();
    const b = readFileSync(path);
    b.writeUInt32LE(1_000_000, 32 + 28); // the first record claims a million IPv4 peers
    // Recompute the checksum so that only the framing is wrong.
    const t = b.length - 24;
    b.writeUInt32LE(Bun.hash.crc32(b.subarray(0, t)) >>> 0, t + 8);
    writeFileSync(path, b);
    expectCorrupt(path, /malformed record at byte 32/);
  });

  test("only the bad file is moved: the directory holds it and nothing else new", async () => {
    const path = await goodFile();
    writeFileSync(path, "garbage");
    const before = new Set(readdirSync(dir));
    restoreState(path, new MemoryStore(limits), T0);
    const added = readdirSync(dir).filter((f) => !before.has(f));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/\.corrupt-/);
  });
});
