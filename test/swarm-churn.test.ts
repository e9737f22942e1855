/**
 * Long churn on the swarm store: peers join, re-announce, stop and time out for simulated hours.
 * What is checked is that nothing grows without bound while the live population stays level.
 */
import { describe, expect, test } from "bun:test";
import { MAX_CLASS } from "../src/store/memory/peer-arena.ts";
import { AnnounceResult } from "../src/rules/results.ts";
import { MemoryStore } from "../src/store/memory/memory-store.ts";
import { StoreAnnounce } from "../src/store/store.ts";

describe("MemoryStore under churn", () => {
  // Regression: stale free-list entries (runs taken by a growing neighbour, merged, or given
  // back to the top) were only dropped when popped, and a list whose top entry was valid was
  // never popped past it, so they piled up for ever: ~1 entry a simulated second here (the
  // old code breaks the bound below at ~1200 s).
  test("free lists stay within three times their live entries; the arena stops growing", () => {
    const s = new MemoryStore({ maxTorrents: 1e6, maxPeers: 1e7, peerTimeout: 60, torrentRetention: 120 });
    let seed = 7;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const ih = new Uint8Array(20);
    const rec = new Uint8Array([10, 0, 0, 1, 0x1a, 0xe1]);
    const pid = new Uint8Array(20);
    const op = new StoreAnnounce();
    op.infoHash = ih;
    op.record = rec;
    op.peerId = pid;
    op.numwant = 50;
    const res = new AnnounceResult();
    const entries = (): number => {
      let n = 0;
      for (let c = 0; c <= MAX_CLASS; c++) n += s.runs4.arena.freeRunCount(c);
      return n;
    };
    const valid = (): number => {
      let n = 0;
      for (let c = 0; c <= MAX_CLASS; c++) n += s.runs4.arena.validFreeRuns(c);
      return n;
    };
    let maxValid = 0;
    let topAtHalf = 0;
    const seconds = 2400;
    for (let now = 1; now <= seconds; now++) {
      for (let k = 0; k < 600; k++) {
        // Skewed popularity: a few big swarms (indexed runs), many small ones (scanned runs).
        const t = Math.floor(1000 * rnd() ** 3);
        const pool = t < 10 ? 2000 : t < 100 ? 200 : 20;
        const p = Math.floor(rnd() * pool);
        new DataView(ih.buffer).setUint32(0, t);
        rec[1] = p >> 8;
        rec[2] = p & 255;
        op.seeder = rnd() < 0.5;
        op.leaving = rnd() < 0.1;
        op.now = now;
        s.announce(op, res);
      }
      s.sweepSlice(now, 1000);
      if (now % 20 === 0) {
        maxValid = Math.max(maxValid, valid());
        // A list doubles only when 3/4 of it is live after compaction: < 8/3 of the most live.
        expect(entries()).toBeLessThanOrEqual(3 * maxValid + 4 * (MAX_CLASS + 1));
      }
      if (now === seconds / 2) topAtHalf = s.runs4.arena.top;
    }
    expect(s.verify()).toBeNull();
    expect(s.peerCount).toBeGreaterThan(10_000);
    // The arena settles: the second half of the run adds little to what the first half built.
    expect(s.runs4.arena.top).toBeLessThan(topAtHalf * 1.1);
  });
});
