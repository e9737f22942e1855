import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { EVENT_COMPLETED, EVENT_NONE, EVENT_STARTED, EVENT_STOPPED } from "../src/protocol/events.ts";
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_SCRAPE,
  PARSE_DROP,
  PARSE_ERROR,
  PARSE_OK,
  PROTOCOL_ID_HI,
  PROTOCOL_ID_LO,
  UdpRequest,
  parseUdpRequest,
  writeAnnounceHeader,
  writeConnectResponse,
  writeErrorResponse,
  writeScrapeEntry,
  writeScrapeHeader,
  readUrlData,
} from "../src/protocol/udp.ts";

/** Hex with spaces/newlines allowed, for readable golden packets. */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ""), "hex");
}

const INFO_HASH = "0102030405060708090a0b0c0d0e0f1011121314";
const PEER_ID = "2d5452333030302d6162636465666768696a6b6c"; // "-TR3000-abcdefghijkl"

/** A 98-byte announce; `event`, `numWant`, `port` as 8/8/4 hex digits. */
function announce(opts: { event?: string; numWant?: string; port?: string; left?: string; tail?: string } = {}): Buffer {
  return hex(
    "0000041727101980" + // 0  connection_id (any value: the server checks it, not the parser)
      "00000001" + //        8  action = announce
      "deadbeef" + //        12 transaction_id
      INFO_HASH + //         16 info_hash
      PEER_ID + //           36 peer_id
      "0000000100000002" + // 56 downloaded = 2^32 + 2
      (opts.left ?? "0000000000000000") + // 64 left
      "ffffffffffffffff" + // 72 uploaded = 2^64 - 1
      (opts.event ?? "00000002") + // 80 event (2 = started)
      "0a000001" + //        84 ip (ignored)
      "cafebabe" + //        88 key
      (opts.numWant ?? "ffffffff") + // 92 num_want = -1
      (opts.port ?? "1ae1") + // 96 port = 6881
      (opts.tail ?? ""), //  98 BEP 41 options
  );
}

function parse(buf: Buffer, req = new UdpRequest(), max = 74): { r: number; req: UdpRequest } {
  return { r: parseUdpRequest(buf, buf.length, req, max), req };
}

describe("connect", () => {
  test("golden request parses", () => {
    const buf = hex(
      "0000041727101980" + // 0  protocol_id 0x41727101980
        "00000000" + //        8  action = connect
        "12345678", //         12 transaction_id
    );
    const { r, req } = parse(buf);
    expect(r).toBe(PARSE_OK);
    expect(req.action).toBe(ACTION_CONNECT);
    expect(req.transactionId).toBe(0x12345678);
    expect(req.connIdHi).toBe(PROTOCOL_ID_HI);
    expect(req.connIdLo).toBe(PROTOCOL_ID_LO);
  });

  test("trailing bytes are allowed", () => {
    expect(parse(hex("0000041727101980 00000000 12345678 00000000")).r).toBe(PARSE_OK);
  });

  test.each([
    ["wrong protocol id", "0000041727101981 00000000 12345678"],
    ["zero protocol id", "0000000000000000 00000000 12345678"],
    ["15 bytes", "0000041727101980 00000000 123456"],
    ["unknown action 4", "0000041727101980 00000004 12345678"],
    ["error action from a client", "0000041727101980 00000003 12345678"],
  ])("%s -> drop", (_name, packet) => {
    expect(parse(hex(packet)).r).toBe(PARSE_DROP);
  });

  test("golden response", () => {
    const out = Buffer.alloc(64);
    const n = writeConnectResponse(out, 0x12345678, 0x89abcdef, 0x01234567);
    expect(n).toBe(16);
    expect(out.subarray(0, n).toString("hex")).toBe(
      "00000000" + // 0  action = connect
        "12345678" + // 4  transaction_id
        "89abcdef01234567", // 8  connection_id
    );
  });
});

