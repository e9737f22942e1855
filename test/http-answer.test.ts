import { describe, expect, test } from "bun:test";
import bencode from "bencode";
import { writeBytes, writeRaw } from "../src/protocol/bencode.ts";
import { K_FILES, K_PEERS6, writeAnnounceHead, writeScrapeCounts } from "../src/protocol/http-answer.ts";

const E = new Uint8Array([0x65]);

describe("HTTP answer writers", () => {
  test("an announce answer (head + peers + peers6) is the reference encoding of the same dict", () => {
    const out = new Uint8Array(1024);
    const peers = new Uint8Array(12).map((_, i) => i * 17);
    const peers6 = new Uint8Array(18).map((_, i) => 255 - i);
    let o = writeAnnounceHead(out, 3, 7, 0, 1799, 900);
    o = writeBytes(out, o, peers, 0, peers.length);
    o = writeRaw(out, o, K_PEERS6);
    o = writeBytes(out, o, peers6, 0, peers6.length);
    o = writeRaw(out, o, E);
    const reference = bencode.encode({ complete: 3, downloaded: 7, incomplete: 0, interval: 1799, "min interval": 900, peers, peers6 });
    expect(Array.from(out.subarray(0, o))).toEqual(Array.from(reference));
  });

  test("a scrape answer is the reference encoding", () => {
    const out = new Uint8Array(1024);
    const h1 = new Uint8Array(20).fill(0x01);
    const h2 = new Uint8Array(20).fill(0xfe);
    let o = writeRaw(out, 0, K_FILES);
    o = writeBytes(out, o, h1, 0, 20);
    o = writeScrapeCounts(out, o, 1, 2, 3);
    o = writeBytes(out, o, h2, 0, 20);
    o = writeScrapeCounts(out, o, 0, 0, 0);
    o = writeRaw(out, o, E);
    o = writeRaw(out, o, E);
    const d = bencode.decode(out.subarray(0, o));
    const entries = Object.values(d.files) as { complete: number; downloaded: number; incomplete: number }[];
    expect(entries).toEqual([{ complete: 1, downloaded: 2, incomplete: 3 }, { complete: 0, downloaded: 0, incomplete: 0 }]);
    expect(Buffer.from(out.subarray(0, 12)).toString("latin1")).toBe("d5:filesd20:");
  });
});
