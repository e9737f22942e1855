/**
 * The load generator end to end against small fake trackers on 127.0.0.1 (port 0), each run
 * a fraction of a second. They check the accounting (valid answers counted, bad ones counted
 * invalid), not speed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import bencode from "bencode";
import { rmSync } from "node:fs";
import { certDir, makeCert, type TestCert } from "../../test/support/certs.ts";
import { loadOptions, type LoadMode } from "./options.ts";
import { runLoad } from "./run.ts";

const RUN_SECONDS = 0.3;

/** A BEP 15 tracker that answers correctly, or with a bad size when `broken`. */
async function fakeUdpTracker(broken: boolean) {
  return Bun.udpSocket({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, buf, port, address) {
        if (buf.length < 16) return;
        const action = buf.readUInt32BE(8);
        const txid = buf.readUInt32BE(12);
        let out: Buffer;
        if (action === 0) {
          out = Buffer.alloc(16);
          out.writeUInt32BE(txid, 4);
          out.writeUInt32BE(0xabcdef, 12);
        } else if (action === 1) {
          out = Buffer.alloc(broken ? 23 : 32);
          out.writeUInt32BE(1, 0);
          out.writeUInt32BE(txid, 4);
          out.writeUInt32BE(1800, 8);
          out.writeUInt32BE(1, 12);
          out.writeUInt32BE(1, 16);
        } else {
          const n = (buf.length - 16) / 20;
          out = Buffer.alloc(8 + 12 * n);
          out.writeUInt32BE(2, 0);
          out.writeUInt32BE(txid, 4);
        }
        s.send(out, port, address);
      },
      error() {},
    },
  });
}

describe("udp mode", () => {
  test("counts connects, announces and scrapes from a well-behaved tracker", async () => {
    const server = await fakeUdpTracker(false);
    try {
      const r = await runLoad(
        loadOptions({ host: "127.0.0.1", port: server.port, ipv6: false }, { seconds: RUN_SECONDS, warmup: 0, clients: 50, torrents: 100, window: 16, sockets: 2, scrapeChance: 0.2 }),
      );
      expect(r.connects).toBe(50);
      expect(r.announces).toBeGreaterThan(0);
      expect(r.scrapes).toBeGreaterThan(0);
      expect(r.invalid).toBe(0);
      expect(r.peersReceived).toBe(2 * r.announces);
      expect(r.responses).toBe(r.connects + r.announces + r.scrapes);
      expect(r.sent).toBe(r.responses + r.lost + r.inFlightAtEnd);
      expect(r.latencyUs.p50).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });

  test("a warm-up is left out of the figures, which still add up", async () => {
    const server = await fakeUdpTracker(false);
    try {
      const r = await runLoad(
        loadOptions({ host: "127.0.0.1", port: server.port, ipv6: false }, { seconds: RUN_SECONDS, warmup: 0.2, clients: 50, window: 16 }),
      );
      expect(r.connects).toBe(0); // every client connected during the warm-up
      expect(r.announces).toBeGreaterThan(0);
      expect(r.seconds).toBeGreaterThanOrEqual(RUN_SECONDS - 0.01);
      expect(r.seconds).toBeLessThan(RUN_SECONDS + 0.1);
      expect(r.sent).toBe(r.responses + r.lost + r.invalid + r.inFlightAtEnd);
    } finally {
      server.close();
    }
  });

  test("counts malformed announce answers as invalid", async () => {
    const server = await fakeUdpTracker(true);
    try {
      const r = await runLoad(
        loadOptions({ host: "127.0.0.1", port: server.port, ipv6: false }, { seconds: RUN_SECONDS, warmup: 0, clients: 20, window: 8, scrapeChance: 0 }),
      );
      expect(r.announces).toBe(0);
      expect(r.invalid).toBeGreaterThan(0);
      expect(r.invalidSamples[0]).toContain("size 23");
    } finally {
      server.close();
    }
  });

  test("a target with nothing listening loses requests but ends on time", async () => {
    const probe = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
    const port = probe.port;
    probe.close();
    const r = await runLoad(loadOptions({ host: "127.0.0.1", port, ipv6: false }, { seconds: RUN_SECONDS, warmup: 0, clients: 5, window: 4, timeoutMs: 100 }));
    expect(r.responses).toBe(0);
    expect(r.lost + r.sendErrors).toBeGreaterThan(0);
  });
});

describe("http modes", () => {
  let server: ReturnType<typeof Bun.serve>;
  let failing: ReturnType<typeof Bun.serve>;
  let closing: Bun.TCPSocketListener<undefined>;

  beforeAll(() => {
    const announce = bencode.encode({ complete: 1, incomplete: 1, interval: 1800, peers: Buffer.alloc(12) });
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      development: false,
      fetch(req) {
        const url = new URL(req.url);
        if (url.pathname === "/announce") return new Response(announce);
        const n = (url.search.match(/info_hash=/g) ?? []).length;
        const files: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) files[String(i).padStart(20, "x")] = { complete: 0, downloaded: 0, incomplete: 0 };
        return new Response(bencode.encode({ files }));
      },
    });
    failing = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      development: false,
      fetch: () => new Response(bencode.encode({ "failure reason": "not authorized" })),
    });
    // Like opentracker: answers with Content-Length and no Connection header, then closes.
    const body = Buffer.from(bencode.encode({ interval: 1800, peers: Buffer.alloc(6) }));
    const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
    closing = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(s, chunk) {
          if (chunk.includes("\r\n\r\n")) {
            s.write(Buffer.concat([head, body]));
            s.end();
          }
        },
      },
    });
  });

  afterAll(() => {
    server.stop(true);
    failing.stop(true);
    closing.stop(true);
  });

  test.each(["http-close", "http-keepalive"] as LoadMode[])("%s counts valid announces and scrapes", async (mode) => {
    const r = await runLoad(
      loadOptions({ host: "127.0.0.1", port: server.port!, ipv6: false }, { mode, seconds: RUN_SECONDS, warmup: 0, clients: 50, connections: 4, scrapeChance: 0.2 }),
    );
    expect(r.announces).toBeGreaterThan(0);
    expect(r.scrapes).toBeGreaterThan(0);
    expect(r.invalid).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.peersReceived).toBe(2 * r.announces);
    if (mode === "http-keepalive") expect(r.reconnects).toBe(0);
  });

  test("a failure reason is invalid", async () => {
    const r = await runLoad(
      loadOptions({ host: "127.0.0.1", port: failing.port!, ipv6: false }, { mode: "http-close", seconds: RUN_SECONDS, warmup: 0, connections: 2 }),
    );
    expect(r.responses).toBe(0);
    expect(r.invalid).toBeGreaterThan(0);
    expect(r.trackerErrors).toBe(r.invalid);
    expect(r.invalidSamples[0]).toBe("failure reason: not authorized");
  });

  test("keep-alive follows a server that closes after every answer", async () => {
    const r = await runLoad(
      loadOptions({ host: "127.0.0.1", port: closing.port, ipv6: false }, { mode: "http-keepalive", seconds: RUN_SECONDS, warmup: 0, connections: 2, scrapeChance: 0 }),
    );
    expect(r.announces).toBeGreaterThan(0);
    expect(r.invalid).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.reconnects).toBeGreaterThan(0);
  });
});

