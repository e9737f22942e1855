/**
 * Micro-benchmarks of the HTTP-side codecs (mitata).
 * Run: npx bun run bench/codec.bench.ts   (a few seconds)
 *
 * Workload: every HTTP announce is parseAnnounceQuery on req.url, parseAddress on the socket
 * address, then one bencoded answer written into a preallocated buffer. A typical answer is a
 * dict of five integers and 50 compact IPv4 peers (300 bytes). All of these should allocate
 * nothing per call (mitata prints heap bytes per iteration: expect ~0 b); formatAddress, used
 * only for compact=0 answers, builds a string and is here for comparison.
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import {
  encodeAscii,
  writeBytes,
  writeFailure,
  writeInt,
  writeRaw,
} from "../src/protocol/bencode.ts";
import { formatAddress, parseAddress } from "../src/protocol/compact.ts";
import { writeAnnounceHead } from "../src/protocol/http-answer.ts";
import { AnnounceQuery, ScrapeQuery, parseAnnounceQuery, parseScrapeQuery } from "../src/protocol/http-query.ts";

// --- writing an announce answer ---------------------------------------------------------------

const END = encodeAscii("e");

const out = new Uint8Array(4096);
const peers = new Uint8Array(50 * 6).map((_, i) => (i * 37 + 11) & 0xff);
let seeders = 1234;

/** An announce answer as the server writes it: the shared head, the compact peers, the end. */
function writeAnnounceAnswer(): number {
  let o = writeAnnounceHead(out, seeders++ & 0xffff, 98765, 321, 1800, 900);
  o = writeBytes(out, o, peers, 0, peers.length);
  return writeRaw(out, o, END);
}

summary(() => {
  group("bencode writer", () => {
    bench("announce answer (5 ints + 50 IPv4 peers, 401 B)", () => do_not_optimize(writeAnnounceAnswer()));
    bench("writeInt(1800)", () => do_not_optimize(writeInt(out, 0, 1800)));
    bench("writeInt(2^53-1)", () => do_not_optimize(writeInt(out, 0, Number.MAX_SAFE_INTEGER)));
    bench("writeFailure (29 chars)", () => do_not_optimize(writeFailure(out, 0, "invalid info_hash: bad length")));
  });
});

// --- parsing queries ----------------------------------------------------------------------------

const pct = (b: Uint8Array) => Array.from(b, (x) => "%" + x.toString(16).padStart(2, "0")).join("");
const hash = new Uint8Array(20).map((_, i) => (i * 41 + 7) & 0xff);

// What qBittorrent / libtorrent sends: unreserved bytes raw, the rest escaped.
const realistic =
  "http://tracker.example.org:6969/announce?info_hash=%9a%81%ef%c6%1f%aa%f3%97%1e%e8%ac%d8%1e%04%9ey%bb%05%7fE" +
  "&peer_id=-qB4650-k8hj0wgej6ch&port=51413&uploaded=0&downloaded=0&left=1572864000&corrupt=0" +
  "&key=1A2B3C4D&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0";
const realisticStart = realistic.indexOf("?") + 1;
const allEscaped = `http://t/announce?info_hash=${pct(hash)}&peer_id=${pct(hash)}&port=6881&uploaded=123456789&downloaded=987654321&left=0&compact=1`;
const allEscapedStart = allEscaped.indexOf("?") + 1;
const bad = "http://t/announce?info_hash=%zz";
const q = new AnnounceQuery();

const scrapeUrl = "http://t/scrape?" + Array.from({ length: 10 }, (_, k) => `info_hash=${pct(hash.map((b) => b ^ (k * 29)))}`).join("&");
const sq = new ScrapeQuery(64);

summary(() => {
  group("query parsing", () => {
    bench("parseAnnounceQuery (realistic qBittorrent query)", () =>
      do_not_optimize(parseAnnounceQuery(realistic, realisticStart, q)),
    );
    bench("parseAnnounceQuery (every byte escaped)", () =>
      do_not_optimize(parseAnnounceQuery(allEscaped, allEscapedStart, q)),
    );
    bench("parseAnnounceQuery (malformed escape: error)", () => do_not_optimize(parseAnnounceQuery(bad, 18, q)));
    bench("parseScrapeQuery (10 hashes)", () => do_not_optimize(parseScrapeQuery(scrapeUrl, 16, sq)));
  });
});

// --- addresses ----------------------------------------------------------------------------------

const rec = new Uint8Array(18);
group("compact addresses", () => {
  bench('parseAddress("::ffff:203.0.113.77")', () => do_not_optimize(parseAddress("::ffff:203.0.113.77", rec, 0)));
  bench('parseAddress("203.0.113.77")', () => do_not_optimize(parseAddress("203.0.113.77", rec, 0)));
  bench('parseAddress("2001:db8:85a3::8a2e:370:7334")', () =>
    do_not_optimize(parseAddress("2001:db8:85a3::8a2e:370:7334", rec, 0)),
  );
  bench("formatAddress(IPv6) (compact=0 only)", () => do_not_optimize(formatAddress(rec, 0, 6)));
});

await run();
