/**
 * The kernel's figures for the tracker's UDP socket (receive-buffer drops, queued bytes): the
 * /proc/net/udp parser, the reader, and drops provoked for real on loopback.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StatsSnapshot } from "../src/operator/stats/collect.ts";
import { parseProcNetUdp, udpReceiveStatsReader } from "../src/operator/udp-receive-stats.ts";
import { withTracker } from "./support/tracker.ts";
import { connectPacket } from "./support/udp-client.ts";

const UDP4 = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1753: 0100007F:1B39 00000000:0000 07 00000000:00000300 00:00000000 00000000     0        0 29304469 2 00000000d91588af 17
 1754: 0100000A:1B39 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 29304470 2 00000000d91588b0 5
 1800: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1234 2 00000000d91588b1 0
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  300: 00000000000000000000000000000000:1B39 00000000000000000000000000000000:0000 07 00000000:00000040 00:00000000 00000000     0        0 29309999 2 00000000aa 2
`;

describe("/proc/net/udp", () => {
  test("socket lines are read (port, queued bytes, inode, drops); the header and junk are not", () => {
    expect(parseProcNetUdp(UDP4 + "garbage line\n\n")).toEqual([
      { port: 6969, inode: 29304469, queuedBytes: 0x300, drops: 17 },
      { port: 6969, inode: 29304470, queuedBytes: 0, drops: 5 },
      { port: 53, inode: 1234, queuedBytes: 0, drops: 0 },
    ]);
    expect(parseProcNetUdp(UDP6)).toEqual([{ port: 6969, inode: 29309999, queuedBytes: 0x40, drops: 2 }]);
  });

  test("the reader sums this process's sockets on the port, across udp and udp6", () => {
    const dir = mkdtempSync(join(tmpdir(), "udp-stats-"));
    try {
      writeFileSync(join(dir, "udp"), UDP4);
      writeFileSync(join(dir, "udp6"), UDP6);
      const files = [join(dir, "udp"), join(dir, "udp6")];
      // Three sockets on 6969; this process owns two of them (the other is another program's).
      let asked = 0;
      const read = udpReceiveStatsReader(6969, files, () => {
        asked++;
        return new Set([29304469, 29309999, 42]);
      });
      expect(read()).toEqual({ drops: 19, queuedBytes: 0x340 });
      expect(read()).toEqual({ drops: 19, queuedBytes: 0x340 });
      expect(asked).toBe(1); // the inodes are looked up once
      // Alone on its port, no lookup is needed.
      expect(udpReceiveStatsReader(53, files, () => { throw new Error("not needed"); })()).toEqual({ drops: 0, queuedBytes: 0 });
      expect(udpReceiveStatsReader(6969, [join(dir, "missing")])()).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("against a running tracker", () => {
  test("a burst larger than the receive buffer shows up as receive drops on /stats and /metrics", async () => {
    await withTracker(["--host", "127.0.0.1"], async (t) => {
      const base = `http://127.0.0.1:${t.httpPort}`;
      const before = (await (await fetch(`${base}/stats?format=json`)).json()) as StatsSnapshot;
      expect(before.udp.receiveDrops).toBe(0);
      expect(before.udp.receiveQueueBytes).toBe(0);
      // The tracker runs in this process: while this loop runs, it reads nothing, so the burst
      // piles up in its socket's receive buffer (212,992 bytes by default; each datagram takes
      // ~1 KiB of it) and the kernel drops the rest. 20,000 datagrams outgrow any usual default.
      const client = await Bun.udpSocket({ hostname: "127.0.0.1" });
      try {
        const packet = connectPacket(7);
        const batch: (Buffer | number | string)[] = [];
        for (let i = 0; i < 500; i++) batch.push(packet, t.udpPort, "127.0.0.1");
        for (let k = 0; k < 40; k++) client.sendMany(batch);
        await Bun.sleep(200); // the tracker drains what was kept
        const after = (await (await fetch(`${base}/stats?format=json`)).json()) as StatsSnapshot;
        expect(after.udp.receiveDrops).toBeGreaterThan(0);
        expect(after.udp.receiveDrops! + after.udp.connects).toBeLessThanOrEqual(20_000);
        expect(after.udp.connects).toBeGreaterThan(0);
        const text = await (await fetch(`${base}/stats`)).text();
        expect(text).toMatch(/^stats\.receive_drops_udp += +[\d,]+ \(kernel: receive buffer full/m);
        const metrics = await (await fetch(`${base}/metrics`)).text();
        expect(metrics).toMatch(new RegExp(`^tracker_udp_receive_drops_total ${after.udp.receiveDrops}$`, "m"));
      } finally {
        client.close();
      }
    });
  });
});
