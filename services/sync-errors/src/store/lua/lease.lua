
-- Gives a claimed job of one org its lease, if the job is still wanted.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  error id   ARGV[2]  the new lease   ARGV[3]  visibility timeout (ms)
--
-- Returns {0} when the error is not resyncing (drop the job), {2, until}
-- when another lease still runs (keep that worker's timeout), {3, due} when
-- a retry is not due yet, or {1, attempt, until, field, value, ...} with the
-- error's hash.
local p = KEYS[1]
local ek = p .. ':e:' .. ARGV[1]
local now = now_ms()
local e = redis.call('HMGET', ek, 's', 'jd', 'jr', 'a')
if tonumber(e[1]) ~= 2 then
  return {0}
end
if e[2] and tonumber(e[2]) > now then
  return {2, tonumber(e[2])}
end
if e[3] and tonumber(e[3]) > now then
  return {3, tonumber(e[3])}
end
local attempt = tonumber(e[4] or 0) + 1
local until_ms = now + tonumber(ARGV[3])
redis.call('HSET', ek, 'jl', ARGV[2], 'jd', until_ms, 'a', attempt)
redis.call('HDEL', ek, 'jr')
local out = {1, attempt, until_ms}
for _, v in ipairs(redis.call('HGETALL', ek)) do
  out[#out + 1] = v
end
return out
