/**
 * What the protocol servers share: the settings, the swarm store, the counters and the current
 * announce interval (which the load rule moves). One instance per tracker.
 */
import type { Config } from "../config/types.ts";
import { newCounters } from "./counters.ts";
import { SwarmStore } from "../store/memory/memory-store.ts";

export class TrackerRules {
  readonly config: Config;
  readonly store: SwarmStore;
  readonly counters = newCounters();
  /** The announce interval handed to clients now, seconds. `min interval` equals it. */
  interval: number;
  readonly startedAt = new Date();

  constructor(config: Config) {
    this.config = config;
    this.interval = config.interval;
    this.store = new SwarmStore({
      maxTorrents: config.maxTorrents,
      maxPeers: config.maxPeers,
      peerTimeout: config.peerTimeout,
      torrentRetention: config.torrentRetention,
      peerIds: config.peerIds,
    });
  }

  /** The numwant to use for a request: the default when absent (< 0), capped by the config. */
  numwant(asked: number): number {
    if (asked < 0) return this.config.numwantDefault;
    return asked < this.config.numwantMax ? asked : this.config.numwantMax;
  }
}

/** The store's clock: whole seconds since the Unix epoch (fits a Uint32 until 2106). */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