describe("announce", () => {
  test("golden request parses every field", () => {
    const { r, req } = parse(announce());
    expect(r).toBe(PARSE_OK);
    expect(req.action).toBe(ACTION_ANNOUNCE);
    expect(req.connIdHi).toBe(0x417);
    expect(req.connIdLo).toBe(0x27101980);
    expect(req.transactionId).toBe(0xdeadbeef);
    const buf = announce();
    expect(buf.subarray(req.infoHashOff, req.infoHashOff + 20).toString("hex")).toBe(INFO_HASH);
    expect(buf.subarray(req.peerIdOff, req.peerIdOff + 20).toString("latin1")).toBe("-TR3000-abcdefghijkl");
    expect(req.downloaded).toBe(2 ** 32 + 2);
    expect(req.left).toBe(0);
    expect(req.leftIsZero).toBe(true);
    expect(req.uploaded).toBe(2 ** 64); // 2^64-1 rounded to the nearest double: never wraps to 0 or -1
    expect(req.event).toBe(EVENT_STARTED);
    expect(req.numWant).toBe(-1);
    expect(req.port).toBe(6881);
  });

  test("left: huge values stay positive, and only an exact zero is a seeder", () => {
    let p = parse(announce({ left: "0000000100000000" })).req; // 2^32: low word zero
    expect(p.left).toBe(2 ** 32);
    expect(p.leftIsZero).toBe(false);
    p = parse(announce({ left: "8000000000000000" })).req;
    expect(p.left).toBe(2 ** 63);
    expect(p.leftIsZero).toBe(false);
    p = parse(announce({ left: "0000000000000001" })).req;
    expect(p.leftIsZero).toBe(false);
  });

  test.each([
    ["00000000", EVENT_NONE],
    ["00000001", EVENT_COMPLETED],
    ["00000002", EVENT_STARTED],
    ["00000003", EVENT_STOPPED],
  ])("BEP 15 event %s maps to our event %d", (wire, ours) => {
    const { r, req } = parse(announce({ event: wire }));
    expect(r).toBe(PARSE_OK);
    expect(req.event as number).toBe(ours);
  });

  test.each(["00000004", "00000100", "ffffffff"])("event %s -> error 'unknown event'", (wire) => {
    const { r, req } = parse(announce({ event: wire }));
    expect(r).toBe(PARSE_ERROR);
    expect(req.error).toBe("unknown event");
    expect(req.transactionId).toBe(0xdeadbeef); // so the error can be addressed
  });

  test.each([
    ["ffffffff", -1], // BEP 15's "default"
    ["80000000", -1], // >= 2^31: default too
    ["fffffffe", -1],
    ["00000000", 0],
    ["00000032", 50],
    ["7fffffff", 0x7fffffff],
  ])("num_want %s -> %d", (wire, want) => {
    expect(parse(announce({ numWant: wire })).req.numWant).toBe(want);
  });

  test("port 0 and 65535 pass through", () => {
    expect(parse(announce({ port: "0000" })).req.port).toBe(0);
    expect(parse(announce({ port: "ffff" })).req.port).toBe(65535);
  });

  test("97 bytes -> drop", () => {
    const buf = announce().subarray(0, 97);
    expect(parse(Buffer.from(buf)).r).toBe(PARSE_DROP);
  });

  test("len smaller than the buffer: only len bytes are used", () => {
    const buf = Buffer.concat([announce(), Buffer.from([2, 3, 0x41, 0x42, 0x43])]);
    const req = new UdpRequest();
    expect(parseUdpRequest(buf, 97, req, 74)).toBe(PARSE_DROP);
    expect(parseUdpRequest(buf, 98, req, 74)).toBe(PARSE_OK);
    expect(parseUdpRequest(buf, 103, req, 74)).toBe(PARSE_OK);
  });

  test("len larger than the buffer is clamped, not read past", () => {
    const req = new UdpRequest();
    expect(parseUdpRequest(announce(), 5000, req, 74)).toBe(PARSE_OK);
    expect(parseUdpRequest(announce().subarray(0, 50), 98, req, 74)).toBe(PARSE_DROP);
  });

  test("golden response header", () => {
    const out = Buffer.alloc(64);
    const n = writeAnnounceHeader(out, 0xdeadbeef, 1800, 3, 7);
    expect(n).toBe(20);
    expect(out.subarray(0, n).toString("hex")).toBe(
      "00000001" + // 0  action = announce
        "deadbeef" + // 4  transaction_id
        "00000708" + // 8  interval = 1800
        "00000003" + // 12 leechers
        "00000007", //  16 seeders
    );
  });

  test("counts outside u32 are clamped, never thrown", () => {
    const out = Buffer.alloc(20);
    writeAnnounceHeader(out, 1, 2 ** 40, -5, Number.NaN);
    expect(out.subarray(8).toString("hex")).toBe("ffffffff" + "00000000" + "00000000");
  });
});

