/**
 * Test support: start the real tracker on a free port and talk to it over real sockets.
 */
import bencode from "bencode";
import { parseCommandLine } from "../../src/config/config.ts";
import type { Config } from "../../src/config/types.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { startTracker, type Tracker } from "../../src/tracker.ts";

/** A config from command-line words (port 0, quiet), as main.ts would build it. */
export function testConfig(args: string[] = [], overrides: Partial<Config> = {}): Config {
  const r = parseCommandLine(["0", "--quiet", ...args], {});
  if (r.kind !== "run") throw new Error(`bad test config: ${JSON.stringify(r)}`);
  return { ...r.config, ...overrides };
}

export async function withTracker(
  args: string[],
  fn: (t: Tracker) => Promise<void>,
  overrides: Partial<Config> = {},
): Promise<void> {
  const t = await startTracker(testConfig(args, overrides));
  try {
    await fn(t);
  } finally {
    await t.stop();
  }
}

/** Percent-encode every byte (what careful clients do for info_hash and peer_id). */
export function pct(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += "%" + b.toString(16).padStart(2, "0");
  return s;
}

export function bytes20(fill: number, tag = 0): Uint8Array {
  const b = new Uint8Array(20).fill(fill);
  b[0] = tag;
  return b;
}

export interface AnnounceParams {
  infoHash: Uint8Array;
  peerId?: Uint8Array;
  port: number;
  left?: string;
  event?: string;
  extra?: string;
}

export function announceUrl(base: string, p: AnnounceParams): string {
  const peerId = p.peerId ?? bytes20(0x41, p.port & 0xff);
  let q = `info_hash=${pct(p.infoHash)}&peer_id=${pct(peerId)}&port=${p.port}&uploaded=0&downloaded=0&left=${p.left ?? "100"}`;
  if (p.event !== undefined) q += `&event=${p.event}`;
  if (p.extra) q += `&${p.extra}`;
  return `${base}/announce?${q}`;
}

/** GET a URL and bencode-decode the body (strings stay Uint8Array). */
export async function getBencoded(url: string): Promise<any> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`status ${res.status} for ${url}`);
  const body = new Uint8Array(await res.arrayBuffer());
  return bencode.decode(body);
}

export function text(b: Uint8Array | undefined): string {
  return b === undefined ? "" : new TextDecoder().decode(b);
}

/** Split compact peers into "a.b.c.d:port" / "[v6]:port" strings. */
export function compactPeers(b: Uint8Array, stride: 6 | 18): string[] {
  const out: string[] = [];
  for (let o = 0; o + stride <= b.length; o += stride) {
    const port = (b[o + stride - 2]! << 8) | b[o + stride - 1]!;
    if (stride === 6) out.push(`${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}:${port}`);
    else {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(((b[o + i]! << 8) | b[o + i + 1]!).toString(16));
      out.push(`[${groups.join(":")}]:${port}`);
    }
  }
  return out;
}

/** The tracker's store as the in-memory store (what every test tracker runs), for verify(). */
export function memoryStoreOf(t: Tracker): MemoryStore {
  const s = t.rules.store;
  if (!(s instanceof MemoryStore)) throw new Error("the tracker does not run the in-memory store");
  return s;
}
