/**
 * What the kernel says about the tracker's UDP socket: datagrams it dropped because the
 * socket's receive buffer was full, and the bytes waiting in it now (Linux, /proc/net/udp and
 * /proc/net/udp6; null elsewhere).
 *
 * Why an operator wants it: Bun cannot set SO_RCVBUF, so the socket gets the system default
 * (`net.core.rmem_default`, 212,992 bytes on most systems: ~250 announces in flight). A burst
 * beyond that is dropped by the kernel before the tracker sees it; the clients retry after
 * 15 s. These drops show up nowhere else. Raising `net.core.rmem_default` (and restarting)
 * is the fix; README.md says how.
 *
 * The line format (one socket per line, hex fields):
 *   sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
 *   ref pointer drops
 * e.g. ` 1753: 0100007F:1B39 00000000:0000 07 00000000:00000000 00:00000000 00000000  0  0
 * 29304469 2 00000000d91588af 0`. Only sockets bound to `port` count; when other processes
 * have sockets on that port too (other addresses), only this process's are kept (their inodes,
 * from /proc/self/fd, found once and remembered).
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface UdpReceiveStats {
  /** Datagrams dropped by the kernel (receive buffer full), since the socket was opened. */
  drops: number;
  /** Bytes waiting in the receive buffer now. */
  queuedBytes: number;
}

/** One socket line of /proc/net/udp(6), the fields we use. */
export interface ProcUdpSocket {
  port: number;
  inode: number;
  queuedBytes: number;
  drops: number;
}

/** The socket lines of a /proc/net/udp or /proc/net/udp6 text (the header and junk skipped). */
export function parseProcNetUdp(text: string): ProcUdpSocket[] {
  const sockets: ProcUdpSocket[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13 || !/^\d+:$/.test(f[0]!)) continue;
    const local = f[1]!;
    const queues = f[4]!;
    const port = parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
    const queuedBytes = parseInt(queues.slice(queues.indexOf(":") + 1), 16);
    const inode = Number(f[9]);
    const drops = Number(f[f.length - 1]);
    if (![port, queuedBytes, inode, drops].every(Number.isFinite)) continue;
    sockets.push({ port, inode, queuedBytes, drops });
  }
  return sockets;
}

/** Inodes of this process's sockets (from the /proc/self/fd links "socket:[N]"). */
function ownSocketInodes(): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * A reader for the socket(s) on `port`. Each call reads /proc afresh (for /stats and /metrics,
 * not per request). Returns null where /proc/net/udp cannot be read.
 */
export function udpReceiveStatsReader(
  port: number,
  files: readonly string[] = ["/proc/net/udp", "/proc/net/udp6"],
  ownInodes: () => Set<number> = ownSocketInodes,
): () => UdpReceiveStats | null {
  let mine: Set<number> | null = null;
  return () => {
    const onPort: ProcUdpSocket[] = [];
    let readable = false;
    for (const file of files) {
      try {
        const text = readFileSync(file, "utf8");
        readable = true;
        for (const s of parseProcNetUdp(text)) if (s.port === port) onPort.push(s);
      } catch {
        // no IPv6, or not Linux
      }
    }
    if (!readable) return null;
    let ours = onPort;
    if (mine !== null) ours = onPort.filter((s) => mine!.has(s.inode));
    else if (onPort.length > 1) {
      const own = ownInodes();
      ours = onPort.filter((s) => own.has(s.inode));
      if (ours.length > 0) mine = new Set(ours.map((s) => s.inode));
    }
    const stats: UdpReceiveStats = { drops: 0, queuedBytes: 0 };
    for (const s of ours) {
      stats.drops += s.drops;
      stats.queuedBytes += s.queuedBytes;
    }
    return stats;
  };
}
