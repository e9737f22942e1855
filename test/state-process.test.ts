/**
 * The state file and the signals, on the real entry point (`bun run src/main.ts`) with real
 * signals and real files in a temporary directory: SIGTERM then a restart gives back the same
 * peers and exactly the same counts over HTTP and UDP; a corrupt or truncated file gives one
 * clear line and a running tracker; SIGUSR1 writes the file, SIGUSR2 is ignored, SIGHUP reloads
 * the live settings (and keeps the running ones when the new file does not validate).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capture, exitWithin, killChildren, startTrackerProcess, until, type RunningTracker } from "./support/child.ts";
import { announceUrl, bytes20, compactPeers, getBencoded, pct } from "./support/tracker.ts";
import { announcePacket, readAnnounceAnswer, scrapePacket, UdpClient } from "./support/udp-client.ts";

const dir = mkdtempSync(join(tmpdir(), "sc6-state-proc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killChildren);
const TEST_TIMEOUT = 30_000;

const A = bytes20(0xa1);
const B = bytes20(0xb2);

/** Counts of A and B as HTTP and UDP scrapes see them: [complete, downloaded, incomplete] each. */
async function scrapeBoth(t: RunningTracker): Promise<{ http: number[][]; udp: number[][] }> {
  const s = await getBencoded(`http://127.0.0.1:${t.port}/scrape?info_hash=${pct(A)}&info_hash=${pct(B)}`);
  const files = Object.values(s.files) as { complete: number; downloaded: number; incomplete: number }[];
  // Keys are sorted by raw bytes: A (0xa1...) before B (0xb2...).
  const http = files.map((f) => [f.complete, f.downloaded, f.incomplete]);
  const c = await UdpClient.open("127.0.0.1", t.port);
  try {
    const id = await c.connect();
    const r = await c.request(scrapePacket(id, [A, B]));
    const udp = [0, 1].map((i) => [r.readUInt32BE(8 + 12 * i), r.readUInt32BE(12 + 12 * i), r.readUInt32BE(16 + 12 * i)]);
    return { http, udp };
  } finally {
    c.close();
  }
}

describe("state file across a restart", () => {
  test("SIGTERM writes it; the next start gives back the same peers and exactly the same counts, over HTTP and UDP", async () => {
    const path = join(dir, "restart.state");
    const args = ["--quiet", "--state-file", path, "--state-interval", "0"];
    const first = await startTrackerProcess(args);
    const base = `http://127.0.0.1:${first.port}`;
    // HTTP: torrent A gets a completed seeder, a leecher, a peer that leaves.
    await getBencoded(announceUrl(base, { infoHash: A, port: 1001, left: "0", event: "completed" }));
    await getBencoded(announceUrl(base, { infoHash: A, port: 1002, left: "5" }));
    await getBencoded(announceUrl(base, { infoHash: A, port: 1003, left: "5" }));
    await getBencoded(announceUrl(base, { infoHash: A, port: 1003, left: "5", event: "stopped" }));
    // UDP: torrent B gets a completed seeder and two leechers.
    const c = await UdpClient.open("127.0.0.1", first.port);
    try {
      const id = await c.connect();
      await c.request(announcePacket({ connId: id, infoHash: B, port: 2001, left: 0n, event: 1 }));
      await c.request(announcePacket({ connId: id, infoHash: B, port: 2002 }));
      await c.request(announcePacket({ connId: id, infoHash: B, port: 2003 }));
    } finally {
      c.close();
    }
    const before = await scrapeBoth(first);
    expect(before.http).toEqual([[1, 1, 1], [1, 1, 2]]);
    expect(before.udp).toEqual(before.http);

    first.proc.kill("SIGTERM");
    expect(await exitWithin(first.proc, 10_000)).toBe(0);
    expect(existsSync(path)).toBe(true);

    const second = await startTrackerProcess(args);
    const after = await scrapeBoth(second);
    expect(after).toEqual(before);
    // The same peers: a newcomer to A is answered with exactly the two that were there.
    const r = await getBencoded(announceUrl(`http://127.0.0.1:${second.port}`, { infoHash: A, port: 1009, extra: "numwant=50" }));
    expect(compactPeers(r.peers, 6).sort()).toEqual(["127.0.0.1:1001", "127.0.0.1:1002"]);
    // And B's over UDP.
    const u = await UdpClient.open("127.0.0.1", second.port);
    try {
      const id = await u.connect();
      const a = readAnnounceAnswer(await u.request(announcePacket({ connId: id, infoHash: B, port: 2009 })));
      expect(compactPeers(a.peers, 6).sort()).toEqual(["127.0.0.1:2001", "127.0.0.1:2002", "127.0.0.1:2003"]);
      // The restored peer's `completed` was counted: sending it again counts nothing.
      await u.request(announcePacket({ connId: id, infoHash: B, port: 2001, left: 0n, event: 1 }));
    } finally {
      u.close();
    }
    expect((await scrapeBoth(second)).udp[1]).toEqual([1, 1, 3]);
    second.proc.kill("SIGTERM");
    expect(await exitWithin(second.proc, 10_000)).toBe(0);
  }, TEST_TIMEOUT);

  test.each([
    ["corrupt", (b: Buffer) => { b[b.length - 40] = b[b.length - 40]! ^ 0xff; return b; }, /checksum mismatch/],
    ["truncated", (b: Buffer) => b.subarray(0, b.length - 10), /truncated/],
  ])("a %s file: one clear line, moved aside, and the tracker runs (empty)", async (_, spoil, reason) => {
    const path = join(dir, `spoiled-${_}.state`);
    const args = ["--quiet", "--state-file", path, "--state-interval", "0"];
    const first = await startTrackerProcess(args);
    await getBencoded(announceUrl(`http://127.0.0.1:${first.port}`, { infoHash: A, port: 1001 }));
    first.proc.kill("SIGTERM");
    expect(await exitWithin(first.proc, 10_000)).toBe(0);
    writeFileSync(path, spoil(Buffer.from(await Bun.file(path).arrayBuffer())));

    const second = await startTrackerProcess(args);
    const stderr = capture(second.proc.stderr);
    const after = await scrapeBoth(second);
    expect(after.http).toEqual([[0, 0, 0], [0, 0, 0]]); // empty: nothing half-restored
    expect(after.udp).toEqual(after.http);
    await until("the warning", () => stderr.text.includes("unusable"));
    expect(stderr.text).toMatch(new RegExp(`state: ${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is unusable \\(`));
    expect(stderr.text).toMatch(reason);
    expect(stderr.text).toContain("moved aside to");
    expect(readdirSync(dir).some((f) => f.startsWith(`spoiled-${_}.state.corrupt-`))).toBe(true);
    // Serving, and the next stop writes a good file again.
    await getBencoded(announceUrl(`http://127.0.0.1:${second.port}`, { infoHash: A, port: 1002 }));
    second.proc.kill("SIGTERM");
    expect(await exitWithin(second.proc, 10_000)).toBe(0);
    const third = await startTrackerProcess(args);
    expect((await scrapeBoth(third)).http).toEqual([[0, 0, 1], [0, 0, 0]]);
  }, TEST_TIMEOUT);
});

