import { describe, expect, test } from "bun:test";
import bencode from "bencode";
import fc from "fast-check";
import { newSummary, summarizeTrackerDict } from "./bencode-check.ts";
import { LatencyHistogram } from "./histogram.ts";
import { connectTls } from "./http-load.ts";
import { HttpRequestWriter, writeDecimal } from "./http-request.ts";
import { FRAME_BAD, FRAME_COMPLETE, FRAME_INCOMPLETE, frameResponse, newFrame } from "./http-response.ts";
import { generateInfoHashes, infoHashHex, whitelistText, writeWhitelist } from "./info-hashes.ts";
import { loadOptions, MAX_SECONDS, parseLoadArgs, wsLoadArgs } from "./options.ts";
import { EVENT_COMPLETED, EVENT_NONE, EVENT_STARTED, EVENT_STOPPED, Population } from "./population.ts";
import { Rng, ZipfSampler } from "./rng.ts";
import { isLoopbackAddress, parseTarget } from "./target.ts";
import { assertLoopbackUrl } from "../ws/protocol.ts";
import {
  BAD_ACTION,
  BAD_COUNTS,
  BAD_SHORT,
  BAD_SIZE,
  checkReply,
  TRACKER_ERROR,
  writeAnnounceRequest,
  writeConnectRequest,
  writeScrapeRequest,
} from "./udp-wire.ts";

const LOCAL = { host: "127.0.0.1", port: 6969, ipv6: false };

describe("info_hashes", () => {
  test("are deterministic per seed, and a shorter list is a prefix of a longer one", () => {
    const a = generateInfoHashes(100, 7);
    const b = generateInfoHashes(1000, 7);
    expect(a.length).toBe(2000);
    expect(Buffer.compare(a, b.subarray(0, 2000))).toBe(0);
    expect(Buffer.compare(a, generateInfoHashes(100, 8))).not.toBe(0);
  });

  test("are distinct", () => {
    const h = generateInfoHashes(20_000, 1);
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(infoHashHex(h, i));
    expect(seen.size).toBe(20_000);
  });

  test("whitelist is one 40-hex line per torrent", async () => {
    const text = whitelistText(generateInfoHashes(3, 1));
    expect(text).toMatch(/^([0-9a-f]{40}\n){3}$/);
    const path = `/tmp/load-units-whitelist-${process.pid}.txt`;
    try {
      await writeWhitelist(path, 5, 2);
      const lines = (await Bun.file(path).text()).trimEnd().split("\n");
      expect(lines).toEqual(Array.from({ length: 5 }, (_, i) => infoHashHex(generateInfoHashes(5, 2), i)));
    } finally {
      await Bun.file(path).delete();
    }
  });

  test("refuses a bad count", () => {
    expect(() => generateInfoHashes(0)).toThrow();
  });
});

describe("target", () => {
  test.each([
    ["127.0.0.1", true],
    ["127.255.3.4", true],
    ["::1", true],
    ["128.0.0.1", false],
    ["10.0.0.1", false],
    ["192.168.1.1", false],
    ["0.0.0.0", false],
    ["::", false],
    ["127.0.0.256", false],
    ["example.com", false],
  ])("%s loopback: %p", (host, loopback) => {
    expect(isLoopbackAddress(host)).toBe(loopback);
  });

  test("parses host:port and [::1]:port, maps localhost, refuses the rest", () => {
    expect(parseTarget("127.0.0.1:6969")).toEqual({ ok: true, target: LOCAL });
    expect(parseTarget("localhost:80")).toEqual({ ok: true, target: { host: "127.0.0.1", port: 80, ipv6: false } });
    expect(parseTarget("[::1]:7000")).toEqual({ ok: true, target: { host: "::1", port: 7000, ipv6: true } });
    expect(parseTarget("8.8.8.8:53").ok).toBe(false);
    expect(parseTarget("127.0.0.1:0").ok).toBe(false);
    expect(parseTarget("127.0.0.1:65536").ok).toBe(false);
    expect(parseTarget("127.0.0.1").ok).toBe(false);
  });
});

