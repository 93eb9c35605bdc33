-- Suspends an org for a reason unless it already is, and tells the feed.
-- Suspensions of every org live under one hash tag ({susp}): they change
-- rarely, and one stream lets every replica and watcher follow them in order.
--
-- KEYS[1]  syncgov:quota:{susp}:active, hash: "<org>\31<reason>" -> JSON
--          {d detail, s since ms, b probe back-off ms, p next probe ms (0:
--          none), u a probe is out until ms}
-- KEYS[2]  syncgov:quota:{susp}:events, stream of o org, r reason, k kind
--          (1 suspended, 2 cleared), d detail, at ms, a automatic 0/1
-- KEYS[3]  syncgov:quota:{susp}:by-org, sorted set of the active hash's
--          fields, score 0, read in byte order (the fleet view)
-- KEYS[4]  syncgov:quota:{susp}:by-reason:<reason>, the same for one reason
-- KEYS[5]  syncgov:quota:{susp}:org-events:<org>, the org's own events:
--          the entries of KEYS[2] for this org, under the same ids, the
--          newest 10 000 kept, so that an org's history is read without
--          reading every org's
-- KEYS[6]  syncgov:quota:{susp}:org-events-from, the id of the first event
--          written to the orgs' own streams (older ones are in KEYS[2] only)
-- ARGV[1]  org   ARGV[2]  reason number   ARGV[3]  detail
-- ARGV[4]  first probe back-off (ms), 0 for a reason that is not probed
--
-- Returns {0, state} when already suspended, {1, state, event} when now,
-- the event as the stream holds it ({id, {field, value, ...}}).
local field = ARGV[1] .. '\31' .. ARGV[2]
local kept = redis.call('HGET', KEYS[1], field)
if kept then
  return {0, kept}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local backoff = tonumber(ARGV[4])
local probe_at = 0
if backoff > 0 then
  probe_at = now + backoff
end
local state = cjson.encode({d = ARGV[3], s = now, b = backoff, p = probe_at, u = 0})
redis.call('HSET', KEYS[1], field, state)
redis.call('ZADD', KEYS[3], 0, field)
redis.call('ZADD', KEYS[4], 0, field)
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*',
  'o', ARGV[1], 'r', ARGV[2], 'k', 1, 'd', ARGV[3], 'at', now, 'a', 0)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, id,
  'o', ARGV[1], 'r', ARGV[2], 'k', 1, 'd', ARGV[3], 'at', now, 'a', 0)
redis.call('SET', KEYS[6], id, 'NX')
return {1, state, redis.call('XRANGE', KEYS[2], id, id)[1]}
