
-- Hands back unused tokens to the bucket they were granted in, and only to
-- it: never more than the bucket holds, never below zero.
--
-- KEYS[1]  the window string
-- ARGV[1]  the grant's bucket   ARGV[2]  tokens to hand back
-- ARGV[3]  bucket width (ms)    ARGV[4]  ring slots
--
-- Returns {tokens released, calls counted afterwards}.
local bucket = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local bucket_ms = tonumber(ARGV[3])
local ring = tonumber(ARGV[4])

local head, used = advance(KEYS[1], now_ms(), bucket_ms, ring)
if used == 0 or bucket > head or bucket <= head - ring then
  return {0, used}
end
local bit = slot_bit(bucket, ring)
local held = redis.call('BITFIELD', KEYS[1], 'GET', 'u32', bit)[1]
local released = math.min(count, held)
if released > 0 then
  redis.call('BITFIELD', KEYS[1], 'INCRBY', 'u32', bit, -released, 'INCRBY', 'i64', 64, -released)
end
return {released, used - released}
