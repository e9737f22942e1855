/**
 * Test support for tests that call the rules directly (as an adapter does): requests described
 * by a few fields, and the chosen peers read back as text.
 */
import { EVENT_NONE, type AnnounceEvent } from "../../src/protocol/events.ts";
import type { AnnounceRequest, ScrapeRequest } from "../../src/rules/requests.ts";
import type { AnnounceResult } from "../../src/rules/results.ts";

/** Torrent n's info_hash: n, then nineteen 0x11 bytes. */
export function ih(n: number): Uint8Array {
  const b = new Uint8Array(20).fill(0x11);
  b[0] = n;
  return b;
}

export interface Announce {
  torrent?: number;
  /** The peer's address is 10.0.0.<peer> (IPv4) or 2001:db8::<peer> (IPv6), port 6881. */
  peer: number;
  family?: 4 | 6;
  seeder?: boolean;
  event?: AnnounceEvent;
  numwant?: number;
  both?: boolean;
  wantsPeerIds?: boolean;
  peerId?: Uint8Array;
  /** Default 6881. */
  port?: number;
  passkey?: string | null;
  uploaded?: number;
  downloaded?: number;
}

/** Fill a (reused) announce request as an adapter would. */
export function fillAnnounce(req: AnnounceRequest, a: Announce): AnnounceRequest {
  const family = a.family ?? 4;
  req.infoHash = ih(a.torrent ?? 1);
  req.peerId = a.peerId ?? new Uint8Array(20).fill(a.peer);
  req.family = family;
  req.record.fill(0);
  const port = a.port ?? 6881;
  if (family === 4) req.record.set([10, 0, 0, a.peer, port >> 8, port & 255]);
  else req.record.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, a.peer, port >> 8, port & 255]);
  req.leftIsZero = a.seeder ?? false;
  req.event = a.event ?? EVENT_NONE;
  req.numwant = a.numwant ?? -1;
  req.bothFamilies = a.both ?? false;
  req.wantsPeerIds = a.wantsPeerIds ?? false;
  req.passkey = a.passkey ?? null;
  req.uploaded = a.uploaded ?? 0;
  req.downloaded = a.downloaded ?? 0;
  return req;
}

/** Fill a scrape request for torrents (by number), with a passkey or none. */
export function fillScrape(sreq: ScrapeRequest, passkey: string | null, torrents: number[]): ScrapeRequest {
  sreq.passkey = passkey;
  sreq.hashes = new Uint8Array(20 * torrents.length);
  torrents.forEach((t, i) => sreq.hashes.set(ih(t), i * 20));
  sreq.count = torrents.length;
  return sreq;
}

/** The chosen peers of a family as "a.b.c.d:port" / "[v6 last byte]:port" strings. */
export function listed(res: AnnounceResult, family: 4 | 6): string[] {
  const w = res.peers(family);
  const out = new Uint8Array(w.count * w.stride);
  w.writeCompact(out, 0);
  const list: string[] = [];
  for (let o = 0; o < out.length; o += w.stride) {
    const port = (out[o + w.stride - 2]! << 8) | out[o + w.stride - 1]!;
    list.push(family === 4 ? `${out.subarray(o, o + 4).join(".")}:${port}` : `[::${out[o + 15]}]:${port}`);
  }
  return list;
}
