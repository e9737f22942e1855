/**
 * A UDP "ceiling" for the comparison: Bun answering BEP 15 with no tracker work at all.
 *
 *   bun run bench/compare/udp-ceiling.ts PORT [--host 127.0.0.1]
 *
 * This is NOT a tracker: it stores nothing, checks no connection id and always returns the
 * same peers. It exists to measure how much of our tracker's per-packet cost is Bun's own
 * (one `data` callback per datagram, a Buffer and an address string per packet, sendMany
 * parsing every reply's address) rather than the tracker's (parsing, connection ids, the
 * swarm store). Its replies go through the tracker's own reply queue
 * (src/server/udp-replies.ts: pooled buffers, one sendMany per event-loop turn, a synchronous
 * flush at 256 queued, the same fallback after a failed send), and they have the sizes a real
 * tracker's would, so the load generator's checks pass and the only difference from ours is
 * the tracker work:
 *
 *   connect  (16 bytes with the protocol id)  -> 16: action 0, txid, a fixed connection id
 *   announce (>= 98 bytes)                    -> 20 + 6 * min(numwant, 50) (18 per peer on
 *            ::1): action 1, txid, interval 1800, 25 leechers, 25 seeders, fixed peers;
 *            numwant < 0 (-1 is "default") means 50, 0 means none (as ours does)
 *   scrape   (>= 36 bytes, n whole hashes)    -> 8 + 12 * min(n, 74): action 2, txid, zeros
 *   anything else                             -> dropped, no answer
 *
 * Loopback only (127.0.0.0/8 or ::1): any other --host is refused before a socket is opened.
 * Prints one line "udp-ceiling listening on HOST:PORT" once bound (PORT 0 picks a free one);
 * readiness is otherwise checked like any tracker's, with a UDP connect + announce
 * (servers.ts, probeUdp). Stop it with SIGTERM or SIGINT.
 */
import type { udp } from "bun";
import { UdpReplyQueue } from "../../src/server/udp-replies.ts";
import { isLoopbackAddress } from "../load/target.ts";

/** Replies queued before a synchronous flush (as in src/server/udp.ts). */
const POOL_SIZE = 256;
/** Peers in an announce answer at most, and when numwant is absent (-1). */
const MAX_PEERS = 50;
/** Hashes answered in one scrape at most (our tracker's default scrape-max-hashes). */
const MAX_SCRAPE_HASHES = 74;
const INTERVAL = 1800;
const LEECHERS = 25; // leechers + seeders >= MAX_PEERS: the load checks peers <= their sum
const SEEDERS = 25;
const PROTOCOL_ID_HI = 0x417;
const PROTOCOL_ID_LO = 0x27101980;
const CONNECTION_ID_HI = 0x5ce11;
const CONNECTION_ID_LO = 0x1ceb00da;

const USAGE = "Usage: bun run bench/compare/udp-ceiling.ts PORT [--host 127.0.0.1]";

function parseArgs(argv: string[]): { host: string; port: number } {
  let host = "127.0.0.1";
  let portText: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--host") {
      const v = argv[++i];
      if (v === undefined) fail("--host needs a value");
      host = v === "localhost" ? "127.0.0.1" : v;
    } else if (a === "--help" || a === "-h") {
      console.error(USAGE);
      process.exit(0);
    } else if (portText === undefined && /^\d+$/.test(a)) {
      portText = a;
    } else {
      fail(`unexpected argument ${a}`);
    }
  }
  if (portText === undefined) fail("PORT is required");
  const port = Number(portText);
  if (port > 65535) fail(`port out of range: ${port}`);
  if (!isLoopbackAddress(host)) fail(`refusing non-loopback host "${host}": only 127.0.0.0/8 and ::1 are allowed`);
  return { host: host.includes(":") ? "::1" : host, port };
}

function fail(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  process.exit(2);
}

/**
 * MAX_PEERS fixed compact peer records (127.0.0.2 or ::2, ports 10000...), copied into each
 * announce answer: about what a tracker's own copy of its peer list costs.
 */
function fixedPeers(peerSize: number): Buffer {
  const peers = Buffer.alloc(MAX_PEERS * peerSize);
  for (let i = 0; i < MAX_PEERS; i++) {
    const o = i * peerSize;
    peers[o + peerSize - 3] = 2; // last address byte: 127.0.0.2 (the v4 prefix below) or ::2
    if (peerSize === 6) peers[o] = 127;
    peers.writeUInt16BE(10_000 + i, o + peerSize - 2);
  }
  return peers;
}

async function serve(hostname: string, port: number): Promise<udp.Socket<"buffer">> {
  const peerSize = hostname.includes(":") ? 18 : 6;
  const peers = fixedPeers(peerSize);
  const maxReply = Math.max(20 + peerSize * MAX_PEERS, 8 + 12 * MAX_SCRAPE_HASHES, 256);
  // The tracker's own reply queue: the same pool, batching and retries, so the only difference
  // from the tracker is the tracker work.
  const replies = new UdpReplyQueue(POOL_SIZE, maxReply);

  /** Writes the answer to `buf` into `out`; its length, or 0 to drop. */
  function answer(buf: Buffer, out: Buffer): number {
    const len = buf.length;
    if (len < 16) return 0;
    const action = buf.readUInt32BE(8);
    const tid = buf.readUInt32BE(12);
    if (action === 0) {
      if (buf.readUInt32BE(0) !== PROTOCOL_ID_HI || buf.readUInt32BE(4) !== PROTOCOL_ID_LO) return 0;
      out.writeUInt32BE(0, 0);
      out.writeUInt32BE(tid, 4);
      out.writeUInt32BE(CONNECTION_ID_HI, 8);
      out.writeUInt32BE(CONNECTION_ID_LO, 12);
      return 16;
    }
    if (action === 1) {
      if (len < 98) return 0;
      const numwant = buf.readInt32BE(92);
      const n = numwant < 0 || numwant > MAX_PEERS ? MAX_PEERS : numwant; // 0 asks for none, as in ours
      out.writeUInt32BE(1, 0);
      out.writeUInt32BE(tid, 4);
      out.writeUInt32BE(INTERVAL, 8);
      out.writeUInt32BE(LEECHERS, 12);
      out.writeUInt32BE(SEEDERS, 16);
      return 20 + peers.copy(out, 20, 0, n * peerSize);
    }
    if (action === 2) {
      if (len < 36) return 0;
      const n = Math.min(Math.floor((len - 16) / 20), MAX_SCRAPE_HASHES); // a partial hash is ignored
      out.writeUInt32BE(2, 0);
      out.writeUInt32BE(tid, 4);
      out.fill(0, 8, 8 + 12 * n);
      return 8 + 12 * n;
    }
    return 0;
  }

  const sock = await Bun.udpSocket({
    hostname,
    port,
    binaryType: "buffer",
    socket: {
      data(_s, buf, rport, address) {
        try {
          const len = answer(buf, replies.next());
          if (len > 0) replies.queue(len, rport, address);
        } catch (e) {
          console.error("udp-ceiling: unexpected error", e); // as ours: log, keep serving
        }
      },
      error() {
        // ICMP errors (port unreachable from a departed client); without a handler Bun exits.
      },
    },
  });
  replies.sock = sock;
  return sock;
}

const { host, port } = parseArgs(Bun.argv.slice(2));
const sock = await serve(host, port);
console.log(`udp-ceiling listening on ${host}:${sock.port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    sock.close();
    process.exit(0);
  });
}
