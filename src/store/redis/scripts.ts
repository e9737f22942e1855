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
 * Cost per announce does not grow with the swarm: ZSCORE/ZADD/ZREM are O(log n), ZRANDMEMBER
 * with a count is O(count) once the set is larger than 3x the count, expired peers are dropped
 * at most STALE_BATCH per family per call (the oldest first, by rank), and the counts come from
 * ZCARD and the hash (O(1)). Torrents idle longer than the retention expire by TTL: every call
 * sets the same TTL on all three keys, so they expire together.
 */

/** Most expired peers one call drops from each family's set (the rest go with later calls). */
export const STALE_BATCH = 256;

/** Drops expired peers of both families, keeping the seeder count; `ds` collects its change. */
const DROP_STALE = `
local ds = 0
local function drop(z, cutoff)
  local stale = redis.call('ZRANGEBYSCORE', z, '-inf', '(' .. cutoff, 'WITHSCORES', 'LIMIT', 0, ${STALE_BATCH})
  local n = #stale / 2
  if n == 0 then return end
  for i = 2, #stale, 2 do
    if tonumber(stale[i]) % 2 == 1 then ds = ds - 1 end
  end
  redis.call('ZREMRANGEBYRANK', z, 0, n - 1)
end
`;

/** The counts after the change: {seeders, leechers, downloaded}, clamped (never negative). */
const COUNTS = `
local function counts(meta, z4, z6)
  local m = redis.call('HMGET', meta, 's', 'd')
  local n = redis.call('ZCARD', z4) + redis.call('ZCARD', z6)
  local s = tonumber(m[1]) or 0
  if s < 0 then s = 0 end
  if s > n then s = n end
  return s, n - s, tonumber(m[2]) or 0
end
`;

/**
 * KEYS: meta, z4, z6.
 * ARGV: member, family ("4"|"6"), now, cutoff (now - peer timeout), seeder, leaving, completed
 *       ("0"|"1"), numwant, both families ("0"|"1"), ttl seconds.
 * Returns {seeders, leechers, downloaded, own-family records packed, other-family records packed}.
 */
export const ANNOUNCE_SCRIPT = `${DROP_STALE}${COUNTS}
local meta, z4, z6 = KEYS[1], KEYS[2], KEYS[3]
local me = ARGV[1]
local mine, other = z4, z6
if ARGV[2] == '6' then mine, other = z6, z4 end
local now = tonumber(ARGV[3])
local cutoff = tonumber(ARGV[4]) * 4
local seeder, leaving, completed = ARGV[5] == '1', ARGV[6] == '1', ARGV[7] == '1'
local want = tonumber(ARGV[8])
drop(z4, cutoff)
drop(z6, cutoff)
local old = redis.call('ZSCORE', mine, me)
local flags = 0
if old then flags = tonumber(old) % 4 end
if leaving then
  if old then
    redis.call('ZREM', mine, me)
    if flags % 2 == 1 then ds = ds - 1 end
  end
else
  local nf = 0
  if seeder then nf = 1; ds = ds + 1 end
  if old and flags % 2 == 1 then ds = ds - 1 end
  if flags >= 2 then nf = nf + 2
  elseif completed then
    nf = nf + 2
    redis.call('HINCRBY', meta, 'd', 1)
  end
  redis.call('ZADD', mine, now * 4 + nf, me)
end
if ds ~= 0 then redis.call('HINCRBY', meta, 's', ds) end
local a, b = '', ''
if not leaving and want > 0 then
  local got = redis.call('ZRANDMEMBER', mine, want + 1)
  local picks, k = {}, 0
  for i = 1, #got do
    if k < want and got[i] ~= me then
      k = k + 1
      picks[k] = got[i]
    end
  end
  a = table.concat(picks)
  if ARGV[9] == '1' and k < want then
    b = table.concat(redis.call('ZRANDMEMBER', other, want - k))
  end
end
local s, l, d = counts(meta, z4, z6)
redis.call('EXPIRE', meta, ARGV[10])
redis.call('EXPIRE', z4, ARGV[10])
redis.call('EXPIRE', z6, ARGV[10])
return {s, l, d, a, b}
`;

/**
 * KEYS: meta, z4, z6. ARGV: cutoff (now - peer timeout).
 * Returns {seeders, leechers, downloaded}, after dropping expired peers (so they agree with what
 * an announce would say).
 */
export const SCRAPE_SCRIPT = `${DROP_STALE}${COUNTS}
local meta, z4, z6 = KEYS[1], KEYS[2], KEYS[3]
local cutoff = tonumber(ARGV[1]) * 4
drop(z4, cutoff)
drop(z6, cutoff)
if ds ~= 0 then redis.call('HINCRBY', meta, 's', ds) end
local s, l, d = counts(meta, z4, z6)
return {s, l, d}
`;

/** The SHA-1 (hex) EVALSHA names a script by. */
export function scriptSha(script: string): string {
  return new Bun.CryptoHasher("sha1").update(script).digest("hex");
}
