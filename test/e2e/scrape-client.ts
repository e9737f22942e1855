/**
 * Ask the tracker for one torrent's counts over both protocols and print them as JSON:
 *
 *   bun test/e2e/scrape-client.ts <host> <port> <info_hash hex> [passkey]
 *   -> {"http":{"complete":1,"downloaded":0,"incomplete":0},"udp":{"complete":1,"downloaded":0,"incomplete":0}}
 *
 * With a passkey (private mode) HTTP asks /<passkey>/scrape and UDP is not asked (a UDP scrape
 * carries no key: private mode refuses it); "udp" then repeats the HTTP counts.
 *
 * Runs inside the swarm's network namespace (the test process itself cannot reach it).
 * HTTP: GET /scrape?info_hash=<every byte %-escaped>, decoded with npm `bencode`.
 * UDP (BEP 15): connect, then scrape; answer entries are seeders, completed, leechers.
 * Every wait is bounded; exits 1 with a message on any failure.
 */
import bencode from "bencode";
import { SCRAPE_CLIENT_TRANSACTION_ID } from "./traffic.ts";

const [host, portText, hashHex, passkey] = process.argv.slice(2);
if (!host || !portText || !hashHex || !/^[0-9a-f]{40}$/i.test(hashHex)) {
  process.stderr.write("usage: scrape-client.ts <host> <port> <info_hash hex> [passkey]\n");
  process.exit(2);
}
const port = Number(portText);
const hash = Buffer.from(hashHex, "hex");
const TIMEOUT_MS = 3000;

interface Counts {
  complete: number;
  downloaded: number;
  incomplete: number;
}

async function httpScrape(): Promise<Counts> {
  const h = host!.includes(":") ? `[${host}]` : host;
  const q = [...hash].map((b) => "%" + b.toString(16).padStart(2, "0")).join("");
  const path = passkey === undefined ? "/scrape" : `/${passkey}/scrape`;
  const res = await fetch(`http://${h}:${port}${path}?info_hash=${q}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = bencode.decode(Buffer.from(await res.arrayBuffer())) as any;
  if (body["failure reason"]) throw new Error(`HTTP scrape failed: ${Buffer.from(body["failure reason"]).toString()}`);
  // One hash asked, one entry expected. (npm bencode v4 turns a binary dict key into its hex.)
  const files = Object.entries(body.files as Record<string, any>);
  if (files.length !== 1 || (files[0]![0] !== hashHex && files[0]![0] !== hash.toString("latin1"))) {
    throw new Error(`HTTP scrape: expected one entry for ${hashHex}, got keys ${files.map(([k]) => k).join(", ")}`);
  }
  const entry = files[0]![1];
  return { complete: entry.complete, downloaded: entry.downloaded, incomplete: entry.incomplete };
}

async function udpScrape(): Promise<Counts> {
  let resolveNext: ((b: Buffer) => void) | null = null;
  const sock = await Bun.udpSocket({
    hostname: host!.includes(":") ? "::1" : "127.0.0.1",
    binaryType: "buffer",
    socket: {
      data(_s, buf) {
        const r = resolveNext;
        resolveNext = null;
        r?.(Buffer.from(buf));
      },
      error() {},
    },
  });
  try {
    const exchange = async (packet: Buffer): Promise<Buffer> => {
      const answer = new Promise<Buffer>((resolve, reject) => {
        resolveNext = resolve;
        setTimeout(() => reject(new Error("UDP scrape: no answer")), TIMEOUT_MS);
      });
      sock.send(packet, port, host!);
      return answer;
    };
    const tid = SCRAPE_CLIENT_TRANSACTION_ID;
    const connect = Buffer.alloc(16);
    connect.writeUInt32BE(0x417, 0);
    connect.writeUInt32BE(0x27101980, 4);
    connect.writeUInt32BE(0, 8);
    connect.writeUInt32BE(tid, 12);
    const c = await exchange(connect);
    if (c.readUInt32BE(0) !== 0 || c.readUInt32BE(4) !== tid) throw new Error(`UDP connect: bad answer ${c.toString("hex")}`);
    const scrape = Buffer.alloc(36);
    c.copy(scrape, 0, 8, 16);
    scrape.writeUInt32BE(2, 8);
    scrape.writeUInt32BE(tid + 1, 12);
    hash.copy(scrape, 16);
    const s = await exchange(scrape);
    if (s.length !== 20 || s.readUInt32BE(0) !== 2 || s.readUInt32BE(4) !== tid + 1) {
      throw new Error(`UDP scrape: bad answer ${s.toString("hex")}`);
    }
    return { complete: s.readUInt32BE(8), downloaded: s.readUInt32BE(12), incomplete: s.readUInt32BE(16) };
  } finally {
    sock.close();
  }
}

try {
  const [http, udp] = passkey === undefined ? await Promise.all([httpScrape(), udpScrape()]) : await httpScrape().then((c) => [c, c]);
  process.stdout.write(JSON.stringify({ http, udp }) + "\n");
  process.exit(0);
} catch (e) {
  process.stderr.write(`scrape-client: ${(e as Error).message}\n`);
  process.exit(1);
}
