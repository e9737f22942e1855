/**
 * The load's torrents: a deterministic list of 20-byte info_hashes for a given count and seed.
 *
 * Torrent i is the i-th most popular one (see ZipfSampler). The list for N torrents is a
 * prefix of the list for any larger N with the same seed, so a whitelist written for 520,000
 * torrents also covers a 10,000-torrent load. opentracker as packaged by Debian is built in
 * whitelist mode: it refuses every announce whose info_hash is not in its whitelist file,
 * which is why the comparison writes one from this list.
 */
import { Rng } from "./rng.ts";

/** The default seed of every load (and of the whitelist the comparison writes). */
export const DEFAULT_SEED = 1;

/** Mixed into the seed so info_hashes and the client population draw different streams. */
const INFO_HASH_STREAM = 0x1f0a_c0de;

/** `torrents` info_hashes, 20 bytes each, back to back: hash i is bytes [20i, 20i + 20). */
export function generateInfoHashes(torrents: number, seed: number = DEFAULT_SEED): Buffer {
  if (!Number.isInteger(torrents) || torrents < 1) {
    throw new Error(`torrents must be a positive integer, got ${torrents}`);
  }
  const rng = new Rng((seed ^ INFO_HASH_STREAM) >>> 0);
  const out = Buffer.allocUnsafe(torrents * 20);
  for (let i = 0; i < torrents * 20; i += 4) out.writeUInt32BE(rng.u32(), i);
  return out;
}

/** Hash i as 40 lowercase hex characters. */
export function infoHashHex(hashes: Buffer, i: number): string {
  return hashes.toString("hex", i * 20, i * 20 + 20);
}

/** The whitelist file's text: one 40-hex info_hash per line (opentracker's `-w` format). */
export function whitelistText(hashes: Buffer): string {
  const n = hashes.length / 20;
  const lines = new Array<string>(n);
  for (let i = 0; i < n; i++) lines[i] = infoHashHex(hashes, i);
  return lines.join("\n") + "\n";
}

/** Writes the whitelist for `torrents` hashes of `seed` to `path`; returns the hash count. */
export async function writeWhitelist(path: string, torrents: number, seed: number = DEFAULT_SEED): Promise<number> {
  await Bun.write(path, whitelistText(generateInfoHashes(torrents, seed)));
  return torrents;
}
