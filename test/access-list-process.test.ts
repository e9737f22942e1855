/**
 * Access lists on the real entry point (`bun run src/main.ts`), with real files in a temporary
 * directory and real signals: allow and deny over HTTP and UDP, a reload by SIGHUP and one by
 * rename without a signal (each in force within 2 s), a bad file refused whole with the old
 * list kept, a list that does not load at start (exit 2), and what /stats and /metrics show.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capture, cleanEnv, exitWithin, killChildren, MAIN, startTrackerProcess, until } from "./support/child.ts";
import { announceUrl, bytes20, getBencoded, pct, text } from "./support/tracker.ts";
import { announcePacket, errorMessage, readAnnounceAnswer, scrapePacket, UdpClient } from "./support/udp-client.ts";

const dir = mkdtempSync(join(tmpdir(), "sc6-access-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killChildren);
const TEST_TIMEOUT = 30_000;

const LISTED = bytes20(0xa1);
const OTHER = bytes20(0xb2);
const THIRD = bytes20(0xc3);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

let files = 0;
function listFile(lines: string[]): string {
  const path = join(dir, `list-${++files}.txt`);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** Announce over HTTP: the failure reason, or null when served. */
async function httpRefusal(port: number, hash: Uint8Array, peerPort = 6881): Promise<string | null> {
  const a = await getBencoded(announceUrl(`http://127.0.0.1:${port}`, { infoHash: hash, port: peerPort }));
  return a["failure reason"] === undefined ? null : text(a["failure reason"]);
}

/** Announce over UDP: the error packet's message, or null when served. */
async function udpRefusal(udp: UdpClient, hash: Uint8Array): Promise<string | null> {
  const connId = await udp.connect();
  const r = await udp.request(announcePacket({ connId, infoHash: hash, port: 7000 }));
  const message = errorMessage(r);
  if (message === null) expect(readAnnounceAnswer(r).action).toBe(1);
  return message;
}

async function statsJson(port: number): Promise<any> {
  return (await fetch(`http://127.0.0.1:${port}/stats?format=json`)).json();
}

test("allow mode: listed torrents are served over HTTP and UDP; others are refused and create nothing", async () => {
  const list = listFile(["# allowed torrents", "", `${hex(LISTED).toUpperCase()}  # the one`]);
  const t = await startTrackerProcess(["--quiet", "--access-mode", "allow", "--access-list", list]);
  expect(await httpRefusal(t.port, LISTED)).toBeNull();
  expect(await httpRefusal(t.port, OTHER)).toBe("torrent not allowed");
  const udp = await UdpClient.open("127.0.0.1", t.port);
  try {
    expect(await udpRefusal(udp, LISTED)).toBeNull();
    expect(await udpRefusal(udp, OTHER)).toBe("torrent not allowed");
    // UDP scrape: the refused torrent answers as an unknown one (zeros); only refused: an error.
    const connId = await udp.connect();
    const both = await udp.request(scrapePacket(connId, [LISTED, OTHER]));
    expect(both.readUInt32BE(0)).toBe(2);
    expect([both.readUInt32BE(8), both.readUInt32BE(16)]).toEqual([0, 2]); // LISTED: 0 seeders, 2 leechers
    expect([both.readUInt32BE(20), both.readUInt32BE(24), both.readUInt32BE(28)]).toEqual([0, 0, 0]);
    expect(errorMessage(await udp.request(scrapePacket(connId, [OTHER])))).toBe("torrent not allowed");
  } finally {
    udp.close();
  }
  // HTTP scrape leaves the refused torrent out; asking only for it is refused.
  const scrape = await getBencoded(`http://127.0.0.1:${t.port}/scrape?info_hash=${pct(LISTED)}&info_hash=${pct(OTHER)}`);
  // (the bencode package decodes a binary dict key to its hex text)
  expect(Object.keys(scrape.files)).toEqual([hex(LISTED)]);
  const only = await getBencoded(`http://127.0.0.1:${t.port}/scrape?info_hash=${pct(OTHER)}`);
  expect(text(only["failure reason"])).toBe("torrent not allowed");
  const stats = await statsJson(t.port);
  expect(stats.swarm.torrents).toBe(1);
  expect(stats.counters.refusedTorrentNotAllowed).toBe(6); // 2 announces, 4 scrapes naming OTHER
  expect(stats.access).toMatchObject({ mode: "allow", path: list, entries: 1, lastReloadResult: "ok" });
  const page = await (await fetch(`http://127.0.0.1:${t.port}/stats`)).text();
  expect(page).toContain("access.mode = allow");
  expect(page).toContain(`access.list = ${list} (1 info_hashes`);
  const metrics = await (await fetch(`http://127.0.0.1:${t.port}/metrics`)).text();
  expect(metrics).toContain('tracker_access_list_entries{mode="allow"} 1');
  expect(metrics).toContain('tracker_refusals_total{reason="torrent_not_allowed"} 6');
}, TEST_TIMEOUT);

