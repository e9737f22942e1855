/**
 * The largest swarms as one sweep cycle saw them: at most `capacity` torrents by peers, largest
 * first, for MemoryStore.topTorrents (the operator dashboard).
 *
 * Kept by the sweep, which visits every torrent once a cycle anyway: offer() is called once per
 * torrent the cycle visits, so an announce does nothing for this list and no query ever walks
 * 10M torrents. Once the list is full, a swarm no larger than its smallest entry costs one
 * compare (the caller checks `floor` first); a larger one is inserted into at most `capacity`
 * entries. Memory: capacity x (4 + 4 + 20) bytes.
 *
 * Each entry keeps the torrent id and a copy of its info_hash: by the time the list is read the
 * id may have been freed and handed to another torrent, which the hash tells apart.
 */
/** Bytes of an info_hash. */
const INFO_HASH_LENGTH = 20;

export class TopSwarms {
  /** Torrent ids, largest swarm first. */
  readonly ids: Int32Array;
  /** Their peers when offered. */
  readonly peers: Uint32Array;
  /** Their info_hashes, 20 bytes each, in the same order. */
  readonly hashes: Uint8Array;
  count = 0;

  constructor(readonly capacity: number) {
    this.ids = new Int32Array(capacity);
    this.peers = new Uint32Array(capacity);
    this.hashes = new Uint8Array(capacity * INFO_HASH_LENGTH);
  }

  /**
   * Offer only swarms larger than this: the smallest kept swarm's peers when the list is full,
   * 0 otherwise (an empty swarm is never kept).
   */
  get floor(): number {
    return this.count < this.capacity ? 0 : this.peers[this.count - 1]!;
  }

  /** Keep torrent t (peers > floor) with its hash hash[off .. off + 20], in its place by size. */
  offer(t: number, peers: number, hash: Uint8Array, off: number): void {
    if (peers <= this.floor) return;
    // The new entry's place: after every entry at least as large (ties keep the earlier one).
    let i = this.count < this.capacity ? this.count++ : this.count - 1;
    for (; i > 0 && this.peers[i - 1]! < peers; i--) {
      this.ids[i] = this.ids[i - 1]!;
      this.peers[i] = this.peers[i - 1]!;
      this.hashes.copyWithin(i * INFO_HASH_LENGTH, (i - 1) * INFO_HASH_LENGTH, i * INFO_HASH_LENGTH);
    }
    this.ids[i] = t;
    this.peers[i] = peers;
    for (let k = 0; k < INFO_HASH_LENGTH; k++) this.hashes[i * INFO_HASH_LENGTH + k] = hash[off + k]!;
  }

  /** Whether entry i's hash equals hash[off .. off + 20]. */
  sameHash(i: number, hash: Uint8Array, off: number): boolean {
    const base = i * INFO_HASH_LENGTH;
    for (let k = 0; k < INFO_HASH_LENGTH; k++) if (this.hashes[base + k] !== hash[off + k]) return false;
    return true;
  }

  /** Entry i's info_hash as 40 lowercase hex characters. */
  hexHash(i: number): string {
    return Buffer.from(this.hashes.buffer, this.hashes.byteOffset + i * INFO_HASH_LENGTH, INFO_HASH_LENGTH).toString("hex");
  }

  clear(): void {
    this.count = 0;
  }
}
