
-- Counts the jobs of one queue shard: waiting (queued or backing off) and
-- claimed.
--
-- KEYS[1]  the shard's in-flight set   KEYS[2]  the shard's turns
-- KEYS[3]  the shard's parked orgs     KEYS[4]  the shard's ready set of an
--          earlier version
-- ARGV[1]  the prefix of the shard's per-org ready sets
--
-- Returns {waiting, claimed}.
local waiting = redis.call('ZCARD', KEYS[4])
for _, set in ipairs({KEYS[2], KEYS[3]}) do
  for _, org in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    if org ~= '' then
      waiting = waiting + redis.call('ZCARD', ARGV[1] .. org)
    end
  end
end
return {waiting, redis.call('ZCARD', KEYS[1])}
