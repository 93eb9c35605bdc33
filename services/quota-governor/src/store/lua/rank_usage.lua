-- Puts an org at its share used in the usage index of a resource, or takes
-- it out. The index is kept beside the decisions, at most once per bucket
-- per org and replica, never by the decision script itself: a decision
-- touches its org's slot only.
--
-- KEYS[1]  syncgov:quota:{fleet}:usage:<res>, sorted set, score 0, members
--          <7 digits>\x1f<org> (9 999 999 less the share in millionths)
-- KEYS[2]  syncgov:quota:{fleet}:usage:<res>:ranked, hash org -> member
-- ARGV[1]  org   ARGV[2]  its new member, '' to take it out
--
-- Returns 1 when the index changed, else 0.
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old == ARGV[2] or (not old and ARGV[2] == '') then
  return 0
end
if old then
  redis.call('ZREM', KEYS[1], old)
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[1], 0, ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return 1
