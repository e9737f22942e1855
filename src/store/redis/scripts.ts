/**
 * The Lua scripts the Redis store runs: one call per announce, one per scraped torrent.
 *
 * Keys of one torrent, all under the hash tag of its info_hash (so Redis Cluster keeps them in
 * one slot and a script may touch them together), H = the info_hash in 40 lowercase hex:
 *
 *   sc6:{H}      hash   s = seeders (both families), d = downloads counted
 *   sc6:{H}:4    zset   IPv4 peers: member = the 6-byte wire record (address, port)
 *   sc6:{H}:6    zset   IPv6 peers: member = the 18-byte wire record
 *
 * A member's score is lastSeen * 4 + flags (flags: 1 seeder, 2 its `completed` was counted), so
 * one ZADD refreshes a peer and its flags, and a ZSCORE reads both. lastSeen is whole Unix
 * seconds (~2^31), so the score stays an exact double (< 2^53).
 *
 * Encoding: Bun 1.4.5's RedisClient decodes every reply string as UTF-8, which corrupts raw
 * binary. Members are therefore sent as latin1 strings (one char per byte): Bun encodes each
 * char above 0x7f as two UTF-8 bytes, Redis stores and compares those bytes, and the packed
 * reply (members concatenated by the script) is valid UTF-8 that decodes to the same chars.
 * Cost: a stored member averages 1.5x its bytes for random addresses (9 B per IPv4 peer), and
 * the script does no per-byte work. test/redis-store.test.ts round-trips every byte value.
 *
 * No step reads a whole swarm: ZSCORE/ZADD/ZREM are O(log n), the chosen peers are a ZRANGE
 * by rank (O(log n + numwant)), expired peers are dropped at most STALE_BATCH per family per
 * drop (the oldest first, by rank), and the counts come from ZCARD and the hash (O(1)).
 * Measured (bench/redis/large-swarm.ts): 100 -> 100,000 peers costs 1.5x per script with
 * numwant 50 (the window's skiplist nodes miss the cache) and 1.04x with numwant 0. Torrents
 * idle longer than the retention expire by TTL, refreshed on all three keys together at each
 * drop.
 */

/** Most expired peers one call drops from each family's set (the rest go with later calls). */
export const STALE_BATCH = 256;
/**
 * A torrent's expired peers are dropped (and its keys' TTL refreshed) by the first call at most
 * this many seconds after the last drop, not by every call: each redis.call inside a script
 * costs ~0.5 us of its own, and the drop is two of them plus three EXPIREs. So a peer may be
 * counted up to this long past peer-timeout, and a torrent expires within this much of
 * torrent-retention.
 */
export const DROP_EVERY = 30;

/**
 * Drops expired peers of both families (at most STALE_BATCH each, oldest first), returns how
 * many of them were seeders; refreshes the TTL of the torrent's keys.
 */
const DROP_STALE = `
local function drop(z, cutoff)
  local stale = redis.call('ZRANGEBYSCORE', z, '-inf', '(' .. cutoff, 'WITHSCORES', 'LIMIT', 0, ${STALE_BATCH})
  local n = #stale / 2
  if n == 0 then return 0 end
  local seeders = 0
  for i = 2, #stale, 2 do
    if tonumber(stale[i]) % 2 == 1 then seeders = seeders + 1 end
  end
  redis.call('ZREMRANGEBYRANK', z, 0, n - 1)
  return seeders
end
local function housekeeping(meta, z4, z6, cutoff, ttl)
  local gone = drop(z4, cutoff) + drop(z6, cutoff)
  redis.call('EXPIRE', z4, ttl)
  redis.call('EXPIRE', z6, ttl)
  return gone
end
`;

/** The settings a script is built with (its text, so they cost no argument per call). */
export interface ScriptSettings {
  /** Seconds without an announce before a peer is dropped. */
  peerTimeout: number;
  /** Seconds an idle torrent's keys live (TTL). */
  torrentRetention: number;
}

/**
 * KEYS: meta, z4, z6.
 * ARGV: member; flags, five chars: family ("4"|"6"), then "1"/"0" for seeder, leaving,
 *       completed, both families; now (Unix seconds); numwant; a random integer in [0, 2^30)
 *       (Redis reseeds Lua's math.random identically before every script: the caller rolls).
 * Returns {seeders, leechers, downloaded, own-family records packed, other-family records packed}.
 *
 * The meta hash holds s (seeders), d (downloads) and t (when the next drop is due). The chosen
 * peers are a window of the family's set from a random rank, `want` long, wrapping once (the
 * announcer left out): ZRANGE by rank is O(log n + want), where ZRANDMEMBER with a count builds
 * a temporary dictionary (measured: ~16 us for 51 of 200 members, the whole script ~45 us,
 * against ~29 us with the window).
 * The same choice as the in-memory store's window of its run.
 *
 * Measured costs inside Redis 7.0 (INFO commandstats over 20,000 calls): ~0.2 us per argument, ~0.25 us
 * per redis.call, ~0.12 us per member a ZRANGE hands to Lua. Hence few arguments (settings are
 * in the text), no per-call housekeeping, and no copy of the chosen members into a new table.
 */
