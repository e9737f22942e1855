/**
 * The store a configuration asks for: the in-memory one (the default, synchronous, part of the
 * rules' module graph anyway) or Redis/Valkey, whose modules are imported only then.
 */
import type { Config } from "../config/types.ts";
import { MemoryStore } from "./memory/memory-store.ts";
import type { SwarmStore } from "./store.ts";

export async function openStore(
  config: Config, log: (line: string) => void, warn: (line: string) => void,
): Promise<SwarmStore> {
  if (config.store === "memory") return memoryStoreFor(config);
  const { RedisLink } = await import("./redis/redis-link.ts");
  const { RedisStore } = await import("./redis/redis-store.ts");
  const link = new RedisLink(config.store, log, warn);
  const store = new RedisStore(link, { peerTimeout: config.peerTimeout, torrentRetention: config.torrentRetention });
  // Not connected is not fatal: the tracker listens, refuses with `retry in`, and serves as
  // soon as Redis answers (the link keeps trying).
  await link.start();
  return store;
}

/** The in-memory store sized by the configuration's limits. */
export function memoryStoreFor(config: Config): MemoryStore {
  return new MemoryStore({
    maxTorrents: config.maxTorrents,
    maxPeers: config.maxPeers,
    peerTimeout: config.peerTimeout,
    torrentRetention: config.torrentRetention,
    peerIds: config.peerIds,
  });
}
