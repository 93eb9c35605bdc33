
-- Makes an org's digest of one period, once: the new errors per type since
-- the last digest. Every replica may ask; only the first ask of a period
-- makes it. The first period an org is seen in only marks the start.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  the period (days or weeks since the epoch)
--
-- Returns 1 when a digest was queued, else 0.
local p = KEYS[1]
local period = tonumber(ARGV[1])
local last = redis.call('HGET', p .. ':notify', 'lp')
if not last then
  redis.call('HSET', p .. ':notify', 'lp', period)
  return 0
end
if tonumber(last) >= period then
  return 0
end
redis.call('HSET', p .. ':notify', 'lp', period)
local counts = redis.call('HGETALL', p .. ':notify:new')
redis.call('DEL', p .. ':notify:new')
if #counts == 0 then
  return 0
end
local c = {}
for i = 1, #counts, 2 do
  c[counts[i]] = tonumber(counts[i + 1])
end
redis.call('RPUSH', p .. ':notify:out', cjson.encode({id = 'digest-' .. period, k = 'digest', p = period, c = c}))
return 1
