/**
 * The simulated swarm population shared by every mode: torrents, clients, and what each
 * client asks next. Columns in typed arrays, one entry per client; nothing is allocated per
 * request.
 *
 * Workload model (after aquatic's load tester): every client is bound to one torrent drawn
 * by Zipf popularity, announces it over and over, first with event=started, then regular
 * announces; now and then a leecher completes (and seeds from then on), or a client stops
 * (and re-joins with started next time). A small share of requests are scrapes of 1..K
 * torrents, also drawn by popularity. Clients are served round-robin, one request in flight
 * per client, so every client's sequence is a real client's sequence, compressed in time.
 */
import { generateInfoHashes } from "./info-hashes.ts";
import type { LoadOptions } from "./options.ts";
import { Rng, ZipfSampler } from "./rng.ts";

/** BEP 15 event numbers (also used for HTTP, mapped to the strings there). */
export const EVENT_NONE = 0;
export const EVENT_COMPLETED = 1;
export const EVENT_STARTED = 2;
export const EVENT_STOPPED = 3;

export const KIND_CONNECT = 0;
export const KIND_ANNOUNCE = 1;
export const KIND_SCRAPE = 2;

/** `left` announced by leechers (any non-zero value will do). */
export const LEECHER_LEFT = 1_000_000_000;

/** Stream separation for the population's own random draws. */
const POPULATION_STREAM = 0x5eed_c11e;

/** Client ports start here; client i gets FIRST_PORT + i mod PORT_SPAN. */
const FIRST_PORT = 1025;
const PORT_SPAN = 65535 - FIRST_PORT + 1;

export class Population {
  readonly torrents: number;
  readonly clients: number;
  /** 20 bytes per torrent. */
  readonly infoHashes: Buffer;
  /** 20 bytes per client: "-LG0001-" + 12 random bytes (Azureus style). */
  readonly peerIds: Buffer;
  /** The torrent each client announces. */
  readonly torrentOf: Int32Array;
  /**
   * The port each client announces. All clients share 127.0.0.1, and a tracker tells peers
   * apart by (address, port), so ports are distinct (up to 64,511 clients; beyond that two
   * clients collide only if they also share a torrent).
   */
  readonly portOf: Uint16Array;
  /** 1 if the client is a seeder (left = 0). */
  readonly seeder: Uint8Array;
  /** 1 after the tracker acknowledged the client's started announce (until it stops). */
  readonly joined: Uint8Array;
  /** 1 while the client has a request in flight. */
  readonly busy: Uint8Array;
  /** Scratch filled by planScrape(): the torrents of the scrape being built. */
  readonly scrapeTorrents: Int32Array;
  readonly rng: Rng;
  private readonly zipf: ZipfSampler;
  private readonly options: LoadOptions;
  private cursor = 0;

  constructor(options: LoadOptions) {
    this.options = options;
    this.torrents = options.torrents;
    this.clients = options.clients;
    this.infoHashes = generateInfoHashes(options.torrents, options.seed);
    this.zipf = new ZipfSampler(options.torrents, options.zipf);
    this.rng = new Rng((options.seed ^ POPULATION_STREAM) >>> 0);
    const m = options.clients;
    this.peerIds = Buffer.allocUnsafe(20 * m);
    this.torrentOf = new Int32Array(m);
    this.portOf = new Uint16Array(m);
    this.seeder = new Uint8Array(m);
    this.joined = new Uint8Array(m);
    this.busy = new Uint8Array(m);
    this.scrapeTorrents = new Int32Array(options.scrapeMax);
    const prefix = Buffer.from("-LG0001-");
    for (let i = 0; i < m; i++) {
      prefix.copy(this.peerIds, 20 * i);
      for (let j = 8; j < 20; j += 4) this.peerIds.writeUInt32BE(this.rng.u32(), 20 * i + j);
      this.torrentOf[i] = this.zipf.sample(this.rng);
      this.portOf[i] = FIRST_PORT + (i % PORT_SPAN);
      this.seeder[i] = this.rng.float() < options.seeders ? 1 : 0;
    }
  }

  /** The next client without a request in flight (round-robin), or -1 if all are busy. */
  nextIdleClient(): number {
    const m = this.clients;
    let c = this.cursor;
    for (let tries = 0; tries < m; tries++) {
      if (++c >= m) c = 0;
      if (this.busy[c] === 0) {
        this.cursor = c;
        return c;
      }
    }
    return -1;
  }

  /** KIND_ANNOUNCE or KIND_SCRAPE for the client's next request. */
  planKind(): number {
    return this.options.scrapeChance > 0 && this.rng.float() < this.options.scrapeChance
      ? KIND_SCRAPE
      : KIND_ANNOUNCE;
  }

  /** The event of the client's next announce. */
  planEvent(client: number): number {
    if (this.joined[client] === 0) return EVENT_STARTED;
    const r = this.rng.float();
    if (r < this.options.stopChance) return EVENT_STOPPED;
    if (this.seeder[client] === 0 && r < this.options.stopChance + this.options.completeChance) {
      return EVENT_COMPLETED;
    }
    return EVENT_NONE;
  }

  /** `left` for the client's announce with `event` (completed and seeders: 0). */
  leftFor(client: number, event: number): number {
    return this.seeder[client] === 1 || event === EVENT_COMPLETED ? 0 : LEECHER_LEFT;
  }

  /** Fills scrapeTorrents with 1..scrapeMax distinct torrents; returns how many. */
  planScrape(): number {
    const want = 1 + this.rng.below(this.options.scrapeMax);
    const out = this.scrapeTorrents;
    let n = 0;
    for (let tries = 0; n < want && tries < want * 4; tries++) {
      const t = this.zipf.sample(this.rng);
      let dup = false;
      for (let k = 0; k < n; k++) if (out[k] === t) dup = true;
      if (!dup) out[n++] = t;
    }
    return n;
  }

  /** Moves the client's state forward once the tracker answered its announce. */
  announced(client: number, event: number): void {
    if (event === EVENT_STOPPED) this.joined[client] = 0;
    else this.joined[client] = 1;
    if (event === EVENT_COMPLETED) this.seeder[client] = 1;
  }
}
