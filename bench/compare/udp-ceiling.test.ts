/**
 * The UDP ceiling (udp-ceiling.ts) as the comparison runs it: its own process on 127.0.0.1
 * (port 0, the bound port read from its first line), spoken to over real UDP on loopback.
 * Checks that its answers are well-formed BEP 15 with the right transaction ids and sizes
 * (what the load generator validates), that junk gets no answer, and that a non-loopback
 * host is refused. Every wait is bounded.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO_ROOT } from "./servers.ts";

const SCRIPT = join(REPO_ROOT, "bench/compare/udp-ceiling.ts");
const REPLY_WAIT_MS = 2000;
const SILENCE_MS = 300;

let proc: Bun.Subprocess<"ignore", "pipe", "pipe"> | null = null;
let client: Bun.udp.ConnectedSocket<"buffer"> | null = null;
const replies: Buffer[] = [];
let wake: () => void = () => {};

/** The first stdout line of the process, within timeoutMs. */
async function firstLine(p: Bun.Subprocess<"ignore", "pipe", "pipe">, timeoutMs: number): Promise<string> {
  const reader = p.stdout.getReader();
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return text.split("\n")[0]!;
}

/** The next reply, or null after waitMs. */
async function nextReply(waitMs: number): Promise<Buffer | null> {
  const deadline = performance.now() + waitMs;
  while (replies.length === 0) {
    const left = deadline - performance.now();
    if (left <= 0) return null;
    await new Promise<void>((res) => {
      const t = setTimeout(res, left);
      wake = () => {
        clearTimeout(t);
        res();
      };
    });
  }
  return replies.shift()!;
}

async function ask(packet: Buffer): Promise<Buffer> {
  client!.send(packet);
  const reply = await nextReply(REPLY_WAIT_MS);
  if (reply === null) throw new Error("no answer");
  return reply;
}

function connectRequest(txid: number): Buffer {
  const b = Buffer.alloc(16);
  b.write("0000041727101980", 0, "hex");
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(txid, 12);
  return b;
}

function announceRequest(connId: Buffer, txid: number, numwant: number): Buffer {
  const b = Buffer.alloc(98);
  connId.copy(b, 0);
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(txid, 12);
  b.fill(0xab, 16, 36); // info_hash
  b.write("-TEST00-000000000000", 36, "latin1");
  b.writeUInt32BE(2, 80); // started
  b.writeInt32BE(numwant, 92);
  b.writeUInt16BE(6881, 96);
  return b;
}

function scrapeRequest(connId: Buffer, txid: number, hashes: number): Buffer {
  const b = Buffer.alloc(16 + 20 * hashes, 0xcd);
  connId.copy(b, 0);
  b.writeUInt32BE(2, 8);
  b.writeUInt32BE(txid, 12);
  return b;
}

beforeAll(async () => {
  proc = Bun.spawn([process.execPath, "run", SCRIPT, "0", "--host", "127.0.0.1"], {
    cwd: REPO_ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const line = await firstLine(proc, 10_000);
  const m = /^udp-ceiling listening on 127\.0\.0\.1:(\d+)$/.exec(line);
  if (!m) throw new Error(`unexpected first line: "${line}"`);
  client = await Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    binaryType: "buffer",
    connect: { hostname: "127.0.0.1", port: Number(m[1]) },
    socket: {
      data(_s, buf) {
        replies.push(Buffer.from(buf));
        wake();
      },
      error() {},
    },
  });
});

afterAll(async () => {
  client?.close();
  if (proc && proc.exitCode === null) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
});

describe("udp-ceiling", () => {
  let connId = Buffer.alloc(8);

  test("connect: 16 bytes, action 0, the transaction id, a connection id", async () => {
    const r = await ask(connectRequest(0x1234_5678));
    expect(r.length).toBe(16);
    expect(r.readUInt32BE(0)).toBe(0);
    expect(r.readUInt32BE(4)).toBe(0x1234_5678);
    connId = Buffer.from(r.subarray(8, 16));
  });

  test("announce: numwant 10 gives 10 peers, -1 gives 50, 0 gives none, more than 50 gives 50", async () => {
    for (const [numwant, peers, txid] of [[10, 10, 0xa1], [-1, 50, 0xa2], [0, 0, 0xa3], [200, 50, 0xffff_fffe]] as const) {
      const r = await ask(announceRequest(connId, txid, numwant));
      expect(r.length).toBe(20 + 6 * peers);
      expect(r.readUInt32BE(0)).toBe(1);
      expect(r.readUInt32BE(4)).toBe(txid);
      expect(r.readUInt32BE(8)).toBe(1800);
      expect(r.readUInt32BE(12) + r.readUInt32BE(16)).toBeGreaterThanOrEqual(peers); // leechers + seeders
      if (peers > 0) expect(r.readUInt32BE(20)).toBe(0x7f00_0002); // 127.0.0.2
    }
  });

  test("scrape: 3 hashes give 8 + 12 * 3 bytes", async () => {
    const r = await ask(scrapeRequest(connId, 0xbeef, 3));
    expect(r.length).toBe(44);
    expect(r.readUInt32BE(0)).toBe(2);
    expect(r.readUInt32BE(4)).toBe(0xbeef);
    expect(r.subarray(8).every((b) => b === 0)).toBe(true);
  });

  test("junk gets no answer", async () => {
    const badMagic = connectRequest(0x51);
    badMagic.writeUInt32BE(0x418, 0);
    const unknownAction = connectRequest(0x52);
    unknownAction.writeUInt32BE(7, 8);
    const shortAnnounce = announceRequest(connId, 0x53, 10).subarray(0, 97);
    const shortScrape = scrapeRequest(connId, 0x54, 1).subarray(0, 35);
    for (const junk of [Buffer.alloc(0), Buffer.from("hello"), Buffer.alloc(15), badMagic, unknownAction, shortAnnounce, shortScrape]) {
      client!.send(junk);
    }
    // Nothing within SILENCE_MS, and then a proper connect is the first thing answered: replies
    // leave in order, so any answer to the junk would have come before it.
    expect(await nextReply(SILENCE_MS)).toBeNull();
    const r = await ask(connectRequest(0x55));
    expect(r.readUInt32BE(4)).toBe(0x55);
    expect(await nextReply(SILENCE_MS)).toBeNull();
  });

  test("a non-loopback host is refused before any socket is opened", async () => {
    const p = Bun.spawn([process.execPath, "run", SCRIPT, "0", "--host", "0.0.0.0"], {
      cwd: REPO_ROOT,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const killer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
    clearTimeout(killer);
    expect(code).toBe(2);
    expect(err).toContain("refusing non-loopback host");
  });
});
