/**
 * The real tracker (src/tracker.ts, configured by src/config.ts exactly as main.ts does), with
 * a tap on its sockets that reports every request and answer on stdout, one JSON object a line.
 *
 *   bun test/e2e/observed-tracker.ts <tracker command-line words...>
 *
 * The tap wraps Bun.serve's `fetch` and Bun.udpSocket's `data` callback and `send`/`sendMany`
 * before startTracker() runs: no proxy sits in front, so the tracker sees the clients' real
 * source addresses and the bytes are the bytes the clients sent. Used by the e2e suite to assert
 * what real clients send (and what they were told) and to document it.
 *
 * Lines written (see TrafficEvent in traffic.ts):
 *   {"t":"listening","httpPort":N,"udpPort":N,"host":"..."}
 *   {"t":"http","from":"127.0.0.1","target":"/announce?...","status":200,"body":"<base64>"}
 *   {"t":"udp-in","from":"127.0.0.1","port":N,"hex":"..."}
 *   {"t":"udp-out","to":"127.0.0.1","port":N,"hex":"..."}
 *   {"t":"counters","counters":{"udpAnnounces":3,...}}      (on SIGTERM, the non-zero counters)
 * Test-only code: it allocates freely.
 */
import { parseCommandLine } from "../../src/config/config.ts";
import { COUNTER_NAMES } from "../../src/rules/counters.ts";
import { startTracker } from "../../src/tracker.ts";

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + "\n");
}

type AnyFn = (...args: any[]) => any;
const realServe = Bun.serve as AnyFn;
const realUdpSocket = Bun.udpSocket as AnyFn;

(Bun as any).serve = (options: any) => {
  const fetch = options.fetch as AnyFn;
  return realServe({
    ...options,
    async fetch(req: Request, server: any) {
      const res: Response = await fetch(req, server);
      const body = Buffer.from(await res.clone().arrayBuffer());
      const url = req.url;
      const target = url.slice(url.indexOf("/", url.indexOf("//") + 2));
      emit({
        t: "http",
        from: server.requestIP(req)?.address ?? null,
        target,
        userAgent: req.headers.get("user-agent"),
        status: res.status,
        body: body.toString("base64"),
      });
      return res;
    },
  });
};

(Bun as any).udpSocket = async (options: any) => {
  const data = options.socket?.data as AnyFn | undefined;
  const wrapped = {
    ...options,
    socket: {
      ...options.socket,
      data(s: any, buf: Buffer, port: number, address: string) {
        emit({ t: "udp-in", from: address, port, hex: Buffer.from(buf).toString("hex") });
        return data?.(s, buf, port, address);
      },
    },
  };
  const sock = await realUdpSocket(wrapped);
  // Answers: sendMany takes a flat list (data, port, address, ...); send takes one.
  const send = sock.send.bind(sock) as AnyFn;
  const sendMany = sock.sendMany.bind(sock) as AnyFn;
  sock.send = (buf: Uint8Array, port: number, address: string) => {
    emit({ t: "udp-out", to: address, port, hex: Buffer.from(buf).toString("hex") });
    return send(buf, port, address);
  };
  sock.sendMany = (list: unknown[]) => {
    const sent = sendMany(list);
    for (let i = 0; i < sent; i++) {
      const buf = list[i * 3] as Uint8Array;
      emit({ t: "udp-out", to: list[i * 3 + 2], port: list[i * 3 + 1], hex: Buffer.from(buf).toString("hex") });
    }
    return sent;
  };
  return sock;
};

const cli = parseCommandLine(process.argv.slice(2), {});
if (cli.kind !== "run") {
  process.stderr.write(`observed-tracker: not a run configuration: ${JSON.stringify(cli)}\n`);
  process.exit(2);
}
const tracker = await startTracker(cli.config, { log: (line) => process.stderr.write(line + "\n") });
emit({ t: "listening", httpPort: tracker.httpPort, udpPort: tracker.udpPort, host: cli.config.host });

async function stop(): Promise<void> {
  setTimeout(() => process.exit(0), 2000).unref();
  await tracker.stop();
  // The tracker's own counters (send errors, ICMP errors, drops...), for diagnosis.
  const counters: Record<string, number> = {};
  COUNTER_NAMES.forEach((name, i) => {
    if (tracker.rules.counters[i]) counters[name] = tracker.rules.counters[i]!;
  });
  emit({ t: "counters", counters });
  process.exit(0);
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
