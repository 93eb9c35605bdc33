-- Queues a notice of a suspension event for an org, once per id: every
-- replica reads the governor's events and asks, one queues it.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  the notice's id   ARGV[2]  the notice (JSON)
--
-- Returns 1 when queued now, 0 when it was queued before.
local p = KEYS[1]
if not redis.call('SET', p .. ':notify:seen:' .. ARGV[1], 1, 'PX', 7 * 24 * 3600 * 1000, 'NX') then
  return 0
end
redis.call('RPUSH', p .. ':notify:out', ARGV[2])
return 1
