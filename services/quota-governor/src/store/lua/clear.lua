-- Ends an org's suspension for a reason, and tells the feed.
--
-- KEYS[1]  the active hash   KEYS[2]  the event stream
-- KEYS[3]  the by-org index  KEYS[4]  the reason's index (see suspend.lua)
-- KEYS[5]  the org's own events  KEYS[6]  where they begin (see suspend.lua)
-- ARGV[1]  org   ARGV[2]  reason number   ARGV[3]  1 when automatic
--
-- Returns {0} when there was none, else {1, event}, the event as the
-- stream holds it ({id, {field, value, ...}}).
local field = ARGV[1] .. '\31' .. ARGV[2]
local kept = redis.call('HGET', KEYS[1], field)
if not kept then
  return {0}
end
redis.call('HDEL', KEYS[1], field)
redis.call('ZREM', KEYS[3], field)
redis.call('ZREM', KEYS[4], field)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local detail = cjson.decode(kept).d
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*',
  'o', ARGV[1], 'r', ARGV[2], 'k', 2, 'd', detail, 'at', now, 'a', ARGV[3])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, id,
  'o', ARGV[1], 'r', ARGV[2], 'k', 2, 'd', detail, 'at', now, 'a', ARGV[3])
redis.call('SET', KEYS[6], id, 'NX')
return {1, redis.call('XRANGE', KEYS[2], id, id)[1]}