// BEP 41 options are allowed after the 98-byte announce and not read (URL data carries a
// private tracker's key; this tracker has none yet). What matters is that real clients' packets
// with options are served.
describe("BEP 41 options", () => {
  const url = (s: string) => Buffer.from(s, "latin1").toString("hex");
  const lenByte = (n: number) => n.toString(16).padStart(2, "0");
  const urlOpt = (s: string) => "02" + lenByte(s.length) + url(s);

  test("a 100-byte announce (two trailing zero bytes, as some clients send) is OK", () => {
    const buf = announce({ tail: "0000" });
    expect(buf.length).toBe(100);
    expect(parse(buf).r).toBe(PARSE_OK);
  });

  test("a 109-byte announce (URLData '/announce', as libtorrent sends) is OK", () => {
    const buf = announce({ tail: urlOpt("/announce") });
    expect(buf.length).toBe(109);
    expect(parse(buf).r).toBe(PARSE_OK);
  });

  test.each([
    ["split URL data", urlOpt("/ann") + urlOpt("ounce?passkey=abc")],
    ["NOPs", "01" + "01" + urlOpt("/a") + "01" + urlOpt("/b")],
    ["EndOfOptions", urlOpt("/a") + "00" + urlOpt("/b")],
    ["an empty URLData option", "0200" + urlOpt("/x")],
    ["a truncated option", urlOpt("/a") + "02" + "10" + url("/short")],
    ["a lone type byte", urlOpt("/a") + "02"],
    ["an unknown option type", urlOpt("/a") + "07" + "02" + "4142"],
  ])("options with %s: the announce is still served", (_, tail) => {
    const { r, req } = parse(announce({ tail }));
    expect(r).toBe(PARSE_OK);
    expect(req.port).toBe(6881);
  });
});

describe("BEP 41 URL data (readUrlData)", () => {
  const url = (s: string) => Buffer.from(s, "latin1").toString("hex");
  const lenByte = (n: number) => n.toString(16).padStart(2, "0");
  const urlOpt = (s: string) => "02" + lenByte(s.length) + url(s);
  const data = (buf: Buffer, capacity = 1500) => {
    const out = new Uint8Array(capacity);
    return Buffer.from(out.subarray(0, readUrlData(buf, buf.length, out))).toString("latin1");
  };

  test("a 100-byte announce (two trailing zero bytes, as some clients send) has none, and parses", () => {
    const buf = announce({ tail: "0000" });
    expect(buf.length).toBe(100);
    expect(parse(buf).r).toBe(PARSE_OK);
    expect(data(buf)).toBe("");
  });

  test("a 109-byte announce (URLData '/announce', as libtorrent sends)", () => {
    const buf = announce({ tail: urlOpt("/announce") });
    expect(buf.length).toBe(109);
    expect(parse(buf).r).toBe(PARSE_OK);
    expect(data(buf)).toBe("/announce");
  });

  test("a passkey URL split in two options is concatenated", () => {
    expect(data(announce({ tail: urlOpt("/AbCd-_0123456789abcdefghijklmnop") + urlOpt("/announce?x=1") }))).toBe(
      "/AbCd-_0123456789abcdefghijklmnop/announce?x=1",
    );
  });

  test("NOPs are skipped", () => {
    expect(data(announce({ tail: "01" + "01" + urlOpt("/a") + "01" + urlOpt("/b") }))).toBe("/a/b");
  });

  test("EndOfOptions stops reading", () => {
    expect(data(announce({ tail: urlOpt("/a") + "00" + urlOpt("/b") }))).toBe("/a");
  });

  test("an empty URLData option is fine", () => {
    expect(data(announce({ tail: "0200" + urlOpt("/x") }))).toBe("/x");
  });

  test("a truncated option stops reading and keeps what came before", () => {
    const truncated = "02" + "10" + url("/short"); // says 16 bytes, carries 6
    expect(data(announce({ tail: urlOpt("/a") + truncated }))).toBe("/a");
  });

  test("a lone URLData type byte at the very end is ignored", () => {
    expect(data(announce({ tail: urlOpt("/a") + "02" }))).toBe("/a");
  });

  test("an unknown option type stops reading", () => {
    expect(data(announce({ tail: urlOpt("/a") + "07" + "02" + "4142" + urlOpt("/b") }))).toBe("/a");
  });

  test("URL data beyond the output's capacity stops reading", () => {
    expect(data(announce({ tail: urlOpt("/ab") + urlOpt("cdef") }), 4)).toBe("/ab");
  });

  test("a plain 98-byte announce has none", () => {
    expect(data(announce())).toBe("");
  });
});

