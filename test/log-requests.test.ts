/**
 * --log-requests on a real tracker process: one line per request, for every protocol, with
 * time, address, protocol, action, info_hash (or the count of hashes) and result; nothing when
 * it is off.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { capture, killChildren, startTrackerProcess, until } from "./support/child.ts";
import { announceUrl, bytes20, getBencoded } from "./support/tracker.ts";
import { announcePacket, UdpClient } from "./support/udp-client.ts";
import { bin20, WsClient } from "./support/ws-client.ts";

afterEach(() => killChildren());

const TIME = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

describe("--log-requests", () => {
  test("one line per request: HTTP, UDP and WebSocket, served and refused", async () => {
    const t = await startTrackerProcess(["--log-requests", "--scrape-max-hashes", "2"]);
    const out = capture(t.proc.stdout);
    const base = `http://127.0.0.1:${t.port}`;
    const ih = bytes20(0xab);
    const hex = Buffer.from(ih).toString("hex");
    await getBencoded(announceUrl(base, { infoHash: ih, port: 1111, left: "0" }));
    await getBencoded(`${base}/announce?info_hash=short`);
    await getBencoded(`${base}/scrape?info_hash=${"%01".repeat(20)}&info_hash=${"%02".repeat(20)}&info_hash=${"%03".repeat(20)}`);
    const udp = await UdpClient.open("127.0.0.1", t.port);
    const id = await udp.connect();
    await udp.request(announcePacket({ connId: id, infoHash: ih, port: 2222 }));
    udp.close();
    const ws = await WsClient.open(`ws://127.0.0.1:${t.port}/`);
    await ws.request({ action: "announce", info_hash: bin20("h"), peer_id: bin20("p"), uploaded: 0, downloaded: 0, left: 5 });
    ws.close();
    await until("six request lines", () => out.text.split("\n").filter((l) => / (http|udp|ws) /.test(l)).length >= 6);
    const lines = out.text.split("\n");
    const has = (re: string) => expect(lines.some((l) => new RegExp(`^${TIME} ${re}$`).test(l))).toBe(true);
    has(String.raw`127\.0\.0\.1 http announce ${hex} ok: 0 peers \(1 seeders, 0 leechers\)`);
    has(String.raw`127\.0\.0\.1 http announce failure: .+`);
    has(String.raw`127\.0\.0\.1 http scrape 3 hashes refused: too many info_hash values in one scrape \(at most 2\)`);
    has(String.raw`127\.0\.0\.1 udp connect ok`);
    has(String.raw`127\.0\.0\.1 udp announce ${hex} ok: 1 peers \(1 seeders, 1 leechers\)`);
    has(String.raw`127\.0\.0\.1 ws announce ${Buffer.from(bin20("h"), "latin1").toString("hex")} ok: 0 offers relayed \(0 seeders, 1 leechers\)`);
  });

  test("off by default: no request lines", async () => {
    const t = await startTrackerProcess([]);
    const out = capture(t.proc.stdout);
    await getBencoded(announceUrl(`http://127.0.0.1:${t.port}`, { infoHash: bytes20(1), port: 1 }));
    await Bun.sleep(100);
    expect(out.text).not.toMatch(/ http announce /);
  });
});
