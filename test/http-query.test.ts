import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  EVENT_COMPLETED,
  EVENT_NONE,
  EVENT_PAUSED,
  EVENT_STARTED,
  EVENT_STOPPED,
  type AnnounceEvent,
} from "../src/protocol/events.ts";
import {
  AnnounceQuery,
  NUMWANT_CLAMP,
  ScrapeQuery,
  parseAnnounceQuery,
  parseScrapeQuery,
} from "../src/protocol/http-query.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const PREFIX = "http://tracker.example:6969/announce?";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (...values: number[]) => new Uint8Array(values);
const seq = (from: number, n = 20) => new Uint8Array(n).map((_, i) => (from + i) & 0xff);

const UNRESERVED = /[A-Za-z0-9\-._~]/;
type Style = "lower" | "upper" | "mixed";

/** Percent-encodes bytes: every byte as %hh (lower or upper case), or unreserved bytes raw. */
function pct(b: Uint8Array, style: Style = "lower"): string {
  let s = "";
  for (const byte of b) {
    const ch = String.fromCharCode(byte);
    if (style === "mixed" && UNRESERVED.test(ch)) s += ch;
    else {
      const h = byte.toString(16).padStart(2, "0");
      s += "%" + (style === "upper" ? h.toUpperCase() : h);
    }
  }
  return s;
}

const HASH = seq(0xf0); // crosses 0xff -> 0x00
const PEER = new Uint8Array(Buffer.from("-qB4650-abcdefghijkl"));
const BASE = `info_hash=${pct(HASH)}&peer_id=${pct(PEER, "mixed")}&port=6881`;

/** Parses PREFIX + query with a fresh AnnounceQuery. */
function announce(query: string): { err: string | null; q: AnnounceQuery } {
  const q = new AnnounceQuery();
  const url = PREFIX + query;
  return { err: parseAnnounceQuery(url, PREFIX.length, q), q };
}

function expectError(query: string, mentions: string): void {
  const { err } = announce(query);
  expect(err).toBeString();
  expect(err!).toContain(mentions);
}

// ---------------------------------------------------------------------------------------------