describe("scrape", () => {
  const H1 = "11".repeat(20);
  const H2 = "22".repeat(20);
  const H3 = "33".repeat(20);
  const scrape = (...hashes: string[]) =>
    hex(
      "1122334455667788" + // 0  connection_id
        "00000002" + //        8  action = scrape
        "0badf00d" + //        12 transaction_id
        hashes.join(""), //    16 info_hash * n
    );

  test("golden request with three hashes", () => {
    const buf = scrape(H1, H2, H3);
    const { r, req } = parse(buf);
    expect(r).toBe(PARSE_OK);
    expect(req.action).toBe(ACTION_SCRAPE);
    expect(req.transactionId).toBe(0x0badf00d);
    expect(req.connIdHi).toBe(0x11223344);
    expect(req.connIdLo).toBe(0x55667788);
    expect(req.scrapeCount).toBe(3);
    const at = (i: number) => buf.subarray(req.scrapeHashOff + 20 * i, req.scrapeHashOff + 20 * i + 20).toString("hex");
    expect([at(0), at(1), at(2)]).toEqual([H1, H2, H3]);
  });

  test("no hash (16 bytes) or a partial one (35 bytes) -> drop", () => {
    expect(parse(scrape()).r).toBe(PARSE_DROP);
    expect(parse(scrape("11".repeat(19))).r).toBe(PARSE_DROP);
  });

  test("a trailing partial hash is ignored", () => {
    const { r, req } = parse(scrape(H1, H2, "33".repeat(7)));
    expect(r).toBe(PARSE_OK);
    expect(req.scrapeCount).toBe(2);
  });

  test("hashes beyond the cap are ignored", () => {
    const { r, req } = parse(scrape(H1, H2, H3), new UdpRequest(), 2);
    expect(r).toBe(PARSE_OK);
    expect(req.scrapeCount).toBe(2);
  });

  test("golden response", () => {
    const out = Buffer.alloc(64);
    let n = writeScrapeHeader(out, 0x0badf00d);
    expect(n).toBe(8);
    n = writeScrapeEntry(out, n, 5, 100, 2);
    expect(n).toBe(20);
    n = writeScrapeEntry(out, n, 0, 2 ** 33, 1);
    expect(n).toBe(32);
    expect(out.subarray(0, n).toString("hex")).toBe(
      "00000002" + // 0  action = scrape
        "0badf00d" + // 4  transaction_id
        "00000005" + // 8  seeders   (hash 1)
        "00000064" + // 12 completed (hash 1)
        "00000002" + // 16 leechers  (hash 1)
        "00000000" + // 20 seeders   (hash 2)
        "ffffffff" + // 24 completed (hash 2): 2^33 clamped to u32
        "00000001", //  28 leechers  (hash 2)
    );
  });
});

