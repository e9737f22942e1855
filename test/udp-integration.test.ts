/**
 * The real tracker's UDP side (BEP 15) on 127.0.0.1 / ::1, over real sockets.
 */
import { describe, expect, test } from "bun:test";
import { C } from "../src/rules/counters.ts";
import { announceUrl, bytes20, compactPeers, getBencoded, withTracker } from "./support/tracker.ts";
import { announcePacket, connectPacket, readAnnounceAnswer, scrapePacket, UdpClient } from "./support/udp-client.ts";

describe("UDP tracker", () => {
  test.each([["127.0.0.1", 6], ["::1", 18]] as const)(
    "on %s: connect, announce (peers see each other, never themselves), stride %d",
    async (host, stride) => {
      await withTracker(["--host", host], async (t) => {
        expect(t.udpPort).toBe(t.httpPort);
        const a = await UdpClient.open(host, t.udpPort);
        const b = await UdpClient.open(host, t.udpPort);
        try {
          const ih = bytes20(0x11);
          const ca = await a.connect();
          const cb = await b.connect();
          let r = readAnnounceAnswer(await a.request(announcePacket({ connId: ca, infoHash: ih, port: 6001, event: 2, tid: 77 })));
          expect([r.action, r.tid, r.interval, r.leechers, r.seeders]).toEqual([1, 77, 299, 1, 0]);
          expect(r.peers.length).toBe(0);
          r = readAnnounceAnswer(await b.request(announcePacket({ connId: cb, infoHash: ih, port: 6002, left: 0n })));
          expect([r.leechers, r.seeders]).toEqual([1, 1]);
          expect(r.peers.length).toBe(stride);
          const peers = compactPeers(r.peers, stride);
          expect(peers).toEqual([stride === 6 ? "127.0.0.1:6001" : "[0:0:0:0:0:0:0:1]:6001"]);
          r = readAnnounceAnswer(await a.request(announcePacket({ connId: ca, infoHash: ih, port: 6001 })));
          expect(compactPeers(r.peers, stride)).toEqual([stride === 6 ? "127.0.0.1:6002" : "[0:0:0:0:0:0:0:1]:6002"]);
        } finally {
          a.close();
          b.close();
        }
      });
    },
  );

  test("dual-stack '::': an IPv4 client (seen as ::ffff:a.b.c.d) is an IPv4 peer, an IPv6 one is IPv6", async () => {
    await withTracker(["--host", "::"], async (t) => {
      const v4 = await UdpClient.open("127.0.0.1", t.udpPort);
      const v6 = await UdpClient.open("::1", t.udpPort);
      try {
        const ih = bytes20(0x22);
        const i4 = await v4.connect();
        const i6 = await v6.connect();
        await v4.request(announcePacket({ connId: i4, infoHash: ih, port: 4001 }));
        await v6.request(announcePacket({ connId: i6, infoHash: ih, port: 6001 }));
        const a4 = readAnnounceAnswer(await v4.request(announcePacket({ connId: i4, infoHash: ih, port: 4002 })));
        expect(compactPeers(a4.peers, 6)).toEqual(["127.0.0.1:4001"]);
        expect(a4.leechers).toBe(3);
        const a6 = readAnnounceAnswer(await v6.request(announcePacket({ connId: i6, infoHash: ih, port: 6002 })));
        expect(compactPeers(a6.peers, 18)).toEqual(["[0:0:0:0:0:0:0:1]:6001"]);
        expect(t.rules.store.figures().peersIPv4).toBe(2);
        expect(t.rules.store.figures().peersIPv6).toBe(2);
      } finally {
        v4.close();
        v6.close();
      }
    });
  });

  test("scrape counts, completed and stopped", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        const id = await c.connect();
        const h1 = bytes20(1, 1);
        const h2 = bytes20(2, 2);
        await c.request(announcePacket({ connId: id, infoHash: h1, port: 1 }));
        await c.request(announcePacket({ connId: id, infoHash: h1, port: 2, left: 0n, event: 1 }));
        let s = await c.request(scrapePacket(id, [h1, h2], 0xabcdef01));
        expect(s.length).toBe(8 + 24);
        expect([s.readUInt32BE(0), s.readUInt32BE(4)]).toEqual([2, 0xabcdef01]);
        // seeders, completed, leechers per hash, in request order
        expect([s.readUInt32BE(8), s.readUInt32BE(12), s.readUInt32BE(16)]).toEqual([1, 1, 1]);
        expect([s.readUInt32BE(20), s.readUInt32BE(24), s.readUInt32BE(28)]).toEqual([0, 0, 0]);
        await c.request(announcePacket({ connId: id, infoHash: h1, port: 1, event: 3 }));
        s = await c.request(scrapePacket(id, [h1]));
        expect([s.readUInt32BE(8), s.readUInt32BE(12), s.readUInt32BE(16)]).toEqual([1, 1, 0]);
      } finally {
        c.close();
      }
    });
  });

  test("per-address limits never apply to loopback (the operator's own proxy, monitoring, tests)", async () => {
    await withTracker(["--host", "127.0.0.1", "--announces-per-minute", "2", "--udp-connects-per-minute", "1"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        for (let i = 0; i < 3; i++) await c.connect(100 + i); // three connects: all answered
        const id = await c.connect();
        for (let port = 1; port <= 5; port++) {
          const a = readAnnounceAnswer(await c.request(announcePacket({ connId: id, infoHash: bytes20(9), port })));
          expect(a.action).toBe(1);
        }
        const h = await getBencoded(announceUrl(`http://127.0.0.1:${t.httpPort}`, { infoHash: bytes20(9), port: 6 }));
        expect(h["failure reason"]).toBeUndefined();
        expect(h.incomplete).toBe(6);
      } finally {
        c.close();
      }
    });
  });

  // One rule for every protocol: a UDP scrape past --scrape-max-hashes is refused like an HTTP
  // one (it used to be answered for the first hashes only, while HTTP refused).
  test("a scrape of more hashes than --scrape-max-hashes gets an error packet", async () => {
    await withTracker(["--host", "127.0.0.1", "--scrape-max-hashes", "2"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        const id = await c.connect();
        const ok = await c.request(scrapePacket(id, [bytes20(1), bytes20(2)], 7));
        expect(ok.length).toBe(8 + 24);
        const r = await c.request(scrapePacket(id, [bytes20(1), bytes20(2), bytes20(3)], 8));
        expect([r.readUInt32BE(0), r.readUInt32BE(4)]).toEqual([3, 8]);
        expect(r.subarray(8).toString()).toBe("too many info_hash values in one scrape (at most 2)");
      } finally {
        c.close();
      }
    });
  });

  test("num_want bounds the answer; -1 means the default", async () => {
    await withTracker(["--host", "127.0.0.1", "--numwant-default", "4"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        const id = await c.connect();
        const ih = bytes20(3);
        for (let p = 1; p <= 10; p++) await c.request(announcePacket({ connId: id, infoHash: ih, port: p }));
        let r = readAnnounceAnswer(await c.request(announcePacket({ connId: id, infoHash: ih, port: 50, numWant: 2 })));
        expect(r.peers.length).toBe(12);
        r = readAnnounceAnswer(await c.request(announcePacket({ connId: id, infoHash: ih, port: 50, numWant: -1 })));
        expect(r.peers.length).toBe(24);
      } finally {
        c.close();
      }
    });
  });

  test("a wrong connection id gets an error packet no larger than the request", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        const bogus = new Uint8Array(8).fill(0x42);
        const r = await c.request(announcePacket({ connId: bogus, infoHash: bytes20(1), port: 1, tid: 555 }));
        expect(r.readUInt32BE(0)).toBe(3);
        expect(r.readUInt32BE(4)).toBe(555);
        expect(r.subarray(8).toString()).toContain("connection id");
        expect(r.length).toBeLessThanOrEqual(98);
        const s = await c.request(scrapePacket(bogus, [bytes20(1)], 556));
        expect(s.readUInt32BE(0)).toBe(3);
        expect(s.length).toBeLessThanOrEqual(36);
      } finally {
        c.close();
      }
    });
  });

  test("a connection id made for another address is rejected", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const home = await UdpClient.open("127.0.0.1", t.udpPort, "127.0.0.1");
      const other = await UdpClient.open("127.0.0.1", t.udpPort, "127.0.0.2");
      try {
        const id = await home.connect();
        const ok = await home.request(announcePacket({ connId: id, infoHash: bytes20(1), port: 1 }));
        expect(ok.readUInt32BE(0)).toBe(1);
        const stolen = await other.request(announcePacket({ connId: id, infoHash: bytes20(1), port: 2 }));
        expect(stolen.readUInt32BE(0)).toBe(3);
        // its own id works from there
        const own = await other.connect();
        expect((await other.request(announcePacket({ connId: own, infoHash: bytes20(1), port: 2 }))).readUInt32BE(0)).toBe(1);
      } finally {
        home.close();
        other.close();
      }
    });
  });

  test("junk is dropped silently", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        c.send(new Uint8Array([1, 2, 3]));
        c.send(Buffer.alloc(16)); // zero protocol id
        const badAction = connectPacket(1);
        badAction.writeUInt32BE(9, 8);
        c.send(badAction);
        expect(await c.receive(300)).toBeNull();
        // still alive
        expect((await c.connect()).length).toBe(8);
      } finally {
        c.close();
      }
    });
  });

  test("BEP 41: announces of 100 and 109 bytes (URL data options) are answered", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        const id = await c.connect();
        // 100 bytes: option 1 (nop), option 0 (end)
        const p100 = announcePacket({ connId: id, infoHash: bytes20(4), port: 1, options: new Uint8Array([1, 0]) });
        expect(p100.length).toBe(100);
        expect((await c.request(p100)).readUInt32BE(0)).toBe(1);
        // 109 bytes: option 2, length 9, "/announce" — as real clients send for udp://host:port/announce
        const url = new TextEncoder().encode("/announce");
        const p109 = announcePacket({ connId: id, infoHash: bytes20(4), port: 2, options: new Uint8Array([2, url.length, ...url]) });
        expect(p109.length).toBe(109);
        const r = readAnnounceAnswer(await c.request(p109));
        expect(r.action).toBe(1);
        expect(compactPeers(r.peers, 6)).toEqual(["127.0.0.1:1"]);
      } finally {
        c.close();
      }
    });
  });

  test("HTTP and UDP share swarms: each sees the other's peers, counts agree", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const c = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        const ih = bytes20(0x33);
        await getBencoded(announceUrl(`http://127.0.0.1:${t.httpPort}`, { infoHash: ih, port: 8001, left: "0" }));
        const id = await c.connect();
        const r = readAnnounceAnswer(await c.request(announcePacket({ connId: id, infoHash: ih, port: 8002 })));
        expect(compactPeers(r.peers, 6)).toEqual(["127.0.0.1:8001"]);
        expect([r.seeders, r.leechers]).toEqual([1, 1]);
        const h = await getBencoded(announceUrl(`http://127.0.0.1:${t.httpPort}`, { infoHash: ih, port: 8001, left: "0" }));
        expect(compactPeers(h.peers, 6)).toEqual(["127.0.0.1:8002"]);
        expect([h.complete, h.incomplete]).toEqual([1, 1]);
      } finally {
        c.close();
      }
    });
  });

  // Regression (found by the e2e suite): while an ICMP error is pending, Bun's send() throws
  // ECONNREFUSED WITHOUT sending, and sendMany stops there; flush() used to count that reply as
  // lost and move on, so a healthy client interleaved with departing ones got ~2% of its answers.
  test("replies to a healthy client interleaved with departing clients all arrive", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const got = new Set<number>();
      const good = await Bun.udpSocket({
        hostname: "127.0.0.1",
        binaryType: "buffer",
        socket: { data(_s, b) { got.add(b.readUInt32BE(4)); }, error() {} },
      });
      try {
        const N = 300;
        for (let i = 0; i < N; i++) {
          const ghost = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {}, error() {} } });
          ghost.send(connectPacket(0xdead0000 + i), t.udpPort, "127.0.0.1");
          ghost.close();
          good.send(connectPacket(i), t.udpPort, "127.0.0.1");
          if (i % 50 === 0) await Bun.sleep(5);
        }
        for (let w = 0; w < 100 && got.size < N; w++) await Bun.sleep(20);
        expect(t.rules.counters[C.udpIcmpErrors]!).toBeGreaterThan(0);
        expect(got.size).toBe(N);
        expect(t.rules.counters[C.udpSendErrors]!).toBe(0);
      } finally {
        good.close();
      }
    });
  });

  // Regression (README, "UDP (BEP 15) and IPv6"): Bun sets IP_RECVERR on UDP sockets, so a reply to a client
  // that has closed its port comes back as ICMP "port unreachable". Without an `error` handler the
  // process exits; without guarded sends the NEXT healthy client's datagram is lost.
  test("ICMP port unreachable from departed clients does not stop answers to healthy ones", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const healthy = await UdpClient.open("127.0.0.1", t.udpPort);
      try {
        for (let round = 0; round < 20; round++) {
          const gone = await UdpClient.open("127.0.0.1", t.udpPort);
          gone.send(connectPacket(round));
          gone.close(); // the tracker's answer will hit a closed port
          await Bun.sleep(5); // let that answer (and its ICMP error) happen first
          const id = await healthy.connect(1000 + round);
          expect(id.length).toBe(8);
        }
        const counters = t.rules.counters;
        // The scenario really happened: the departed clients' ICMP errors reached the socket.
        expect(counters[C.udpIcmpErrors]!).toBeGreaterThan(0);
        // The tracker is alive and still answers.
        expect((await healthy.connect(1)).length).toBe(8);
      } finally {
        healthy.close();
      }
    });
  });
});