describe("parseAnnounceQuery: success", () => {
  test("a typical announce", () => {
    const { err, q } = announce(
      `${BASE}&uploaded=1024&downloaded=2048&left=4096&event=started&compact=1&numwant=80&key=1A2B3C4D&supportcrypto=1&corrupt=0`,
    );
    expect(err).toBeNull();
    expect(q.infoHash).toEqual(HASH);
    expect(q.peerId).toEqual(PEER);
    expect(q.hasPeerId).toBe(true);
    expect(q.port).toBe(6881);
    expect(q.uploaded).toBe(1024);
    expect(q.downloaded).toBe(2048);
    expect(q.left).toBe(4096);
    expect(q.leftIsZero).toBe(false);
    expect(q.event).toBe(EVENT_STARTED);
    expect(q.compact).toBe(true);
    expect(q.noPeerId).toBe(false);
    expect(q.numwant).toBe(80);
  });

  test("only the required parameters: documented defaults", () => {
    const { err, q } = announce(BASE);
    expect(err).toBeNull();
    expect(q.uploaded).toBe(0);
    expect(q.downloaded).toBe(0);
    expect(q.left).toBe(0);
    expect(q.leftIsZero).toBe(true);
    expect(q.event).toBe(EVENT_NONE);
    expect(q.compact).toBe(true);
    expect(q.noPeerId).toBe(false);
    expect(q.numwant).toBe(-1);
  });

  test("parameters in any order; unknown ones (even malformed) ignored", () => {
    const { err, q } = announce(
      `ip=%zz&port=51413&trackerid=&left=0&peer_id=${pct(PEER)}&x&&=&info_hash=${pct(HASH, "upper")}&ipv6=%`,
    );
    expect(err).toBeNull();
    expect(q.port).toBe(51413);
    expect(q.infoHash).toEqual(HASH);
  });

  test("queryStart is honoured: a '?' or '&' before it is not part of the query", () => {
    const url = `http://h/announce?port=1&x?${BASE}`;
    const q = new AnnounceQuery();
    expect(parseAnnounceQuery(url, url.lastIndexOf("?") + 1, q)).toBeNull();
    expect(q.port).toBe(6881);
  });

  test("the AnnounceQuery is reset between parses", () => {
    const q = new AnnounceQuery();
    const full = `${PREFIX}${BASE}&uploaded=5&downloaded=6&left=7&event=stopped&compact=0&no_peer_id=1&numwant=3&key=k`;
    expect(parseAnnounceQuery(full, PREFIX.length, q)).toBeNull();
    expect(q.compact).toBe(false);
    const short = PREFIX + BASE;
    expect(parseAnnounceQuery(short, PREFIX.length, q)).toBeNull();
    const fresh = new AnnounceQuery();
    parseAnnounceQuery(short, PREFIX.length, fresh);
    expect({ ...q }).toEqual({ ...fresh });
    // And a failed parse leaves no stale success behind.
    expect(parseAnnounceQuery(PREFIX, PREFIX.length, q)).toBe("missing info_hash");
    expect(q.hasPeerId).toBe(false);
  });

  test("a repeated scalar parameter: the last one wins", () => {
    const other = seq(7);
    const { err, q } = announce(`${BASE}&port=1&port=2&event=started&event=&info_hash=${pct(other)}&left=0&left=9`);
    expect(err).toBeNull();
    expect(q.port).toBe(2);
    expect(q.event).toBe(EVENT_NONE);
    expect(q.infoHash).toEqual(other);
    expect(q.left).toBe(9);
    expect(q.leftIsZero).toBe(false);
  });
});

