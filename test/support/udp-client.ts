/**
 * Test support: a minimal BEP 15 client over a real UDP socket, with bounded waits.
 */
import type { udp } from "bun";
export class UdpClient {
  private waiting: ((b: Buffer) => void) | null = null;
  private inbox: Buffer[] = [];
  private constructor(private sock: udp.Socket<"buffer">, readonly target: { host: string; port: number }) {}

  static async open(host: string, port: number, bindHost = host.includes(":") ? "::1" : "127.0.0.1"): Promise<UdpClient> {
    let client: UdpClient | null = null;
    const sock = await Bun.udpSocket({
      hostname: bindHost,
      binaryType: "buffer",
      socket: {
        data(_s, buf) {
          const copy = Buffer.from(buf);
          if (client!.waiting) {
            const w = client!.waiting;
            client!.waiting = null;
            w(copy);
          } else client!.inbox.push(copy);
        },
        error() {},
      },
    });
    client = new UdpClient(sock, { host, port });
    return client;
  }

  get localPort(): number {
    return this.sock.port;
  }

  send(packet: Uint8Array): void {
    this.sock.send(packet, this.target.port, this.target.host);
  }

  /** The next datagram, or null after `ms`. */
  receive(ms = 2000): Promise<Buffer | null> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        resolve(null);
      }, ms);
      this.waiting = (b) => {
        clearTimeout(timer);
        resolve(b);
      };
    });
  }

  async request(packet: Uint8Array, ms = 2000): Promise<Buffer> {
    this.send(packet);
    const r = await this.receive(ms);
    if (r === null) throw new Error("no answer from the tracker");
    return r;
  }

  /** connect -> the 8-byte connection id. */
  async connect(tid = 0x1234): Promise<Buffer> {
    const r = await this.request(connectPacket(tid));
    if (r.readUInt32BE(0) !== 0 || r.readUInt32BE(4) !== tid) throw new Error("bad connect answer");
    return r.subarray(8, 16);
  }

  close(): void {
    this.sock.close();
  }
}

export function connectPacket(tid: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x417, 0);
  b.writeUInt32BE(0x27101980, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(tid, 12);
  return b;
}

export interface UdpAnnounce {
  connId: Uint8Array;
  tid?: number;
  infoHash: Uint8Array;
  peerId?: Uint8Array;
  left?: bigint;
  uploaded?: bigint;
  downloaded?: bigint;
  event?: number; // BEP 15: 0 none, 1 completed, 2 started, 3 stopped
  numWant?: number;
  port: number;
  options?: Uint8Array; // BEP 41 bytes appended after byte 98
}

export function announcePacket(a: UdpAnnounce): Buffer {
  const opts = a.options ?? new Uint8Array(0);
  const b = Buffer.alloc(98 + opts.length);
  b.set(a.connId, 0);
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(a.tid ?? 7, 12);
  b.set(a.infoHash, 16);
  b.set(a.peerId ?? new Uint8Array(20).fill(0x50), 36);
  b.writeBigUInt64BE(a.downloaded ?? 0n, 56);
  b.writeBigUInt64BE(a.left ?? 1000n, 64);
  b.writeBigUInt64BE(a.uploaded ?? 0n, 72);
  b.writeUInt32BE(a.event ?? 0, 80);
  b.writeUInt32BE(0, 84); // ip (ignored by the tracker)
  b.writeUInt32BE(0xcafe, 88); // key
  b.writeInt32BE(a.numWant ?? -1, 92);
  b.writeUInt16BE(a.port, 96);
  b.set(opts, 98);
  return b;
}

export function scrapePacket(connId: Uint8Array, hashes: Uint8Array[], tid = 9): Buffer {
  const b = Buffer.alloc(16 + 20 * hashes.length);
  b.set(connId, 0);
  b.writeUInt32BE(2, 8);
  b.writeUInt32BE(tid, 12);
  hashes.forEach((h, i) => b.set(h, 16 + 20 * i));
  return b;
}

export interface AnnounceAnswer { action: number; tid: number; interval: number; leechers: number; seeders: number; peers: Buffer }

export function readAnnounceAnswer(r: Buffer): AnnounceAnswer {
  return {
    action: r.readUInt32BE(0),
    tid: r.readUInt32BE(4),
    interval: r.readUInt32BE(8),
    leechers: r.readUInt32BE(12),
    seeders: r.readUInt32BE(16),
    peers: r.subarray(20),
  };
}

/** BEP 41 options carrying `path` as URL data (split in pieces of at most 255 bytes). */
export function urlDataOption(path: string): Uint8Array {
  const bytes = Buffer.from(path, "latin1");
  const parts: number[] = [];
  for (let i = 0; i < bytes.length; i += 255) {
    const piece = bytes.subarray(i, i + 255);
    parts.push(0x02, piece.length, ...piece);
  }
  parts.push(0x00);
  return new Uint8Array(parts);
}

/** The message of a BEP 15 error packet, or null when the packet is not one. */
export function errorMessage(r: Buffer): string | null {
  return r.readUInt32BE(0) === 3 ? r.subarray(8).toString("utf8") : null;
}