describe("http modes over TLS (--tls)", () => {
  let server: ReturnType<typeof Bun.serve>;
  let dir: string;
  let cert: TestCert;

  beforeAll(async () => {
    dir = certDir();
    cert = await makeCert(dir, "load");
    const announce = bencode.encode({ complete: 1, incomplete: 1, interval: 1800, peers: Buffer.alloc(12) });
    const scrape = bencode.encode({ files: {} });
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      development: false,
      tls: { cert: Bun.file(cert.cert), key: Bun.file(cert.key) },
      fetch: (req) => new Response(new URL(req.url).pathname === "/announce" ? announce : scrape),
    });
  });

  afterAll(() => {
    server.stop(true);
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ["http-close", true],
    ["http-keepalive", true],
    ["http-close", false],
  ] as [LoadMode, boolean][])("%s, verify %p: the same workload over HTTPS", async (mode, verify) => {
    const r = await runLoad(
      loadOptions({ host: "127.0.0.1", port: server.port!, ipv6: false }, {
        mode, seconds: RUN_SECONDS, warmup: 0, clients: 50, connections: 4, scrapeChance: 0.2,
        tls: verify ? { caFile: cert.cert, verify: true } : { caFile: null, verify: false },
      }),
    );
    expect(r.tls).toBe(true);
    expect(r.announces).toBeGreaterThan(0);
    expect(r.scrapes).toBeGreaterThan(0);
    expect(r.invalid).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.handshakeFailures).toBe(0);
    if (mode === "http-keepalive") expect(r.reconnects).toBe(0);
  });

  test("a certificate the client does not trust: handshake failures, no answers", async () => {
    const r = await runLoad(
      loadOptions({ host: "127.0.0.1", port: server.port!, ipv6: false }, {
        mode: "http-close", seconds: RUN_SECONDS, warmup: 0, connections: 2, tls: { caFile: null, verify: true },
      }),
    );
    expect(r.responses).toBe(0);
    expect(r.handshakeFailures + r.sendErrors).toBeGreaterThan(0);
  });
});
