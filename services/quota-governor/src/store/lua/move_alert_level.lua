-- Moves a usage alert level, only if it still is what the caller read, and
-- appends the crossing it tells of to the alert feed: the check-and-set
-- that makes one replica, of all that saw a crossing, tell it. Levels and
-- the feed share one hash tag ({alerts}), so that one script keeps both.
--
-- KEYS[1]  syncgov:quota:{alerts}:levels, hash "<org>\31<res>\31<of>" ->
--          the highest threshold told and not re-armed (absent: none)
-- KEYS[2]  syncgov:quota:{alerts}:events, stream of o org, r resource
--          (api, bulk), f of (allocation, org_limit), t threshold percent,
--          u used, l limit, at ms; about the newest 100 000 kept
-- ARGV[1]  field   ARGV[2]  the level read ('0': none)   ARGV[3]  the new
--          level ('0': none)
-- ARGV[4..9], only when a threshold was crossed: org, resource, of,
--          threshold, used, limit
--
-- Returns {0} when the level was no longer ARGV[2] (nothing changed), {1}
-- when it moved, {1, id, at ms} when it moved and the crossing was
-- appended.
local kept = redis.call('HGET', KEYS[1], ARGV[1]) or '0'
if kept ~= ARGV[2] then
  return {0}
end
if ARGV[3] == '0' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
if not ARGV[4] then
  return {1}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*',
  'o', ARGV[4], 'r', ARGV[5], 'f', ARGV[6], 't', ARGV[7], 'u', ARGV[8],
  'l', ARGV[9], 'at', now)
return {1, id, now}