describe("options", () => {
  test("defaults, and --seconds is capped", () => {
    const p = parseLoadArgs(["--target", "127.0.0.1:1", "--seconds", "999", "--json"]);
    expect(p.ok).toBe(true);
    if (!p.ok || !p.options) throw new Error("unreachable");
    expect(p.options.seconds).toBe(MAX_SECONDS);
    expect(p.options.torrents).toBe(10_000);
    expect(p.options.mode).toBe("udp");
    expect(p.options.json).toBe(true);
  });

  test("errors are returned, not thrown", () => {
    expect(parseLoadArgs(["--target", "1.2.3.4:5"]).ok).toBe(false);
    expect(parseLoadArgs(["--target", "127.0.0.1:5", "--bogus", "1"]).ok).toBe(false);
    expect(parseLoadArgs(["--target", "127.0.0.1:5", "--window", "-3"]).ok).toBe(false);
    expect(parseLoadArgs(["--target", "127.0.0.1:5", "--mode", "tcp"]).ok).toBe(false);
    expect(parseLoadArgs([]).ok).toBe(false);
  });

  test("--mode ws hands the other arguments to bench/ws/load.ts, the target as a ws:// URL", () => {
    expect(wsLoadArgs(["--target", "127.0.0.1:5", "--mode", "ws", "--connections", "50"])).toEqual([
      "--target", "ws://127.0.0.1:5", "--connections", "50",
    ]);
    expect(wsLoadArgs(["--mode=ws", "--target=ws://127.0.0.1:5/announce", "--json"])).toEqual([
      "--target=ws://127.0.0.1:5/announce", "--json",
    ]);
    expect(wsLoadArgs(["--target", "127.0.0.1:5", "--mode", "udp"])).toBeNull();
    expect(wsLoadArgs(["--target", "127.0.0.1:5"])).toBeNull();
  });

  test("--tls: off by default; --ca FILE verifies against FILE, --tls-no-verify accepts any, alone the system's roots", () => {
    const tlsOf = (...args: string[]) => {
      const p = parseLoadArgs(["--target", "127.0.0.1:5", "--mode", "http-close", ...args]);
      if (!p.ok || !p.options) throw new Error(p.ok ? "no options" : p.error);
      return p.options.tls;
    };
    expect(tlsOf()).toBeNull();
    expect(loadOptions(LOCAL).tls).toBeNull();
    expect(tlsOf("--tls", "--ca", "/tmp/c.pem")).toEqual({ caFile: "/tmp/c.pem", verify: true });
    expect(tlsOf("--ca=/tmp/c.pem", "--tls")).toEqual({ caFile: "/tmp/c.pem", verify: true });
    expect(tlsOf("--tls", "--tls-no-verify")).toEqual({ caFile: null, verify: false });
    expect(tlsOf("--tls")).toEqual({ caFile: null, verify: true });
    const keepalive = parseLoadArgs(["--target", "127.0.0.1:5", "--mode", "http-keepalive", "--tls", "--tls-no-verify", "--json"]);
    expect(keepalive.ok && keepalive.options?.tls).toEqual({ caFile: null, verify: false });
    expect(keepalive.ok && keepalive.options?.json).toBe(true);
  });

  test("--tls errors: --ca or --tls-no-verify without --tls, both at once, an empty --ca, udp", () => {
    const error = (...args: string[]) => {
      const p = parseLoadArgs(["--target", "127.0.0.1:5", ...args]);
      return p.ok ? null : p.error;
    };
    expect(error("--mode", "http-close", "--ca", "/tmp/c.pem")).toBe("--ca needs --tls");
    expect(error("--mode", "http-close", "--tls-no-verify")).toBe("--tls-no-verify needs --tls");
    expect(error("--mode", "http-close", "--tls", "--ca", "/tmp/c.pem", "--tls-no-verify")).toBe("--ca and --tls-no-verify exclude each other");
    expect(error("--mode", "http-close", "--tls", "--ca=")).toBe("--ca needs a file");
    expect(error("--tls", "--tls-no-verify")).toBe("--tls is for --mode http-close and http-keepalive");
    expect(error("--mode", "http-keepalive", "--tls", "--ca")).toBe("--ca needs a value");
  });

  test("connectTls: the CA file's text, rejectUnauthorized false, or true (the system's roots)", async () => {
    const path = `/tmp/load-units-ca-${process.pid}.pem`;
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    await Bun.write(path, pem);
    try {
      expect(await connectTls({ caFile: path, verify: true })).toEqual({ ca: pem });
    } finally {
      await Bun.file(path).delete();
    }
    expect(await connectTls({ caFile: null, verify: false })).toEqual({ rejectUnauthorized: false });
    expect(await connectTls({ caFile: null, verify: true })).toBe(true);
    await expect(connectTls({ caFile: `/tmp/load-units-missing-${process.pid}.pem`, verify: true })).rejects.toThrow();
  });

  test("--mode ws --tls: the target becomes wss://, --ca and --tls-no-verify go on to bench/ws/load.ts", () => {
    expect(wsLoadArgs(["--mode", "ws", "--tls", "--target", "127.0.0.1:5", "--ca", "/tmp/c.pem"])).toEqual([
      "--target", "wss://127.0.0.1:5", "--ca", "/tmp/c.pem",
    ]);
    expect(wsLoadArgs(["--target=127.0.0.1:5", "--tls", "--mode=ws", "--tls-no-verify"])).toEqual([
      "--target=wss://127.0.0.1:5", "--tls-no-verify",
    ]);
    // A URL target is taken as given.
    expect(wsLoadArgs(["--mode", "ws", "--tls", "--target", "ws://127.0.0.1:5"])).toEqual(["--target", "ws://127.0.0.1:5"]);
  });

  test("ws load targets: wss:// allowed where asked (load.ts), loopback only either way", () => {
    expect(assertLoopbackUrl("wss://127.0.0.1:5", true).protocol).toBe("wss:");
    expect(assertLoopbackUrl("ws://[::1]:5", true).port).toBe("5");
    expect(() => assertLoopbackUrl("wss://127.0.0.1:5")).toThrow("only ws:// is supported");
    expect(() => assertLoopbackUrl("wss://10.0.0.1:5", true)).toThrow("loopback only");
    expect(() => assertLoopbackUrl("https://127.0.0.1:5", true)).toThrow("only ws:// and wss://");
    expect(() => assertLoopbackUrl("wss://127.0.0.1", true)).toThrow("give the port, wss://");
  });

  test("--write-whitelist alone needs no target", () => {
    const p = parseLoadArgs(["--write-whitelist", "/tmp/x", "--torrents", "520_000", "--seed", "3"]);
    expect(p).toEqual({ ok: true, options: null, writeWhitelist: { path: "/tmp/x", torrents: 520_000, seed: 3 } });
  });
});

