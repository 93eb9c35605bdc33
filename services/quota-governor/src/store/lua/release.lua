-- Hands back unused tokens to the bucket they were granted in, and only to
-- it: never more than the bucket holds, never below zero, and at most once
-- per grant: a release sent again (a retry after a lost reply) finds the
-- grant's marker and takes nothing more off the window. The grant itself was
-- checked before: its id is signed (src/grant_id.rs), so the bucket, count
-- and nonce here are ones the governor granted to this org.
--
-- KEYS[1]  the window string   KEYS[2]  the org-wide view hash
-- KEYS[3]  the grant's released marker
-- ARGV[1]  the grant's bucket   ARGV[2]  tokens to hand back
-- ARGV[3]  bucket width (ms)    ARGV[4]  ring slots
--
-- Returns {tokens released, calls counted afterwards, outcome}: outcome 1
-- released, 2 handed back before, 3 the grant's bucket left the window.
local bucket = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local bucket_ms = tonumber(ARGV[3])
local ring = tonumber(ARGV[4])

-- A fresh window (none, or everything in it left) holds no grant; an empty
-- one still knows which grants were handed back.
local head, used, fresh = advance(KEYS[1], now_ms(), bucket_ms, ring)
if fresh or bucket > head or bucket <= head - ring then
  return {0, used, 3}
end
-- Kept while the grant's bucket can be in the window: past that there is
-- nothing to hand back anyway.
if not redis.call('SET', KEYS[3], 1, 'NX', 'PX', (ring + 1) * bucket_ms) then
  return {0, used, 2}
end
local bit = slot_bit(bucket, ring)
local held = redis.call('BITFIELD', KEYS[1], 'GET', 'u32', bit)[1]
local released = math.min(count, held)
if released > 0 then
  redis.call('BITFIELD', KEYS[1], 'INCRBY', 'u32', bit, -released, 'INCRBY', 'i64', 64, -released)
  -- Tokens granted since the last org report leave its estimate too.
  local org = redis.call('HMGET', KEYS[2], 'rt', 'rg')
  if org[1] and bucket >= math.floor(tonumber(org[1]) / bucket_ms) then
    redis.call('HSET', KEYS[2], 'rg', math.max(tonumber(org[2] or 0) - released, 0))
  end
end
return {released, used - released, 1}