describe("parseAnnounceQuery: info_hash and peer_id bytes", () => {
  // 13 hashes of 20 bytes cover every byte value 0x00..0xFF (the last one wraps).
  const chunks = Array.from({ length: 13 }, (_, k) => seq(k * 20));
  for (const style of ["lower", "upper", "mixed"] as const) {
    test(`every byte value 0x00-0xFF, ${style} escapes`, () => {
      for (const chunk of chunks) {
        const { err, q } = announce(`info_hash=${pct(chunk, style)}&peer_id=${pct(chunk.toReversed(), style)}&port=1`);
        expect(err).toBeNull();
        expect(hex(q.infoHash)).toBe(hex(chunk));
        expect(hex(q.peerId)).toBe(hex(chunk.toReversed()));
      }
    });
  }

  test("raw characters are their own bytes: '+' is 0x2B, not a space; '#', '!', '*' pass through", () => {
    const peerText = "-TR4050-+#!*'()~._ab";
    const { err, q } = announce(`info_hash=${pct(HASH)}&peer_id=${peerText}&port=1`);
    expect(err).toBeNull();
    expect(Buffer.from(q.peerId).toString("latin1")).toBe(peerText);
    expect(q.peerId[8]).toBe(0x2b);
  });

  test("Latin-1 characters (U+0080..U+00FF) are their byte; anything above is refused", () => {
    const text = "\u00e9".repeat(20);
    const { err, q } = announce(`info_hash=${text}&peer_id=${pct(PEER)}&port=1`);
    expect(err).toBeNull();
    expect(q.infoHash).toEqual(new Uint8Array(20).fill(0xe9));
    expectError(`info_hash=${"\u20ac".repeat(20)}&peer_id=${pct(PEER)}&port=1`, "info_hash");
    expectError(`info_hash=${pct(HASH)}&peer_id=${"\u{1f600}".repeat(10)}&port=1`, "peer_id");
  });

  test.each([
    ["19 bytes", pct(seq(0, 19))],
    ["21 bytes", pct(seq(0, 21))],
    ["empty", ""],
    ["1000 bytes", pct(seq(0, 1000))],
  ])("info_hash of %s is refused", (_, value) => {
    expectError(`info_hash=${value}&peer_id=${pct(PEER)}&port=1`, "info_hash");
    expectError(`info_hash=${pct(HASH)}&peer_id=${value}&port=1`, "peer_id");
  });

  test("a name without '=' has an empty value", () => {
    expectError(`info_hash&peer_id=${pct(PEER)}&port=1`, "invalid info_hash");
  });

  test("parameter names are case-sensitive", () => {
    expect(announce(`INFO_HASH=${pct(HASH)}&peer_id=${pct(PEER)}&port=1`).err).toBe("missing info_hash");
    expect(announce(`info_hash=${pct(HASH)}&Peer_id=${pct(PEER)}&port=1`).err).toBe("missing peer_id");
    expect(announce(`info_hash=${pct(HASH)}&peer_id=${pct(PEER)}&PORT=1`).err).toBe("missing port");
  });

  test.each([
    ["%G1", "%G1" + pct(seq(0, 19))],
    ["%1G", pct(seq(0, 19)) + "%1G"],
    ["%1 at the end", pct(seq(0, 19)) + "%1"],
    ["% at the end", pct(seq(0, 19)) + "%"],
    ["%% ", "%%" + pct(seq(0, 19))],
  ])("malformed escape (%s) is an error naming the parameter", (_, value) => {
    expect(announce(`info_hash=${value}&peer_id=${pct(PEER)}&port=1`).err).toBe(
      "invalid info_hash: malformed percent-escape",
    );
    expect(announce(`info_hash=${pct(HASH)}&port=1&peer_id=${value}`).err).toBe(
      "invalid peer_id: malformed percent-escape",
    );
  });

  test("an escape cut short by '&' is malformed (the '&' is not a hex digit)", () => {
    expect(announce(`info_hash=${pct(seq(0, 19))}%4&peer_id=${pct(PEER)}&port=1`).err).toBe(
      "invalid info_hash: malformed percent-escape",
    );
  });

  test.each([
    ["info_hash", "missing info_hash", `peer_id=${pct(PEER)}&port=1`],
    ["peer_id", "missing peer_id", `info_hash=${pct(HASH)}&port=1`],
    ["port", "missing port", `info_hash=${pct(HASH)}&peer_id=${pct(PEER)}`],
    ["everything", "missing info_hash", ""],
  ])("missing %s", (_, message, query) => {
    expect(announce(query).err).toBe(message);
  });

  test("no query at all (queryStart = url.length)", () => {
    const url = "http://h/announce";
    expect(parseAnnounceQuery(url, url.length, new AnnounceQuery())).toBe("missing info_hash");
  });

  test("property: random hashes and peer ids in random escape styles decode exactly", () => {
    const style = fc.constantFrom<Style>("lower", "upper", "mixed");
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        style,
        style,
        fc.integer({ min: 1, max: 65535 }),
        (hash, peer, s1, s2, port) => {
          const { err, q } = announce(`peer_id=${pct(peer, s2)}&info_hash=${pct(hash, s1)}&port=${port}`);
          expect(err).toBeNull();
          expect(hex(q.infoHash)).toBe(hex(hash));
          expect(hex(q.peerId)).toBe(hex(peer));
          expect(q.port).toBe(port);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("parseAnnounceQuery: numbers", () => {
  test.each([
    ["1", 1],
    ["6881", 6881],
    ["65535", 65535],
    ["006881", 6881],
    ["%36%38%38%31", 6881],
  ])("port=%p -> %p", (value, port) => {
    const { err, q } = announce(`info_hash=${pct(HASH)}&peer_id=${pct(PEER)}&port=${value}`);
    expect(err).toBeNull();
    expect(q.port).toBe(port);
  });

  test.each(["0", "65536", "99999999999999999999999", "", "-1", "+1", "1.0", "0x10", " 1", "6881 ", "abc"])(
    "port=%p is refused",
    (value) => {
      expect(announce(`info_hash=${pct(HASH)}&peer_id=${pct(PEER)}&port=${value}`).err).toBe(
        "invalid port: it must be a decimal number from 1 to 65535",
      );
    },
  );

  test("port with a malformed escape", () => {
    expect(announce(`${BASE}&port=%3`).err).toBe("invalid port: malformed percent-escape");
  });

  for (const name of ["uploaded", "downloaded", "left"] as const) {
    test.each([
      ["0", 0],
      ["000", 0],
      ["1", 1],
      ["9007199254740991", 9007199254740991],
      ["9007199254740993", 9007199254740992], // above 2^53: rounded, not wrapped
      ["4294967296", 4294967296],
      ["18446744073709551615", 18446744073709551615], // 2^64-1, the largest accepted
      ["0000000000000000000000018446744073709551615", 18446744073709551615],
      ["18446744073709551614", 18446744073709551614],
      ["9999999999999999999", 9999999999999999999],
      ["%31%32", 12],
    ])(`${name}=%p is accepted`, (value, expected) => {
      const { err, q } = announce(`${BASE}&${name}=${value}`);
      expect(err).toBeNull();
      expect(q[name]).toBe(expected);
    });

    test.each([
      "18446744073709551616", // 2^64: the same double as 2^64-1, so the bound is checked on digits
      "18446744073709551620",
      "19000000000000000000",
      "99999999999999999999",
      "100000000000000000000",
      "-1",
      "+1",
      "-0",
      "",
      "1.5",
      "1e3",
      " 1",
      "1 ",
      "0x1F",
      "１", // full-width digit one
    ])(`${name}=%p is refused`, (value) => {
      expect(announce(`${BASE}&${name}=${value}`).err).toBe(
        `invalid ${name}: it must be a decimal number from 0 to 18446744073709551615`,
      );
    });

    test(`${name} with a malformed escape`, () => {
      expect(announce(`${BASE}&${name}=1%2`).err).toBe(`invalid ${name}: malformed percent-escape`);
    });

    test(`${name} without '=' is refused as empty`, () => {
      expectError(`${BASE}&${name}`, `invalid ${name}`);
    });
  }

  test.each([
    ["0", true],
    ["00000000000000000000000000", true],
    ["1", false],
    ["000001", false],
    ["18446744073709551615", false],
    ["100000000000000000", false],
  ])("leftIsZero is exact: left=%p -> %p", (value, zero) => {
    const { err, q } = announce(`${BASE}&left=${value}`);
    expect(err).toBeNull();
    expect(q.leftIsZero).toBe(zero);
  });

  test("property: any decimal up to 2^64-1 is accepted, anything above refused", () => {
    const max = (1n << 64n) - 1n;
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 70n }), fc.nat(3), (n, zeros) => {
        const text = "0".repeat(zeros) + n.toString();
        const { err, q } = announce(`${BASE}&left=${text}&uploaded=${text}`);
        if (n <= max) {
          expect(err).toBeNull();
          expect(q.left).toBe(Number(n));
          expect(q.uploaded).toBe(Number(n));
          expect(q.leftIsZero).toBe(n === 0n);
        } else {
          expect(err).toContain("invalid left");
        }
      }),
      { numRuns: 2000 },
    );
  });

  test.each([
    ["0", 0],
    ["50", 50],
    ["200", 200],
    ["2147483647", NUMWANT_CLAMP],
    ["2147483648", NUMWANT_CLAMP],
    ["18446744073709551615", NUMWANT_CLAMP],
    ["99999999999999999999999999", NUMWANT_CLAMP], // huge: clamped, not an error
    ["-1", -1], // negative means "default", as in opentracker
    ["-99999999999999999999999999", -1],
  ])("numwant=%p -> %p", (value, numwant) => {
    const { err, q } = announce(`${BASE}&numwant=${value}`);
    expect(err).toBeNull();
    expect(q.numwant).toBe(numwant);
  });

  test.each(["", "-", "abc", "1.5", "+5", "--1", "5x"])("numwant=%p is refused", (value) => {
    expect(announce(`${BASE}&numwant=${value}`).err).toBe("invalid numwant: it must be a decimal number");
  });

  test("numwant with a malformed escape", () => {
    expect(announce(`${BASE}&numwant=%zz`).err).toBe("invalid numwant: malformed percent-escape");
  });
});

describe("parseAnnounceQuery: event, compact, no_peer_id, key", () => {
  test.each([
    ["started", EVENT_STARTED],
    ["completed", EVENT_COMPLETED],
    ["stopped", EVENT_STOPPED],
    ["paused", EVENT_PAUSED],
    ["", EVENT_NONE],
    ["%73%74%61%72%74%65%64", EVENT_STARTED],
  ] as [string, AnnounceEvent][])("event=%p", (value, event) => {
    const { err, q } = announce(`${BASE}&event=${value}`);
    expect(err).toBeNull();
    expect(q.event).toBe(event);
  });

  test("event without '=' is empty, i.e. none", () => {
    const { err, q } = announce(`${BASE}&event`);
    expect(err).toBeNull();
    expect(q.event).toBe(EVENT_NONE);
  });

  test.each(["Started", "STOPPED", "start", "completedd", "completed-and-more", "none", "0", "2", " started"])(
    "event=%p is refused",
    (value) => {
      expect(announce(`${BASE}&event=${value}`).err).toBe(
        "invalid event: it must be started, completed, stopped, paused or empty",
      );
    },
  );

  test("event with a malformed escape", () => {
    expect(announce(`${BASE}&event=start%e`).err).toBe("invalid event: malformed percent-escape");
  });

  test.each([
    ["1", true],
    ["0", false],
    ["%30", false],
  ])("compact=%p -> %p", (value, compact) => {
    const { err, q } = announce(`${BASE}&compact=${value}`);
    expect(err).toBeNull();
    expect(q.compact).toBe(compact);
  });

  test.each(["", "2", "true", "01", "00"])("compact=%p is refused", (value) => {
    expect(announce(`${BASE}&compact=${value}`).err).toBe("invalid compact: it must be 0 or 1");
  });

  test("compact with a malformed escape", () => {
    expect(announce(`${BASE}&compact=%`).err).toBe("invalid compact: malformed percent-escape");
  });

  test.each([
    ["1", true],
    ["0", false],
    ["", false],
    ["yes", false],
    ["%31", true],
  ])("no_peer_id=%p -> %p", (value, noPeerId) => {
    const { err, q } = announce(`${BASE}&no_peer_id=${value}`);
    expect(err).toBeNull();
    expect(q.noPeerId).toBe(noPeerId);
  });

  test("no_peer_id with a malformed escape", () => {
    expect(announce(`${BASE}&no_peer_id=%1`).err).toBe("invalid no_peer_id: malformed percent-escape");
  });

  test("key is not read: any value, even a malformed one, is ignored like other unknown parameters", () => {
    for (const value of ["1A2B3C4D", "%g0", "\u0100", ""]) expect(announce(`${BASE}&key=${value}`).err).toBeNull();
  });
});

describe("parseAnnounceQuery: robustness", () => {
  const queryish = fc.string({
    unit: fc.oneof(
      fc.constantFrom(
        "info_hash=",
        "peer_id=",
        "port=",
        "uploaded=",
        "downloaded=",
        "left=",
        "event=",
        "compact=",
        "no_peer_id=",
        "numwant=",
        "key=",
        "&",
        "=",
        "%",
        "%4",
        "%ff",
        "%G",
        "+",
        "-",
        "0",
        "1",
        "9",
        "started",
        "\u0100",
      ),
      fc.string({ unit: "binary", maxLength: 3 }),
    ),
    maxLength: 40,
  });

  test("property: never throws on any string and any queryStart; null means a complete announce", () => {
    fc.assert(
      fc.property(fc.oneof(queryish, fc.string({ unit: "binary", maxLength: 200 })), fc.integer({ min: -5, max: 300 }), (s, start) => {
        const q = new AnnounceQuery();
        const err = parseAnnounceQuery(s, start, q);
        if (err === null) {
          expect(q.hasPeerId).toBe(true);
          expect(q.port >= 1 && q.port <= 65535).toBe(true);
          expect(q.uploaded >= 0 && q.downloaded >= 0 && q.left >= 0).toBe(true);
        } else {
          expect(err).toBeString();
          expect(err.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 5000 },
    );
  });

  test("property: valid announces with junk appended still parse (junk in unknown parameters)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (junk) => {
        const safe = junk.replace(/&/g, ""); // keep the junk inside one unknown parameter
        expect(announce(`${BASE}&zz=${safe}`).err).toBeNull();
      }),
      { numRuns: 1000 },
    );
  });

  test("a long query of empty and unknown segments is handled in linear time", () => {
    const junk = "&".repeat(50_000) + "x".repeat(50_000) + "&a".repeat(50_000);
    expect(announce(junk + "&" + BASE).err).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

describe("parseScrapeQuery", () => {
  const SCRAPE = "http://tracker.example:6969/scrape?";
  function scrape(query: string, max = 10): { err: string | null; q: ScrapeQuery; list: string[] } {
    const q = new ScrapeQuery(max);
    const err = parseScrapeQuery(SCRAPE + query, SCRAPE.length, q);
    const list: string[] = [];
    for (let i = 0; i < q.count; i++) list.push(hex(q.hashes.subarray(i * 20, i * 20 + 20)));
    return { err, q, list };
  }

  test("no info_hash: count 0 and no error (the server decides about full scrapes)", () => {
    expect(scrape("")).toMatchObject({ err: null, list: [] });
    expect(scrape("foo=bar&&")).toMatchObject({ err: null, list: [] });
    const url = "http://h/scrape";
    const q = new ScrapeQuery(4);
    expect(parseScrapeQuery(url, url.length, q)).toBeNull();
    expect(q.count).toBe(0);
  });

  test("one hash, every byte value over 13 hashes", () => {
    for (let k = 0; k < 13; k++) {
      const h = seq(k * 20);
      expect(scrape(`info_hash=${pct(h, "mixed")}`)).toMatchObject({ err: null, list: [hex(h)] });
    }
  });

  test("sorted by raw bytes ascending, de-duplicated across escape styles", () => {
    const a = bytes(...new Array(20).fill(0x00));
    const b = seq(0x00);
    const c = bytes(0x7f, ...new Array(19).fill(0xff));
    const d = bytes(0x80, ...new Array(19).fill(0x00));
    const e = new Uint8Array(20).fill(0xff);
    const query = [e, c, a, d, b, c, a, e]
      .map((h, i) => `info_hash=${pct(h, (["lower", "upper", "mixed"] as const)[i % 3])}`)
      .join("&");
    const { err, list } = scrape(`peer_id=x&${query}&port=1`);
    expect(err).toBeNull();
    expect(list).toEqual([a, b, c, d, e].map(hex));
  });

  test("the cap counts distinct hashes only; past it the parse stops and says so in `asked`", () => {
    // Whether too many is refused is the rules' decision (test/tracker-rules.test.ts has the
    // failure reason): the parse only keeps its work bounded and reports what it saw.
    const hs = [seq(1), seq(2), seq(3), seq(4)];
    expect(scrape(hs.slice(0, 3).map((h) => `info_hash=${pct(h)}`).join("&"), 3).list).toHaveLength(3);
    const withDupes = [...hs.slice(0, 3), ...hs.slice(0, 3)].map((h) => `info_hash=${pct(h)}`).join("&");
    expect(scrape(withDupes, 3)).toMatchObject({ err: null });
    expect(scrape(withDupes, 3).q.asked).toBe(3);
    const tooMany = hs.map((h) => `info_hash=${pct(h)}`).join("&");
    expect(scrape(tooMany, 3).err).toBeNull();
    expect(scrape(tooMany, 3).q.asked).toBe(4);
    expect(scrape(tooMany, 3).q.count).toBe(3);
    // Stops at the first hash past the cap: even a malformed one after it is not read.
    expect(scrape(`${tooMany}&info_hash=bad`, 3)).toMatchObject({ err: null });
    expect(scrape(`info_hash=${pct(HASH)}`, 0).q.asked).toBe(1);
    expect(scrape("", 0).err).toBeNull();
    expect(scrape("", 0).q.asked).toBe(0);
  });

  test.each([
    ["19 bytes", pct(seq(0, 19)), "invalid info_hash: it must be 20 bytes, percent-encoded"],
    ["21 bytes", pct(seq(0, 21)), "invalid info_hash: it must be 20 bytes, percent-encoded"],
    ["empty", "", "invalid info_hash: it must be 20 bytes, percent-encoded"],
    ["%G1", "%G1" + pct(seq(0, 19)), "invalid info_hash: malformed percent-escape"],
    ["%1 at the end", pct(seq(0, 19)) + "%1", "invalid info_hash: malformed percent-escape"],
  ])("a bad info_hash (%s) is an error", (_, value, message) => {
    expect(scrape(`info_hash=${pct(HASH)}&info_hash=${value}`).err).toBe(message);
  });

  test("the ScrapeQuery is reusable: count restarts at 0", () => {
    const q = new ScrapeQuery(5);
    parseScrapeQuery(`${SCRAPE}info_hash=${pct(seq(1))}&info_hash=${pct(seq(2))}`, SCRAPE.length, q);
    expect(q.count).toBe(2);
    parseScrapeQuery(`${SCRAPE}info_hash=${pct(seq(9))}`, SCRAPE.length, q);
    expect(q.count).toBe(1);
    expect(hex(q.hashes.subarray(0, 20))).toBe(hex(seq(9)));
  });

  test("property: the result is the sorted set of distinct hashes, or past the cap asked = cap + 1", () => {
    // Few distinct first bytes so duplicates and shared prefixes are common.
    const hash = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 19, maxLength: 19 }), fc.boolean()).map(
      ([first, rest, zeroRest]) => bytes(first, ...(zeroRest ? new Uint8Array(19) : rest)),
    );
    fc.assert(
      fc.property(fc.array(hash, { maxLength: 30 }), fc.integer({ min: 0, max: 20 }), (hs, max) => {
        const query = hs.map((h, i) => `info_hash=${pct(h, i % 2 ? "upper" : "mixed")}`).join("&");
        const { err, list, q } = scrape(query, max);
        const expected = [...new Set(hs.map(hex))].sort();
        expect(err).toBeNull();
        if (expected.length <= max) {
          expect(list).toEqual(expected);
          expect(q.asked).toBe(expected.length);
        } else {
          expect(q.asked).toBe(max + 1);
          expect(list).toHaveLength(max);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test("property: never throws on any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), fc.integer({ min: -5, max: 300 }), (s, start) => {
        const q = new ScrapeQuery(4);
        const err = parseScrapeQuery(s, start, q);
        expect(err === null || typeof err === "string").toBe(true);
        expect(q.count >= 0 && q.count <= 4).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  test("constructor refuses a bad maxHashes at start-up", () => {
    expect(() => new ScrapeQuery(-1)).toThrow(RangeError);
    expect(() => new ScrapeQuery(1.5)).toThrow(RangeError);
  });
});
