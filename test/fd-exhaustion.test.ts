/**
 * Out of file descriptors (server/http-listener.ts): a real tracker under `ulimit -n 256` gets
 * 400 idle TCP connections. It must stop listening (new connections are refused at once instead
 * of the accept loop spinning), keep answering UDP, count the pause, and listen again on the
 * same port once the connections close. The CPU the spin would cost is measured in
 * bench/fd-exhaustion.ts, not asserted here.
 */
import { afterEach, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { capture, killChildren, startTrackerProcess, until, withOpenFilesLimit } from "./support/child.ts";
import { announceUrl, bytes20, getBencoded } from "./support/tracker.ts";
import { connectPacket, UdpClient } from "./support/udp-client.ts";

afterEach(killChildren);

const LIMIT = 256;
const CONNECTIONS = 400;

/** Resolves with "connected" or the error code of one TCP connect to the port. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
  });
}

test("out of descriptors: HTTP pauses (connections refused, counted), UDP answers, HTTP resumes when they close", async () => {
  // Idle connections must stay open through the test: the idle timeout would free them.
  const t = await startTrackerProcess(["--http-idle-timeout", "120"], withOpenFilesLimit(LIMIT));
  const out = capture(t.proc.stdout);
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < CONNECTIONS; i++) {
      const s = connect(t.port, "127.0.0.1");
      s.on("error", () => {}); // the ones still queued when the listener stops are reset
      sockets.push(s);
    }
    await until("the pause line", () => out.text.includes("out of file descriptors"), 10_000);
    // Nothing listens on the port now: a new connection is refused, not left queued.
    expect(await tryConnect(t.port)).toBe("ECONNREFUSED");

    const udp = await UdpClient.open("127.0.0.1", t.port);
    try {
      const answer = await udp.request(connectPacket(7));
      expect(answer.readUInt32BE(0)).toBe(0); // action connect
      expect(answer.readUInt32BE(4)).toBe(7);
    } finally {
      udp.close();
    }
  } finally {
    for (const s of sockets) s.destroy();
  }
  await until("the resume line", () => out.text.includes("accepting connections again"), 10_000);
  const stats = (await (await fetch(`http://127.0.0.1:${t.port}/stats?format=json`)).json()) as { http: { acceptPauses: number; acceptPaused: boolean } };
  expect(stats.http.acceptPauses).toBeGreaterThanOrEqual(1);
  expect(stats.http.acceptPaused).toBe(false);
  const answer = await getBencoded(announceUrl(`http://127.0.0.1:${t.port}`, { infoHash: bytes20(1), port: 6881, left: "0" }));
  expect(answer["failure reason"]).toBeUndefined();
  expect(answer.complete).toBe(1);
}, 40_000);