describe("signals that do not stop the tracker", () => {
  test("SIGUSR1 writes the state file now; SIGUSR2 is ignored with a line; /stats shows the save", async () => {
    const path = join(dir, "usr1.state");
    const t = await startTrackerProcess(["--quiet", "--state-file", path, "--state-interval", "0"]);
    const stdout = capture(t.proc.stdout);
    await getBencoded(announceUrl(`http://127.0.0.1:${t.port}`, { infoHash: A, port: 1001 }));
    expect(existsSync(path)).toBe(false);
    t.proc.kill("SIGUSR1");
    await until("the state file", () => stdout.text.includes("SIGUSR1: state written"));
    expect(existsSync(path)).toBe(true);
    t.proc.kill("SIGUSR2");
    await until("the SIGUSR2 line", () => stdout.text.includes("SIGUSR2 ignored"));
    const stats = await (await fetch(`http://127.0.0.1:${t.port}/stats?format=json`)).json() as { state: { path: string; lastSaveResult: string; lastSaveBytes: number } };
    expect(stats.state.path).toBe(path);
    expect(stats.state.lastSaveResult).toBe("ok");
    expect(stats.state.lastSaveBytes).toBe(Bun.file(path).size);
    expect(await (await fetch(`http://127.0.0.1:${t.port}/stats`)).text()).toMatch(/^state\.last_saved = \d{4}-\d\d-\d\dT.* \(\d+ ms, [\d,]+ bytes, ok\)$/m);
    expect(t.proc.exitCode).toBeNull();
  }, TEST_TIMEOUT);

  test("SIGHUP reloads the config file: live settings apply, others wait for a restart, a bad file changes nothing", async () => {
    const config = join(dir, "hup.toml");
    writeFileSync(config, "numwant_default = 5\n");
    const t = await startTrackerProcess(["--quiet", "--config", config]);
    const stdout = capture(t.proc.stdout);
    const stderr = capture(t.proc.stderr);
    const base = `http://127.0.0.1:${t.port}`;
    for (let p = 1; p <= 12; p++) await getBencoded(announceUrl(base, { infoHash: A, port: p }));
    const peersNow = async () => compactPeers((await getBencoded(announceUrl(base, { infoHash: A, port: 99 }))).peers, 6).length;
    expect(await peersNow()).toBe(5);

    writeFileSync(config, "numwant_default = 8\nmax_peers = 1000\n");
    t.proc.kill("SIGHUP");
    await until("the reload line", () => stdout.text.includes("SIGHUP"));
    expect(stdout.text).toContain("configuration reloaded: applied --numwant-default; changed but needing a restart (not applied): --max-peers");
    expect(await peersNow()).toBe(8);

    writeFileSync(config, "numwant_default = 3\nnumwant_max = 2\n"); // contradicts itself
    t.proc.kill("SIGHUP");
    await until("the refusal", () => stderr.text.includes("SIGHUP"));
    expect(stderr.text).toContain("configuration not reloaded, the running one stays: numwant-default must not exceed numwant-max");
    expect(await peersNow()).toBe(8);
    expect(t.proc.exitCode).toBeNull();
  }, TEST_TIMEOUT);
});