describe("popularity", () => {
  test("Zipf is skewed: the first torrent is drawn far more than the median one", () => {
    const z = new ZipfSampler(1000, 1);
    const rng = new Rng(1);
    const counts = new Uint32Array(1000);
    for (let i = 0; i < 100_000; i++) counts[z.sample(rng)]!++;
    expect(counts[0]!).toBeGreaterThan(10_000);
    expect(counts[500]!).toBeLessThan(100);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(100_000);
  });

  test("a client starts, then announces regularly, completes or stops", () => {
    const pop = new Population(loadOptions(LOCAL, { clients: 10, torrents: 5, seeders: 0, stopChance: 0.3, completeChance: 0.3 }));
    expect(pop.planEvent(0)).toBe(EVENT_STARTED);
    pop.announced(0, EVENT_STARTED);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(pop.planEvent(0));
    expect([...seen].sort()).toEqual([EVENT_NONE, EVENT_COMPLETED, EVENT_STOPPED].sort());
    pop.announced(0, EVENT_COMPLETED);
    expect(pop.leftFor(0, EVENT_NONE)).toBe(0);
    pop.announced(0, EVENT_STOPPED);
    expect(pop.planEvent(0)).toBe(EVENT_STARTED);
  });

  test("scrapes name distinct torrents", () => {
    const pop = new Population(loadOptions(LOCAL, { torrents: 3, scrapeMax: 10 }));
    for (let i = 0; i < 50; i++) {
      const n = pop.planScrape();
      const set = new Set(pop.scrapeTorrents.subarray(0, n));
      expect(set.size).toBe(n);
      expect(n).toBeLessThanOrEqual(3);
    }
  });

  test("clients have distinct ports and Azureus-style peer_ids", () => {
    const pop = new Population(loadOptions(LOCAL, { clients: 1000 }));
    expect(new Set(pop.portOf).size).toBe(1000);
    expect(pop.peerIds.toString("latin1", 0, 8)).toBe("-LG0001-");
  });
});

