-- Suspends an org for a reason unless it already is, and tells the feed.
-- Suspensions of every org live under one hash tag ({susp}): they change
-- rarely, and one stream lets every replica and watcher follow them in order.
--
-- KEYS[1]  syncgov:quota:{susp}:active, hash: "<org>\31<reason>" -> JSON
--          {d detail, s since ms}
-- KEYS[2]  syncgov:quota:{susp}:events, stream of o org, r reason, k kind
--          (1 suspended, 2 cleared), d detail, at ms, a automatic 0/1
-- ARGV[1]  org   ARGV[2]  reason number   ARGV[3]  detail
--
-- Returns {0, state} when already suspended, {1, state, event id} when now.
local field = ARGV[1] .. '\31' .. ARGV[2]
local kept = redis.call('HGET', KEYS[1], field)
if kept then
  return {0, kept}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = cjson.encode({d = ARGV[3], s = now})
redis.call('HSET', KEYS[1], field, state)
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*',
  'o', ARGV[1], 'r', ARGV[2], 'k', 1, 'd', ARGV[3], 'at', now, 'a', 0)
return {1, state, id}
