/**
 * The UDP reply queue against a scripted socket: what goes out in which call, and what happens
 * when a send fails (as it does once per departed client, when its ICMP error is reported).
 */
import { describe, expect, test } from "bun:test";
import type { udp } from "bun";
import { UdpReplyQueue } from "../src/server/udp-replies.ts";

type Sent = { data: string; port: number; address: string };

/** A socket whose sendMany stops at the datagrams in `failOnce` (each fails one time). */
function scriptedSocket(opts: { failOnce?: Set<string>; sendFailures?: number } = {}) {
  const sent: Sent[] = [];
  const calls: string[] = [];
  let sendFailures = opts.sendFailures ?? 0;
  const failOnce = opts.failOnce ?? new Set<string>();
  const sock = {
    sendMany(list: (Buffer | number | string)[]): number {
      calls.push(`sendMany(${list.length / 3})`);
      for (let i = 0; i < list.length; i += 3) {
        const data = (list[i] as Buffer).toString();
        if (failOnce.has(data)) {
          failOnce.delete(data);
          if (i === 0) throw new Error("ECONNREFUSED"); // a pending ICMP error, reported here
          return i / 3;
        }
        sent.push({ data, port: list[i + 1] as number, address: list[i + 2] as string });
      }
      return list.length / 3;
    },
    send(data: Buffer, port: number, address: string): boolean {
      calls.push("send");
      if (sendFailures > 0) {
        sendFailures--;
        throw new Error("ECONNREFUSED");
      }
      sent.push({ data: data.toString(), port, address });
      return true;
    },
  };
  return { sock: sock as unknown as udp.Socket<"buffer">, sent, calls };
}

function put(q: UdpReplyQueue, text: string, port: number): void {
  const len = q.next().write(text, 0);
  q.queue(len, port, "127.0.0.1");
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe("UdpReplyQueue", () => {
  test("replies queued in one turn go out in one sendMany, each with its length and destination", async () => {
    const s = scriptedSocket();
    const q = new UdpReplyQueue(8, 64);
    q.sock = s.sock;
    put(q, "a", 1001);
    put(q, "bb", 1002);
    put(q, "ccc", 1003);
    expect(s.sent).toHaveLength(0); // nothing before the turn ends
    await tick();
    expect(s.calls).toEqual(["sendMany(3)"]);
    expect(s.sent).toEqual([
      { data: "a", port: 1001, address: "127.0.0.1" },
      { data: "bb", port: 1002, address: "127.0.0.1" },
      { data: "ccc", port: 1003, address: "127.0.0.1" },
    ]);
  });

  test("a full pool is flushed at once, and its buffers are reused", async () => {
    const s = scriptedSocket();
    const q = new UdpReplyQueue(2, 64);
    q.sock = s.sock;
    put(q, "x1", 1);
    put(q, "x2", 2); // the pool is full: sent synchronously
    expect(s.calls).toEqual(["sendMany(2)"]);
    put(q, "y3", 3);
    await tick();
    expect(s.sent.map((x) => x.data)).toEqual(["x1", "x2", "y3"]);
  });

  test("the datagram sendMany stopped at is sent again alone, then the rest", async () => {
    const s = scriptedSocket({ failOnce: new Set(["r2"]) });
    const q = new UdpReplyQueue(8, 64);
    q.sock = s.sock;
    for (let k = 1; k <= 4; k++) put(q, `r${k}`, k);
    await tick();
    expect(s.calls).toEqual(["sendMany(4)", "send", "sendMany(2)"]);
    expect(s.sent.map((x) => x.data)).toEqual(["r1", "r2", "r3", "r4"]);
  });

  test("a failure on the first datagram (sendMany throws) is retried the same way", async () => {
    const s = scriptedSocket({ failOnce: new Set(["r1"]) });
    const q = new UdpReplyQueue(8, 64);
    q.sock = s.sock;
    for (let k = 1; k <= 3; k++) put(q, `r${k}`, k);
    await tick();
    expect(s.sent.map((x) => x.data)).toEqual(["r1", "r2", "r3"]);
  });

  test("a datagram that cannot be sent even alone is counted once; the others still go", async () => {
    let errors = 0;
    const s = scriptedSocket({ failOnce: new Set(["r2"]), sendFailures: 3 });
    const q = new UdpReplyQueue(8, 64, () => errors++);
    q.sock = s.sock;
    for (let k = 1; k <= 3; k++) put(q, `r${k}`, k);
    await tick();
    expect(errors).toBe(1);
    expect(s.calls.filter((c) => c === "send")).toHaveLength(3);
    expect(s.sent.map((x) => x.data)).toEqual(["r1", "r3"]);
  });

  // Regression: flush() without a socket returned before emptying the queue, so a full pool
  // stayed full and next() handed out a buffer past its end (undefined: the next write threw).
  test("without a socket (before binding, after close) replies are dropped quietly", async () => {
    const q = new UdpReplyQueue(2, 64);
    put(q, "a", 1);
    put(q, "b", 2); // full: flush with no socket
    put(q, "c", 3);
    await tick();
    const s = scriptedSocket();
    q.sock = s.sock;
    q.flush();
    expect(s.sent).toHaveLength(0);
  });
});