describe("udp wire", () => {
  test("connect request layout", () => {
    const b = Buffer.alloc(16);
    expect(writeConnectRequest(b, 0xdeadbeef)).toBe(16);
    expect(b.toString("hex")).toBe("0000041727101980" + "00000000" + "deadbeef");
  });

  test("announce request layout", () => {
    const hashes = generateInfoHashes(2, 1);
    const ids = Buffer.alloc(40, 0x41);
    const b = Buffer.alloc(98);
    const n = writeAnnounceRequest(
      b,
      { connHi: 1, connLo: 2, txid: 3, torrent: 1, client: 1, left: 2 ** 40, event: 2, key: 9, numwant: -1, port: 6881 },
      hashes,
      ids,
    );
    expect(n).toBe(98);
    expect(b.readUInt32BE(0)).toBe(1);
    expect(b.readUInt32BE(4)).toBe(2);
    expect(b.readUInt32BE(8)).toBe(1);
    expect(b.readUInt32BE(12)).toBe(3);
    expect(b.subarray(16, 36).equals(hashes.subarray(20, 40))).toBe(true);
    expect(b.subarray(36, 56).equals(ids.subarray(20, 40))).toBe(true);
    expect(b.readBigUInt64BE(64)).toBe(2n ** 40n);
    expect(b.readUInt32BE(80)).toBe(2);
    expect(b.readInt32BE(92)).toBe(-1);
    expect(b.readUInt16BE(96)).toBe(6881);
  });

  test("scrape request layout", () => {
    const hashes = generateInfoHashes(3, 1);
    const b = Buffer.alloc(16 + 60);
    expect(writeScrapeRequest(b, 0, 0, 5, hashes, Int32Array.of(2, 0), 2)).toBe(56);
    expect(b.readUInt32BE(8)).toBe(2);
    expect(b.subarray(16, 36).equals(hashes.subarray(40, 60))).toBe(true);
    expect(b.subarray(36, 56).equals(hashes.subarray(0, 20))).toBe(true);
  });

  const announceReply = (peers: number, leechers: number, seeders: number, peerSize = 6): Buffer => {
    const b = Buffer.alloc(20 + peers * peerSize);
    b.writeUInt32BE(1, 0);
    b.writeUInt32BE(1800, 8);
    b.writeUInt32BE(leechers, 12);
    b.writeUInt32BE(seeders, 16);
    return b;
  };

  test.each([
    ["connect ok", Buffer.from("00000000000000070102030405060708", "hex"), 0, 0, 0],
    ["connect too long", Buffer.alloc(17), 0, 0, BAD_SIZE],
    ["short", Buffer.alloc(7), 1, 50, BAD_SHORT],
    ["announce 3 peers", announceReply(3, 2, 2), 1, 50, 3],
    ["announce over numwant", announceReply(3, 2, 2), 1, 2, BAD_COUNTS],
    ["announce more peers than the swarm", announceReply(3, 1, 1), 1, 50, BAD_COUNTS],
    ["announce ragged size", Buffer.concat([announceReply(1, 1, 1), Buffer.alloc(2)]), 1, 50, BAD_SIZE],
    ["scrape 2 ok", Buffer.concat([Buffer.from("0000000200000000", "hex"), Buffer.alloc(24)]), 2, 2, 0],
    ["scrape count off", Buffer.concat([Buffer.from("0000000200000000", "hex"), Buffer.alloc(12)]), 2, 2, BAD_SIZE],
    ["error", Buffer.from("0000000300000000626164", "hex"), 1, 50, TRACKER_ERROR],
    ["wrong action", announceReply(0, 0, 0), 2, 1, BAD_ACTION],
  ])("checkReply: %s", (_name, buf, action, expected, code) => {
    expect(checkReply(buf, action, expected, 6)).toBe(code);
  });

  test("checkReply: an IPv6 answer counts 18-byte peers", () => {
    expect(checkReply(announceReply(2, 1, 1, 18), 1, 50, 18)).toBe(2);
    expect(checkReply(announceReply(1, 1, 1, 6), 1, 50, 18)).toBe(BAD_SIZE);
  });

  test("checkReply never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: -1, max: 80 }), (bytes, action, expected) => {
        const r = checkReply(Buffer.from(bytes), action, expected, 6);
        expect(Number.isInteger(r)).toBe(true);
      }),
    );
  });
});

