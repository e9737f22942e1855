/**
 * Junk from the network is normal traffic: the real tracker, fed random datagrams and random
 * queries over real sockets, keeps answering correctly and never crashes or corrupts its state.
 * Seeded PRNG, bounded counts, loopback only.
 */
import { describe, expect, test } from "bun:test";
import bencode from "bencode";
import { C } from "../src/rules/counters.ts";
import { announceUrl, bytes20, getBencoded, memoryStoreOf, withTracker } from "./support/tracker.ts";
import { announcePacket, connectPacket, readAnnounceAnswer, UdpClient } from "./support/udp-client.ts";

function prng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % n;
  };
}

describe("robustness against junk", () => {
  test("random datagrams: junk is dropped, authenticated junk gets at most an error, the tracker still serves", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        const rnd = prng(42);
        const id = await c.connect();
        let answers = 0;
        for (let i = 0; i < 3000; i++) {
          const kind = rnd(4);
          let pkt: Buffer;
          if (kind === 0) {
            pkt = Buffer.alloc(rnd(200)); // pure junk of any length
            for (let k = 0; k < pkt.length; k++) pkt[k] = rnd(256);
          } else if (kind === 1) {
            pkt = Buffer.concat([connectPacket(i), Buffer.alloc(rnd(50), rnd(256))]); // connect + trailing bytes
          } else {
            // A real connection id, then random action, fields and options.
            pkt = announcePacket({ connId: id, infoHash: bytes20(rnd(256)), port: rnd(65536), event: rnd(6), numWant: rnd(300) - 2, tid: i });
            pkt.writeUInt32BE(kind === 2 ? 1 : rnd(5), 8);
            for (let k = 16; k < pkt.length; k++) if (rnd(10) === 0) pkt[k] = rnd(256);
            if (rnd(2) === 0) pkt = Buffer.concat([pkt, Buffer.alloc(rnd(30), rnd(4))]);
            pkt = pkt.subarray(0, Math.max(16, pkt.length - rnd(100)));
          }
          c.send(pkt);
          if (i % 100 === 99) {
            // Drain what came back; every answer is a well-formed BEP 15 packet.
            for (let r = await c.receive(50); r !== null; r = await c.receive(20)) {
              answers++;
              expect(r.length).toBeGreaterThanOrEqual(8);
              expect([0, 1, 2, 3]).toContain(r.readUInt32BE(0));
            }
          }
        }
        expect(answers).toBeGreaterThan(0);
        expect(t.rules.counters[C.udpDropped]!).toBeGreaterThan(0);
        // Still serving, and the swarm table is consistent.
        const fresh = await c.connect(777);
        const a = readAnnounceAnswer(await c.request(announcePacket({ connId: fresh, infoHash: bytes20(0xee), port: 9 })));
        expect(a.action).toBe(1);
        expect(memoryStoreOf(t).verify()).toBeNull();
      } finally {
        c.close();
      }
    });
  }, 30_000);

  test("random queries and paths over HTTP: always a valid bencoded answer or a plain 404, never a 500", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const base = `http://127.0.0.1:${t.httpPort}`;
      const rnd = prng(7);
      const names = ["info_hash", "peer_id", "port", "left", "uploaded", "downloaded", "event", "compact", "numwant", "no_peer_id", "key", "ip", "x"];
      const piece = (): string => {
        const n = rnd(30);
        let v = "";
        for (let k = 0; k < n; k++) {
          const r = rnd(4);
          v += r === 0 ? "%" + rnd(256).toString(16).padStart(2, "0") : r === 1 ? "%" + "zG"[rnd(2)]! : String.fromCharCode(33 + rnd(90)).replace(/[#?&]/, "x");
        }
        return v;
      };
      for (let i = 0; i < 300; i++) {
        const path = ["/announce", "/scrape", "/", "/nope"][rnd(4)]!;
        const params: string[] = [];
        for (let k = rnd(8); k > 0; k--) params.push(`${names[rnd(names.length)]}=${piece()}`);
        const res = await fetch(`${base}${path}?${params.join("&")}`);
        expect(res.status === 200 || res.status === 404).toBe(true);
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status === 200 && (path === "/announce" || path === "/scrape")) {
          const d = bencode.decode(body);
          expect(d["failure reason"] !== undefined || d.interval !== undefined || d.files !== undefined).toBe(true);
        }
      }
      expect(t.rules.counters[C.http500]!).toBe(0);
      // Still serving real announces, and the table is consistent.
      const r = await getBencoded(announceUrl(base, { infoHash: bytes20(0x12), port: 4000 }));
      expect(r.interval).toBe(299);
      expect(memoryStoreOf(t).verify()).toBeNull();
    });
  }, 30_000);
});
