/**
 * Private mode on the real entry point, with a real SQLite file in a temporary directory: keys
 * made and revoked by `sc6-tracker keys` in another process, announces over HTTP
 * (`/<passkey>/announce`) and UDP (BEP 41 URL data), the accounting written in batches (and at
 * stop), and the database after a SIGKILL.
 */
import { Database } from "bun:sqlite";
import { afterAll, afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanEnv, exitWithin, killChildren, MAIN, startTrackerProcess, until } from "./support/child.ts";
import { announceUrl, bytes20, getBencoded, pct, text } from "./support/tracker.ts";
import { announcePacket, errorMessage, readAnnounceAnswer, scrapePacket, UdpClient, urlDataOption } from "./support/udp-client.ts";

const dir = mkdtempSync(join(tmpdir(), "sc6-private-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killChildren);
const TEST_TIMEOUT = 40_000;
const HASH = bytes20(0x5a);

let dbs = 0;
const newDb = () => join(dir, `keys-${++dbs}.sqlite`);

/** Run `sc6-tracker keys ...` as its own process; its stdout, after checking it exited 0. */
async function keys(...args: string[]): Promise<string> {
  const proc = Bun.spawn([process.execPath, "run", MAIN, "keys", ...args], { env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`keys ${args.join(" ")} exited ${code}: ${err}`);
  return out;
}

async function addKey(db: string): Promise<string> {
  const made = JSON.parse(await keys("add", "--db", db, "--note", "test user", "--json"));
  expect(made.key).toMatch(/^[A-Za-z0-9_-]{32}$/);
  return made.key;
}

/** An HTTP announce through the key's URL: the failure reason, or null when served. */
async function httpAnnounce(port: number, key: string | null, extra = "", peerPort = 6881, event?: string): Promise<string | null> {
  const base = key === null ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/${key}`;
  const a = await getBencoded(announceUrl(base, { infoHash: HASH, port: peerPort, extra, event }));
  return a["failure reason"] === undefined ? null : text(a["failure reason"]);
}

/** The usage rows of a key, summed over its torrents (read from the file as another process). */
function usage(db: string, key: string): { uploaded: number; downloaded: number; announces: number; completions: number } {
  const d = new Database(db, { readonly: true });
  try {
    const row = d.query(
      "SELECT COALESCE(SUM(uploaded),0) AS uploaded, COALESCE(SUM(downloaded),0) AS downloaded, " +
        "COALESCE(SUM(announces),0) AS announces, COALESCE(SUM(completions),0) AS completions FROM usage WHERE key = ?",
    ).get(key) as { uploaded: number; downloaded: number; announces: number; completions: number };
    return { ...row };
  } finally {
    d.close();
  }
}

test("a key made by `keys add` works over HTTP and UDP; no key, an unknown key and a UDP scrape are refused", async () => {
  const db = newDb();
  const key = await addKey(db);
  const t = await startTrackerProcess(["--quiet", "--private", "--db", db]);
  expect(await httpAnnounce(t.port, key)).toBeNull();
  expect(await httpAnnounce(t.port, null)).toContain("private tracker");
  expect(await httpAnnounce(t.port, "A".repeat(32))).toBe("unknown or revoked passkey");
  const scrape = await getBencoded(`http://127.0.0.1:${t.port}/${key}/scrape?info_hash=${pct(HASH)}`);
  expect(Object.values(scrape.files)).toEqual([{ complete: 0, downloaded: 0, incomplete: 1 }]);
  expect(text((await getBencoded(`http://127.0.0.1:${t.port}/scrape?info_hash=${pct(HASH)}`))["failure reason"])).toContain("private tracker");

  const udp = await UdpClient.open("127.0.0.1", t.port);
  try {
    const connId = await udp.connect();
    const served = await udp.request(announcePacket({ connId, infoHash: HASH, port: 7001, options: urlDataOption(`/${key}/announce`) }));
    expect(errorMessage(served)).toBeNull();
    expect(readAnnounceAnswer(served).leechers).toBe(2);
    const bare = await udp.request(announcePacket({ connId, infoHash: HASH, port: 7002 }));
    expect(errorMessage(bare)).toContain("private tracker");
    const wrong = await udp.request(announcePacket({ connId, infoHash: HASH, port: 7002, options: urlDataOption(`/${"B".repeat(32)}/announce`) }));
    expect(errorMessage(wrong)).toBe("unknown or revoked passkey");
    expect(errorMessage(await udp.request(scrapePacket(connId, [HASH])))).toContain("private tracker");
  } finally {
    udp.close();
  }
  const stats = await (await fetch(`http://127.0.0.1:${t.port}/stats?format=json`)).json() as any;
  expect(stats.private).toMatchObject({ db, keys: 1 });
  expect(await (await fetch(`http://127.0.0.1:${t.port}/metrics`)).text()).toContain("tracker_passkeys 1");
  expect(await (await fetch(`http://127.0.0.1:${t.port}/stats`)).text()).toContain("private.passkeys = 1");
  expect(stats.counters.refusedPasskey).toBe(6); // HTTP: none, unknown, scrape; UDP: none, unknown, scrape
}, TEST_TIMEOUT);

test("keys added and revoked by another process take effect within a few seconds, without a restart", async () => {
  const db = newDb();
  const first = await addKey(db);
  const t = await startTrackerProcess(["--quiet", "--private", "--db", db]);
  const second = await addKey(db);
  let served: string | null = "not yet";
  for (let waited = 0; served !== null && waited < 5000; waited += 100) {
    served = await httpAnnounce(t.port, second);
    if (served !== null) await Bun.sleep(100);
  }
  expect(served).toBeNull();
  await keys("revoke", first, "--db", db);
  let refusal: string | null = null;
  for (let waited = 0; refusal === null && waited < 5000; waited += 100) {
    refusal = await httpAnnounce(t.port, first);
    if (refusal === null) await Bun.sleep(100);
  }
  expect(refusal).toBe("unknown or revoked passkey");
}, TEST_TIMEOUT);

test("accounting: per key and torrent, deltas over HTTP and UDP, written in batches and at stop", async () => {
  const db = newDb();
  const key = await addKey(db);
  const t = await startTrackerProcess(["--quiet", "--private", "--db", db]);
  // HTTP peer: 0 -> 1000 up / 5000 down -> completed at 3000 up / 20000 down.
  expect(await httpAnnounce(t.port, key, "uploaded=0&downloaded=0", 6881, "started")).toBeNull();
  expect(await httpAnnounce(t.port, key, "uploaded=1000&downloaded=5000")).toBeNull();
  expect(await httpAnnounce(t.port, key, "uploaded=3000&downloaded=20000&left=0", 6881, "completed")).toBeNull();
  // UDP peer (another port, so another peer): 0 -> 700 up / 100 down.
  const udp = await UdpClient.open("127.0.0.1", t.port);
  try {
    const connId = await udp.connect();
    const options = urlDataOption(`/${key}/announce`);
    for (const [up, down, event] of [[0n, 0n, 2], [700n, 100n, 0]] as const) {
      const r = await udp.request(announcePacket({ connId, infoHash: HASH, port: 7003, uploaded: up, downloaded: down, event, options }));
      expect(errorMessage(r)).toBeNull();
    }
  } finally {
    udp.close();
  }
  const expected = { uploaded: 3700, downloaded: 20100, announces: 5, completions: 1 };
  await until("the batch in the database", () => usage(db, key).announces === 5, 10_000);
  expect(usage(db, key)).toEqual(expected);

  // One more announce, then SIGTERM: written at stop, whatever the batch timer says.
  expect(await httpAnnounce(t.port, key, "uploaded=3500&downloaded=20000&left=0")).toBeNull();
  t.proc.kill("SIGTERM");
  expect(await exitWithin(t.proc, 10_000)).toBe(0);
  expect(usage(db, key)).toEqual({ ...expected, uploaded: 4200, announces: 6 });
  const listed = JSON.parse(await keys("list", "--db", db, "--json"));
  expect(listed.find((k: { key: string }) => k.key === key)).toMatchObject({ uploaded: 4200, downloaded: 20100, announces: 6 });
}, TEST_TIMEOUT);

test("the database survives SIGKILL: intact, with at most the last batch lost", async () => {
  const db = newDb();
  const key = await addKey(db);
  const t = await startTrackerProcess(["--quiet", "--private", "--db", db]);
  for (let i = 1; i <= 10; i++) expect(await httpAnnounce(t.port, key, `uploaded=${i * 100}`)).toBeNull();
  await until("the batch in the database", () => usage(db, key).announces === 10, 10_000);
  for (let i = 11; i <= 15; i++) expect(await httpAnnounce(t.port, key, `uploaded=${i * 100}`)).toBeNull();
  t.proc.kill("SIGKILL");
  await exitWithin(t.proc, 10_000);
  const d = new Database(db);
  try {
    expect((d.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
  } finally {
    d.close();
  }
  const after = usage(db, key);
  // Written: the first ten for sure; the last five only if their batch was written before the kill.
  expect([10, 15]).toContain(after.announces);
  expect(after.uploaded).toBe(after.announces * 100);
  expect(JSON.parse(await keys("list", "--db", db, "--json")).length).toBe(1);
}, TEST_TIMEOUT);