describe("bencode check", () => {
  const enc = (v: unknown): Uint8Array => bencode.encode(v);

  test("announce answer: interval and compact peers", () => {
    const b = enc({ complete: 1, incomplete: 2, interval: 1800, peers: Buffer.alloc(12) });
    const s = newSummary();
    expect(summarizeTrackerDict(b, 0, b.length, s)).toBe(true);
    expect(s.interval).toBe(1800);
    expect(s.peers).toBe(2);
    expect(s.failureStart).toBe(-1);
  });

  test("non-compact peers list", () => {
    const b = enc({ interval: 60, peers: [{ ip: "1.2.3.4", port: 1 }, { ip: "1.2.3.5", port: 2 }, { ip: "::1", port: 3 }] });
    const s = newSummary();
    expect(summarizeTrackerDict(b, 0, b.length, s)).toBe(true);
    expect(s.peers).toBe(3);
  });

  test("failure reason", () => {
    const b = enc({ "failure reason": "nope" });
    const s = newSummary();
    expect(summarizeTrackerDict(b, 0, b.length, s)).toBe(true);
    expect(Buffer.from(b.subarray(s.failureStart, s.failureEnd)).toString()).toBe("nope");
  });

  test("scrape files", () => {
    const files: Record<string, unknown> = {};
    files["a".repeat(20)] = { complete: 1, downloaded: 0, incomplete: 0 };
    files["b".repeat(20)] = { complete: 1, downloaded: 0, incomplete: 0 };
    const b = enc({ files });
    const s = newSummary();
    expect(summarizeTrackerDict(b, 0, b.length, s)).toBe(true);
    expect(s.files).toBe(2);
  });

  test.each(["", "de extra", "d5:peers", "l", "i3e", "d3:abci1e", "d8:intervali1e", "d8:intervalie5:peers0:e", "d99999999999:xe"])(
    "malformed %p is refused",
    (text) => {
      const b = new TextEncoder().encode(text);
      expect(summarizeTrackerDict(b, 0, b.length, newSummary())).toBe(false);
    },
  );

  test("agrees with the reference decoder on what is a dict, and never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        const ours = summarizeTrackerDict(bytes, 0, bytes.length, newSummary());
        if (ours) {
          const ref = bencode.decode(Buffer.from(bytes));
          expect(typeof ref).toBe("object");
        }
      }),
    );
  });
});

describe("http framing", () => {
  const bytes = (s: string): Uint8Array => {
    const out = new Uint8Array(4096);
    out.set(new TextEncoder().encode(s));
    return out;
  };

  test("Content-Length body, complete and incomplete", () => {
    const text = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nd1:ae";
    const b = bytes(text);
    const f = newFrame();
    frameResponse(b, text.length, false, f);
    expect(f.state).toBe(FRAME_COMPLETE);
    expect(f.status).toBe(200);
    expect(f.bodyEnd - f.bodyStart).toBe(5);
    expect(f.close).toBe(false);
    frameResponse(b, text.length - 1, false, f);
    expect(f.state).toBe(FRAME_INCOMPLETE);
    frameResponse(b, text.length - 1, true, f);
    expect(f.state).toBe(FRAME_BAD);
    frameResponse(b, 20, false, f);
    expect(f.state).toBe(FRAME_INCOMPLETE);
  });

  test("Connection: close and HTTP/1.0", () => {
    const f = newFrame();
    const a = "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n";
    frameResponse(bytes(a), a.length, false, f);
    expect(f.close).toBe(true);
    const b = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
    frameResponse(bytes(b), b.length, false, f);
    expect(f.close).toBe(true);
  });

  test("no Content-Length: the body ends with the connection", () => {
    const text = "HTTP/1.1 404 Not Found\r\n\r\nnope";
    const f = newFrame();
    frameResponse(bytes(text), text.length, false, f);
    expect(f.state).toBe(FRAME_INCOMPLETE);
    frameResponse(bytes(text), text.length, true, f);
    expect(f.state).toBe(FRAME_COMPLETE);
    expect(f.status).toBe(404);
  });

  test("chunked and garbage are bad", () => {
    const f = newFrame();
    const c = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nd1:ae\r\n0\r\n\r\n";
    frameResponse(bytes(c), c.length, false, f);
    expect(f.state).toBe(FRAME_BAD);
    const g = "SSH-2.0-OpenSSH\r\n\r\n";
    frameResponse(bytes(g), g.length, false, f);
    expect(f.state).toBe(FRAME_BAD);
  });

  test("never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (b, ended) => {
        const f = newFrame();
        frameResponse(b, b.length, ended, f);
        expect([FRAME_INCOMPLETE, FRAME_COMPLETE, FRAME_BAD]).toContain(f.state);
      }),
    );
  });
});

