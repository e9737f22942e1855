/**
 * HTTPS on --tls-port, on real tracker processes, with certificates the test makes itself
 * (openssl req -x509, test/support/certs.ts): announce and scrape answered and verified against
 * the test's certificate; the pair replaced by rename (picked up by the directory watch) and,
 * separately, by SIGHUP (a change the watch cannot see, as certbot's archive/ behind live/
 * symlinks), the new one served within 2 s while a wss:// connection opened before keeps
 * working (an idle HTTP keep-alive connection is closed at the change: Bun's stop(false) closes
 * idle connections, README "HTTPS"); a bad pair keeps the old one; a bad file at start exits 2 naming it; /stats,
 * /metrics and the terminal line show the certificate; --no-http gives HTTPS-only TCP on the
 * main port with UDP beside it.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { capture, cleanEnv, exitWithin, killChildren, MAIN, children, startTrackerProcess, until } from "./support/child.ts";
import { certDir, makeCert, type TestCert } from "./support/certs.ts";
import { freePort } from "./support/ports.ts";
import { announceUrl, bytes20, compactPeers } from "./support/tracker.ts";
import { announcePacket, readAnnounceAnswer, UdpClient } from "./support/udp-client.ts";
import bencode from "bencode";

const dir = certDir();
afterEach(() => killChildren());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let serial = 0;
/** A fresh directory holding cert.pem and key.pem (copies of `c`). */
function place(c: TestCert): { cert: string; key: string; dir: string } {
  const d = join(dir, `site-${serial++}`);
  mkdirSync(d);
  copyFileSync(c.cert, join(d, "cert.pem"));
  copyFileSync(c.key, join(d, "key.pem"));
  return { cert: join(d, "cert.pem"), key: join(d, "key.pem"), dir: d };
}

/** Replace a file by writing a copy next to it and renaming it over (as ACME clients do). */
function replaceByRename(from: string, to: string): void {
  copyFileSync(from, `${to}.tmp`);
  renameSync(`${to}.tmp`, to);
}

/** The subject CN of the certificate the server presents to a new connection. */
function servedCn(port: number, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      const cn = s.getPeerCertificate().subject?.CN;
      s.end();
      resolve(String(cn));
    });
    s.on("error", reject);
  });
}

/** Wait (bounded) until a new connection is served the certificate named `cn`. */
async function servedWithin(port: number, ca: string[], cn: string, ms: number): Promise<boolean> {
  for (let waited = 0; waited <= ms; waited += 50) {
    if ((await servedCn(port, ca).catch(() => "")) === cn) return true;
    await Bun.sleep(50);
  }
  return false;
}

/**
 * A wss:// connection (WebTorrent peers keep theirs open for hours), trusting the test's
 * certificates: scrape() asks and waits (bounded) for the answer.
 */
