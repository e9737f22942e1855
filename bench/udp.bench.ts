/**
 * Micro-benchmarks of the BEP 15 codec and the connection ids (mitata).
 * Run: npx bun run bench/udp.bench.ts   (a few seconds)
 *
 * Workload: the hot path of a UDP tracker is parse -> check connection id -> write answer,
 * once per datagram. Everything here must allocate nothing per call (mitata prints the heap
 * bytes per iteration: expect ~0 b).
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import {
  UdpRequest,
  parseUdpRequest,
  writeAnnounceHeader,
  writeConnectResponse,
  writeErrorResponse,
  writeScrapeEntry,
  writeScrapeHeader,
} from "../src/protocol/udp.ts";
import { ConnectionIds } from "../src/server/connection-id.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// The receive buffer a server would reuse, with one packet of each kind copied in.
const connect = hex("0000041727101980 00000000 12345678");
const announce = hex(
  "1122334455667788 00000001 deadbeef" +
    "0102030405060708090a0b0c0d0e0f1011121314" + // info_hash
    "2d5452333030302d6162636465666768696a6b6c" + // peer_id
    "0000000000100000 0000000000200000 0000000000000000" + // downloaded, left, uploaded
    "00000002 00000000 cafebabe ffffffff 1ae1", // event, ip, key, num_want, port
);
const announce109 = Buffer.concat([announce, hex("0209"), Buffer.from("/announce")]);
const scrape10 = Buffer.concat([hex("1122334455667788 00000002 0badf00d"), Buffer.alloc(200, 0xab)]);
const junk = hex("1122334455667788 000000ab 0badf00d 00000000");

const req = new UdpRequest();
const out = Buffer.alloc(1500);
let tid = 1;

group("parseUdpRequest", () => {
  bench("connect (16 B)", () => do_not_optimize(parseUdpRequest(connect, connect.length, req, 74)));
  bench("announce (98 B)", () => do_not_optimize(parseUdpRequest(announce, announce.length, req, 74)));
  bench("announce + BEP 41 URLData (109 B)", () => do_not_optimize(parseUdpRequest(announce109, announce109.length, req, 74)));
  bench("scrape, 10 hashes (216 B)", () => do_not_optimize(parseUdpRequest(scrape10, scrape10.length, req, 74)));
  bench("junk (unknown action: drop)", () => do_not_optimize(parseUdpRequest(junk, junk.length, req, 74)));
});

group("write*", () => {
  bench("writeConnectResponse", () => do_not_optimize(writeConnectResponse(out, tid++ >>> 0, 0x89abcdef, 0x01234567)));
  bench("writeAnnounceHeader", () => do_not_optimize(writeAnnounceHeader(out, tid++ >>> 0, 1800, 12, 34)));
  bench("writeScrapeHeader + 10 entries", () => {
    let n = writeScrapeHeader(out, tid++ >>> 0);
    for (let i = 0; i < 10; i++) n = writeScrapeEntry(out, n, i, 100 + i, 2 * i);
    do_not_optimize(n);
  });
  bench("writeErrorResponse (17 chars)", () => do_not_optimize(writeErrorResponse(out, tid++ >>> 0, "bad connection id", 98)));
});

const ids = new ConnectionIds("");
const v4 = Uint8Array.from([192, 0, 2, 33]);
const v6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21]);
const now = 1_700_000_000;
ids.make(v4, 0, 4, now);
const v4hi = ids.hi, v4lo = ids.lo;
ids.make(v6, 0, 16, now);
const v6hi = ids.hi, v6lo = ids.lo;

summary(() => {
  group("ConnectionIds (SipHash-2-4)", () => {
    bench("make IPv4", () => {
      ids.make(v4, 0, 4, now);
      do_not_optimize(ids.lo);
    });
    bench("make IPv6", () => {
      ids.make(v6, 0, 16, now);
      do_not_optimize(ids.lo);
    });
    bench("check IPv4 (valid)", () => do_not_optimize(ids.check(v4, 0, 4, v4hi, v4lo, now)));
    bench("check IPv6 (valid)", () => do_not_optimize(ids.check(v6, 0, 16, v6hi, v6lo, now)));
    bench("check IPv4 (forged)", () => do_not_optimize(ids.check(v4, 0, 4, v4hi ^ 1, v4lo, now)));
  });
});

await run();