describe("http requests", () => {
  const pop = new Population(loadOptions(LOCAL, { torrents: 4, clients: 3 }));
  const decode = (b: Uint8Array, n: number): string => Buffer.from(b.subarray(0, n)).toString("latin1");
  const pctBytes = (s: string): Buffer => Buffer.from(s.replace(/%([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), "latin1");

  test("announce carries the client's info_hash, peer_id, port, left and event", () => {
    const w = new HttpRequestWriter(pop, "127.0.0.1", 6969, false, 50);
    const buf = new Uint8Array(2048);
    const text = decode(buf, w.writeAnnounce(buf, 1, EVENT_STARTED, 123));
    const m = /^GET \/announce\?info_hash=([^&]+)&peer_id=([^&]+)&port=(\d+)&uploaded=0&downloaded=0&left=123&compact=1&numwant=50&key=1&event=started HTTP\/1\.1\r\nHost: 127\.0\.0\.1:6969\r\nUser-Agent: [^\r]+\r\nConnection: close\r\n\r\n$/.exec(text);
    expect(m).not.toBeNull();
    const t = pop.torrentOf[1]!;
    expect(pctBytes(m![1]!).equals(pop.infoHashes.subarray(t * 20, t * 20 + 20))).toBe(true);
    expect(pctBytes(m![2]!).equals(pop.peerIds.subarray(20, 40))).toBe(true);
    expect(Number(m![3])).toBe(pop.portOf[1]!);
  });

  test("keep-alive requests have no Connection header; regular announces no event", () => {
    const w = new HttpRequestWriter(pop, "::1", 80, true, -1);
    const buf = new Uint8Array(2048);
    const text = decode(buf, w.writeAnnounce(buf, 0, EVENT_NONE, 0));
    expect(text).not.toContain("Connection");
    expect(text).not.toContain("event=");
    expect(text).not.toContain("numwant");
    expect(text).toContain("Host: [::1]:80\r\n");
  });

  test("scrape lists every info_hash", () => {
    const w = new HttpRequestWriter(pop, "127.0.0.1", 1, false, 50);
    const buf = new Uint8Array(2048);
    const text = decode(buf, w.writeScrape(buf, Int32Array.of(3, 0), 2));
    expect(text.startsWith("GET /scrape?info_hash=%")).toBe(true);
    expect(text.match(/info_hash=/g)?.length).toBe(2);
  });

  test.each([0, 7, 10, 99, 65535, 1_000_000_000, 2 ** 53 - 1])("writeDecimal %d", (n) => {
    const b = new Uint8Array(32);
    expect(decode(b, writeDecimal(b, 0, n))).toBe(String(n));
  });
});

describe("latency histogram", () => {
  test("percentiles are within 2% and never above the max", () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.record(i);
    expect(Math.abs(h.percentile(50) - 5000) / 5000).toBeLessThan(0.02);
    expect(Math.abs(h.percentile(99) - 9900) / 9900).toBeLessThan(0.02);
    expect(h.percentile(100)).toBeLessThanOrEqual(10_000);
    h.reset();
    expect(h.percentile(50)).toBe(0);
    h.record(3);
    expect(h.percentile(99)).toBe(3);
  });
});