class WssPeer {
  private inbox: any[] = [];
  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (e) => this.inbox.push(JSON.parse(String(e.data)));
  }
  static open(port: number, ca: string[]): Promise<WssPeer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/`, { tls: { ca } } as any);
      ws.onopen = () => resolve(new WssPeer(ws));
      ws.onerror = () => reject(new Error("wss connection failed"));
    });
  }
  async scrape(): Promise<any> {
    this.inbox.length = 0;
    this.ws.send(JSON.stringify({ action: "scrape", info_hash: "h".repeat(20) }));
    await until("a scrape answer over wss", () => this.inbox.length > 0, 3000);
    return this.inbox[0];
  }
  close(): void {
    this.ws.close();
  }
}

async function startTls(c: { cert: string; key: string }, extra: string[] = []) {
  const tlsPort = await freePort();
  const t = await startTrackerProcess(["--tls-port", String(tlsPort), "--tls-cert", c.cert, "--tls-key", c.key, ...extra]);
  return { ...t, tlsPort };
}

describe("HTTPS (--tls-port)", () => {
  test("announce and scrape over HTTPS, verified against the certificate; HTTP and UDP unchanged beside it", async () => {
    const one = await makeCert(dir, "one", "one");
    const site = place(one);
    const t = await startTls(site);
    const out = capture(t.proc.stdout);
    const ih = bytes20(0x51);
    const https = `https://127.0.0.1:${t.tlsPort}`;
    const get = async (url: string) => bencode.decode(new Uint8Array(await (await fetch(url, { tls: { ca: one.pem } })).arrayBuffer()));
    const a = await get(announceUrl(https, { infoHash: ih, port: 1001, left: "0" }));
    expect([a.complete, a.incomplete]).toEqual([1, 0]);
    // The same swarm over plain HTTP and UDP.
    const b = bencode.decode(new Uint8Array(await (await fetch(announceUrl(`http://127.0.0.1:${t.port}`, { infoHash: ih, port: 1002 }))).arrayBuffer()));
    expect(compactPeers(b.peers, 6)).toEqual(["127.0.0.1:1001"]);
    const udp = await UdpClient.open("127.0.0.1", t.port);
    const id = await udp.connect();
    const u = readAnnounceAnswer(await udp.request(announcePacket({ connId: id, infoHash: ih, port: 1003 })));
    udp.close();
    expect([u.seeders, u.leechers]).toEqual([1, 2]);
    const s = await get(`${https}/scrape?info_hash=${Array.from(ih, (x) => "%" + x.toString(16).padStart(2, "0")).join("")}`);
    expect(Object.values(s.files as Record<string, any>)[0]).toMatchObject({ complete: 1, incomplete: 2 });
    // Not trusted without the test's certificate: it really is verified.
    await expect(fetch(`${https}/`).then((r) => r.status)).rejects.toThrow();
    // The operator pages over HTTPS show the certificate.
    const stats = (await (await fetch(`${https}/stats?format=json`, { tls: { ca: one.pem } })).json()) as any;
    expect(stats.tls).toMatchObject({ port: t.tlsPort, subject: "CN=one", cert: site.cert, reloadsOk: 0 });
    expect(stats.tls.daysLeft).toBeGreaterThan(29);
    const metrics = await (await fetch(`http://127.0.0.1:${t.port}/metrics`)).text();
    expect(metrics).toMatch(/^tracker_tls_certificate_days_left 29\.\d+$/m);
    expect(metrics).toContain('tracker_tls_certificate_expiry_timestamp_seconds{subject="CN=one"}');
    expect(out.text).toContain(`https://127.0.0.1:${t.tlsPort}/announce  wss://127.0.0.1:${t.tlsPort}`);
  });

  test("a new pair by rename is served within 2 s; a wss:// connection opened before keeps working", async () => {
    const [one, two] = [await makeCert(dir, "r1", "first"), await makeCert(dir, "r2", "second")];
    const site = place(one);
    const t = await startTls(site);
    const out = capture(t.proc.stdout);
    const ca = [one.pem, two.pem];
    expect(await servedCn(t.tlsPort, ca)).toBe("first");
    const kept = await WssPeer.open(t.tlsPort, ca);
    expect((await kept.scrape()).action).toBe("scrape");
    replaceByRename(two.key, site.key);
    replaceByRename(two.cert, site.cert);
    expect(await servedWithin(t.tlsPort, ca, "second", 2000)).toBe(true);
    expect((await kept.scrape()).action).toBe("scrape"); // the connection from before, still served
    kept.close();
    await until("the reload line", () => out.text.includes("TLS: file change: serving CN=second"));
  });

  test("SIGHUP reloads a change the watch cannot see (certbot's archive/ behind live/ symlinks)", async () => {
    const [one, two] = [await makeCert(dir, "h1", "before"), await makeCert(dir, "h2", "after")];
    const base = join(dir, `certbot-${serial++}`);
    mkdirSync(join(base, "archive"), { recursive: true });
    mkdirSync(join(base, "live"));
    copyFileSync(one.cert, join(base, "archive", "cert1.pem"));
    copyFileSync(one.key, join(base, "archive", "key1.pem"));
    symlinkSync(join(base, "archive", "cert1.pem"), join(base, "live", "cert.pem"));
    symlinkSync(join(base, "archive", "key1.pem"), join(base, "live", "key.pem"));
    const t = await startTls({ cert: join(base, "live", "cert.pem"), key: join(base, "live", "key.pem") });
    const ca = [one.pem, two.pem];
    expect(await servedCn(t.tlsPort, ca)).toBe("before");
    // Changed behind the symlinks: nothing happens in live/, so the watch sees nothing.
    copyFileSync(two.cert, join(base, "archive", "cert1.pem"));
    copyFileSync(two.key, join(base, "archive", "key1.pem"));
    await Bun.sleep(500);
    expect(await servedCn(t.tlsPort, ca)).toBe("before");
    const kept = await WssPeer.open(t.tlsPort, ca);
    t.proc.kill("SIGHUP");
    expect(await servedWithin(t.tlsPort, ca, "after", 2000)).toBe(true);
    expect((await kept.scrape()).action).toBe("scrape");
    kept.close();
  });

  test("a pair that does not load is reported, naming the file, and the old one stays", async () => {
    const [one, other] = [await makeCert(dir, "b1", "good"), await makeCert(dir, "b2", "other")];
    const site = place(one);
    const t = await startTls(site);
    const err = capture(t.proc.stderr);
    replaceByRename(other.key, site.key); // the key of another certificate
    await until("the refusal line", () => err.text.includes("certificate not reloaded"), 3000);
    expect(err.text).toContain(`TLS: file change: certificate not reloaded, the one in force stays: ${site.key}: is not the key of the certificate in ${site.cert}`);
    expect(await servedCn(t.tlsPort, [one.pem])).toBe("good");
    const stats = (await (await fetch(`http://127.0.0.1:${t.port}/stats?format=json`)).json()) as any;
    expect(stats.tls).toMatchObject({ subject: "CN=good", reloadsFailed: 1, lastReloadTrigger: "file change" });
  });

  test("a bad file at start: exit 2 naming it", async () => {
    const one = await makeCert(dir, "s1", "s");
    const port = await freePort();
    for (const [cert, key, named] of [[join(dir, "nope.pem"), one.key, join(dir, "nope.pem")], [one.cert, one.cert, one.cert]] as const) {
      const p = Bun.spawn([process.execPath, "run", MAIN, String(port), "--host", "127.0.0.1", "--tls-port", String(await freePort()), "--tls-cert", cert, "--tls-key", key], {
        env: cleanEnv(), stdout: "ignore", stderr: "pipe",
      });
      children.push(p);
      expect(await exitWithin(p, 10_000)).toBe(2);
      expect(await new Response(p.stderr).text()).toContain(`TLS: ${named}: `);
    }
  });

  test("fewer than 14 days left: the terminal line warns", async () => {
    const soon = await makeCert(dir, "soon", "soon", 10);
    const t = await startTls(place(soon));
    const out = capture(t.proc.stdout);
    await until("the warning", () => out.text.includes("TLS: WARNING: the certificate (CN=soon"), 3000);
    expect(out.text).toMatch(/expires in 9 days/);
  });

  test("--no-http: HTTPS only on the main TCP port, UDP beside it", async () => {
    const one = await makeCert(dir, "n1", "only");
    const site = place(one);
    const port = await freePort();
    const p = Bun.spawn([process.execPath, "run", MAIN, String(port), "--host", "127.0.0.1", "--no-http", "--tls-port", String(port), "--tls-cert", site.cert, "--tls-key", site.key, "--quiet"], {
      env: cleanEnv(), stdout: "ignore", stderr: "ignore",
    });
    children.push(p);
    const ok = async () => (await fetch(`https://127.0.0.1:${port}/`, { tls: { ca: one.pem } })).status === 200;
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = await ok().catch(() => false);
      if (!up) await Bun.sleep(25);
    }
    expect(up).toBe(true);
    await expect(fetch(`http://127.0.0.1:${port}/`).then((r) => r.status)).rejects.toThrow(); // no plain HTTP
    const udp = await UdpClient.open("127.0.0.1", port);
    expect((await udp.connect()).length).toBe(8);
    udp.close();
  });
});
