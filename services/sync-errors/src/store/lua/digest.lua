-- Makes an org's digest of one frequency (daily or weekly) for one period,
-- once: the new errors per type counted for that frequency since its last
-- digest. Every replica may ask; only the first ask of a period makes it.
-- The first period an org is seen in only marks the start.
--
-- An earlier version kept one digest, of the org's frequency then: its
-- start in p:notify's lp, its counts in p:notify:new. A frequency that has
-- no start of its own takes lp while fq is that frequency, and the first
-- digest made takes those counts.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  the period (days or weeks since the epoch)
-- ARGV[2]  the frequency (2 daily, 3 weekly)
--
-- Returns 1 when a digest was queued, else 0.
local p = KEYS[1]
local period = tonumber(ARGV[1])
local f = ARGV[2]
local key = p .. ':notify'
local last = redis.call('HGET', key, 'lp' .. f)
if not last then
  local before = redis.call('HMGET', key, 'lp', 'fq')
  if before[2] == f then
    last = before[1]
  end
end
if not last then
  redis.call('HSET', key, 'lp' .. f, period)
  return 0
end
if tonumber(last) >= period then
  return 0
end
redis.call('HSET', key, 'lp' .. f, period)
local c = {}
local any = false
for _, name in ipairs({p .. ':notify:new:' .. f, p .. ':notify:new'}) do
  local counts = redis.call('HGETALL', name)
  for i = 1, #counts, 2 do
    c[counts[i]] = (c[counts[i]] or 0) + tonumber(counts[i + 1])
    any = true
  end
  redis.call('DEL', name)
end
if not any then
  return 0
end
local id = 'digest-' .. period
if f == '3' then
  id = 'digest-w' .. period
end
redis.call('RPUSH', p .. ':notify:out', cjson.encode({id = id, k = 'digest', p = period, f = tonumber(f), c = c}))
return 1