/** RFC 4648 base32 of 20 bytes: 32 characters, as magnet links write info_hashes. */
function base32(b: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

test("deny mode: listed torrents are refused (a base32 line too), the rest served", async () => {
  const list = listFile([hex(LISTED), base32(THIRD).toLowerCase()]);
  const t = await startTrackerProcess(["--quiet", "--access-mode", "deny", "--access-list", list]);
  expect(await httpRefusal(t.port, LISTED)).toBe("torrent not allowed");
  expect(await httpRefusal(t.port, OTHER)).toBeNull();
  const udp = await UdpClient.open("127.0.0.1", t.port);
  try {
    expect(await udpRefusal(udp, LISTED)).toBe("torrent not allowed");
    expect(await udpRefusal(udp, OTHER)).toBeNull();
    expect(await udpRefusal(udp, THIRD)).toBe("torrent not allowed");
  } finally {
    udp.close();
  }
}, TEST_TIMEOUT);

test("SIGHUP reloads an edited list; a bad file is refused whole, naming file, line and content, and the old list stays", async () => {
  const list = listFile([hex(LISTED)]);
  const t = await startTrackerProcess(["--access-mode", "allow", "--access-list", list]);
  const out = capture(t.proc.stdout);
  const err = capture(t.proc.stderr);
  expect(await httpRefusal(t.port, OTHER)).toBe("torrent not allowed");
  // Written in place (no rename): the watcher may see it too; either way it is in force within 2 s.
  writeFileSync(list, `${hex(LISTED)}\n${hex(OTHER)}\n`);
  t.proc.kill("SIGHUP");
  await until("the new list, read for SIGHUP", () => out.text.includes(`2 info_hashes from ${list}, mode allow (SIGHUP)`), 2000);
  expect(await httpRefusal(t.port, OTHER)).toBeNull();

  writeFileSync(list, `${hex(LISTED)}\nnot-a-hash\n${hex(THIRD)}\n`);
  t.proc.kill("SIGHUP");
  await until("the refusal line for SIGHUP", () => err.text.includes("refused whole (SIGHUP)"), 2000);
  expect(err.text).toContain(`${list}: line 2:`);
  expect(err.text).toContain('"not-a-hash"');
  expect(await httpRefusal(t.port, OTHER)).toBeNull(); // the old list (LISTED, OTHER) stays
  expect(await httpRefusal(t.port, THIRD)).toBe("torrent not allowed");
  const stats = await statsJson(t.port);
  expect(stats.access.entries).toBe(2);
  expect(stats.access.lastReloadResult).toContain("line 2");
  expect(stats.access.reloadsFailed).toBeGreaterThanOrEqual(1);
  expect(t.proc.exitCode).toBeNull();
}, TEST_TIMEOUT);

test("a list replaced by rename, without a signal, is in force within 2 s", async () => {
  const list = listFile([hex(LISTED)]);
  const t = await startTrackerProcess(["--access-mode", "deny", "--access-list", list]);
  const out = capture(t.proc.stdout);
  expect(await httpRefusal(t.port, OTHER)).toBeNull();
  const next = join(dir, "replacement.tmp");
  writeFileSync(next, `${hex(LISTED)}\n${hex(OTHER)}\n`);
  renameSync(next, list); // how editors and deploy tools replace a file
  await until("the renamed list", () => out.text.includes("2 info_hashes") && out.text.includes("file changed"), 2000);
  expect(await httpRefusal(t.port, OTHER)).toBe("torrent not allowed");
}, TEST_TIMEOUT);

test("a list that cannot be loaded at start stops the start with exit code 2, naming the file and line", async () => {
  const bad = listFile([hex(LISTED), "zz"]);
  for (const [path, expected] of [[bad, `${bad}: line 2:`], [join(dir, "missing.txt"), "missing.txt: cannot read: ENOENT"]] as const) {
    const proc = Bun.spawn([process.execPath, "run", MAIN, "0", "--host", "127.0.0.1", "--access-mode", "allow", "--access-list", path], {
      env: cleanEnv(), stdout: "pipe", stderr: "pipe",
    });
    expect(await exitWithin(proc, 10_000)).toBe(2);
    expect(await new Response(proc.stderr).text()).toContain(expected);
  }
}, TEST_TIMEOUT);