describe("error", () => {
  test("golden response", () => {
    const out = Buffer.alloc(200);
    const n = writeErrorResponse(out, 0xdeadbeef, "bad connection id", 98);
    expect(out.subarray(0, n).toString("hex")).toBe(
      "00000003" + // 0  action = error
        "deadbeef" + // 4  transaction_id
        Buffer.from("bad connection id").toString("hex"), // 8  message, no terminator
    );
  });

  test("the message is cut so the packet is never larger than maxLen", () => {
    const out = Buffer.alloc(200);
    expect(writeErrorResponse(out, 1, "bad connection id", 16)).toBe(16);
    expect(out.subarray(8, 16).toString("latin1")).toBe("bad conn");
    expect(writeErrorResponse(out, 1, "x", 8)).toBe(8);
    expect(writeErrorResponse(out, 1, "x", 7)).toBe(0); // not even the header fits: send nothing
    expect(writeErrorResponse(out, 1, "x", -1)).toBe(0);
    expect(writeErrorResponse(Buffer.alloc(10), 1, "a long message", 100)).toBe(10); // fits `out`
  });

  test("non-ASCII characters become '?'", () => {
    const out = Buffer.alloc(64);
    const n = writeErrorResponse(out, 1, "café ✓", 64);
    expect(out.subarray(8, n).toString("latin1")).toBe("caf? ?");
  });

  test("property: length is min(8 + message length, maxLen) or 0, never more", () => {
    const out = Buffer.alloc(1500);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: -10, max: 2000 }), (msg, maxLen) => {
        const n = writeErrorResponse(out, 7, msg, maxLen);
        const cap = Math.min(maxLen, out.length);
        expect(n).toBe(cap < 8 ? 0 : Math.min(8 + msg.length, cap));
      }),
    );
  });
});

describe("never throws on network input", () => {
  // xorshift32: a seeded PRNG, so a failure reproduces.
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const fill = (b: Buffer, from: number) => {
    for (let i = from; i < b.length; i++) b[i] = rand() & 0xff;
  };
  const VALID = [PARSE_OK, PARSE_DROP, PARSE_ERROR];

  const headers: [string, Buffer][] = [
    ["random", Buffer.alloc(0)],
    ["connect header", hex("0000041727101980 00000000 00000001")],
    ["announce header", hex("0000000000000001 00000001 00000001")],
    ["scrape header", hex("0000000000000001 00000002 00000001")],
    ["announce with event 0 and BEP 41 region", announce({ event: "00000000" }).subarray(0, 98)],
  ];

  test.each(headers)("%s: every length 0..1500", (_name, header) => {
    const req = new UdpRequest();
    const buf = Buffer.alloc(1500);
    for (let len = 0; len <= 1500; len++) {
      for (let rep = 0; rep < 4; rep++) {
        fill(buf, 0);
        header.copy(buf, 0, 0, Math.min(len, header.length));
        const r = parseUdpRequest(buf, len, req, 74);
        expect(VALID).toContain(r);
        // A complete valid fixed part is never rejected, whatever follows it.
        if (header.length === 98 && len >= 98) expect(r).toBe(PARSE_OK);
        if (header.length === 16 && header[11] === ACTION_CONNECT && len >= 16) expect(r).toBe(PARSE_OK);
        if (r === PARSE_OK && req.action === ACTION_SCRAPE) {
          expect(req.scrapeHashOff + 20 * req.scrapeCount).toBeLessThanOrEqual(len);
          expect(req.scrapeCount).toBeLessThanOrEqual(74);
        }
        if (r === PARSE_OK && req.action === ACTION_ANNOUNCE) {
          expect(req.downloaded).toBeGreaterThanOrEqual(0);
          expect(req.numWant).toBeGreaterThanOrEqual(-1);
        }
      }
    }
  });

  test("property (fast-check): any bytes, any length claim", () => {
    const req = new UdpRequest();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), fc.integer({ min: -5, max: 2000 }), fc.integer({ min: -1, max: 100 }), (bytes, len, max) => {
        const r = parseUdpRequest(Buffer.from(bytes), len, req, max);
        expect(VALID).toContain(r);
      }),
      { numRuns: 2000 },
    );
  });

  test("property (fast-check): a valid announce header with arbitrary options always parses", () => {
    const req = new UdpRequest();
    const base = announce({ event: "00000001" });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), (tail) => {
        const buf = Buffer.concat([base, tail]);
        expect(parseUdpRequest(buf, buf.length, req, 74)).toBe(PARSE_OK);
        expect(req.event).toBe(EVENT_COMPLETED);
      }),
      { numRuns: 2000 },
    );
  });
});