export function announceScript(settings: ScriptSettings): string {
  return `${DROP_STALE}
local meta, z4, z6 = KEYS[1], KEYS[2], KEYS[3]
local me, flags = ARGV[1], ARGV[2]
local mine, other = z4, z6
if string.byte(flags, 1) == 54 then mine, other = z6, z4 end
local seeder = string.byte(flags, 2) == 49
local leaving = string.byte(flags, 3) == 49
local completed = string.byte(flags, 4) == 49
local now = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local rnd = tonumber(ARGV[5])
local m = redis.call('HMGET', meta, 's', 'd', 't')
local s, d, t = tonumber(m[1]) or 0, tonumber(m[2]) or 0, tonumber(m[3])
local s0, d0 = s, d
local old = redis.call('ZSCORE', mine, me)
local had = 0
if old then had = tonumber(old) % 4 end
if old and had % 2 == 1 then s = s - 1 end
local added = false
if leaving then
  if old then redis.call('ZREM', mine, me) end
else
  local nf = 0
  if seeder then nf = 1; s = s + 1 end
  if had >= 2 then nf = nf + 2
  elseif completed then
    nf = nf + 2
    d = d + 1
  end
  added = redis.call('ZADD', mine, now * 4 + nf, me) == 1
end
-- Housekeeping when due, and at a torrent's first peer (it sets the TTLs); a stop for a torrent
-- with nothing stored writes nothing.
if (t == nil and (added or old)) or (t ~= nil and now >= t) then
  s = s - housekeeping(meta, z4, z6, (now - ${settings.peerTimeout}) * 4, ${settings.torrentRetention})
  redis.call('HSET', meta, 's', s, 'd', d, 't', now + ${DROP_EVERY})
  redis.call('EXPIRE', meta, ${settings.torrentRetention})
elseif s ~= s0 or d ~= d0 then
  redis.call('HSET', meta, 's', s, 'd', d)
end
local nm = redis.call('ZCARD', mine)
local no = redis.call('ZCARD', other)
if added and nm == 1 then redis.call('EXPIRE', mine, ${settings.torrentRetention}) end
local a, b = '', ''
if not leaving and want > 0 then
  local k = 0
  local others = nm
  if old or added then others = nm - 1 end
  if others > 0 then
    local take = want
    if take > others then take = others end
    -- take + 1 from a random rank, wrapping once; the announcer is left out if met, else the
    -- last one is
    local n = take + 1
    if n > nm then n = nm end
    local from = rnd % nm
    local got = redis.call('ZRANGE', mine, from, from + n - 1)
    if #got < n then
      local more = redis.call('ZRANGE', mine, 0, n - #got - 1)
      for i = 1, #more do got[#got + 1] = more[i] end
    end
    local at = 0
    for i = 1, #got do
      if got[i] == me then at = i break end
    end
    if at == 0 then a = table.concat(got, '', 1, math.min(take, #got))
    else a = table.concat(got, '', 1, at - 1) .. table.concat(got, '', at + 1, math.min(take + 1, #got)) end
    k = take
  end
  if string.byte(flags, 5) == 49 and k < want and no > 0 then
    local n = want - k
    if n > no then n = no end
    local from = math.floor(rnd / 1024) % no
    local got = redis.call('ZRANGE', other, from, from + n - 1)
    if #got < n then
      local more = redis.call('ZRANGE', other, 0, n - #got - 1)
      for i = 1, #more do got[#got + 1] = more[i] end
    end
    b = table.concat(got)
  end
end
local total = nm + no
if s < 0 then s = 0 end
if s > total then s = total end
return {s, total - s, d, a, b}
`;
}

/**
 * KEYS: meta, z4, z6. Read only: returns {seeders, leechers, downloaded} as the last drop left
 * them (a peer may be counted up to DROP_EVERY seconds past its timeout, as in announces).
 */
export const SCRAPE_SCRIPT = `
local m = redis.call('HMGET', KEYS[1], 's', 'd')
local total = redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
local s = tonumber(m[1]) or 0
if s < 0 then s = 0 end
if s > total then s = total end
return {s, total - s, tonumber(m[2]) or 0}
`;

/** The SHA-1 (hex) EVALSHA names a script by. */
export function scriptSha(script: string): string {
  return new Bun.CryptoHasher("sha1").update(script).digest("hex");
}
