
-- Ends the attempt of a claimed job of one org, if the lease is still the
-- job's: the failure the worker reports with it is recorded as ingest
-- records one (the store puts ingest.lua in front of this script as the
-- function `ingest(KEYS, ARGV)`); then success resolves the error; a
-- failure backs off (exponential, half of it jitter, capped) or, after the
-- last attempt, leaves the error dead. The lease is checked first, in this
-- same script: a lapsed or made-up one records nothing, the failure neither.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  error id   ARGV[2]  lease   ARGV[3]  1 success, 2 failure
-- ARGV[4]  attempts allowed   ARGV[5]  first back-off (ms)   ARGV[6]  cap (ms)
-- ARGV[7]  jitter in [0, 1)   ARGV[8]  how long resolved errors stay (ms)
-- ARGV[9]  idempotency window (ms)
-- ARGV[10] the reported failure, as ingest takes its batch (a JSON array of
--          one), or '' for none
--
-- Returns {-1} when the lease is not the job's (nothing recorded), else
-- {state, retry due time or 0}.
local p = KEYS[1]
local id = ARGV[1]
local ek = p .. ':e:' .. id
local e = redis.call('HMGET', ek, 's', 'jl', 'a', 't')
if not e[1] or e[2] ~= ARGV[2] then
  return {-1}
end
if ARGV[10] ~= '' then
  ingest({p}, {ARGV[9], ARGV[10]})
  -- The failure may have made the error current again (resolved meanwhile).
  e[1] = redis.call('HGET', ek, 's')
end
redis.call('HDEL', ek, 'jl', 'jd')
local state = tonumber(e[1])
if state ~= 2 then
  return {state, 0}
end
if ARGV[3] == '1' then
  resolve(p, id, tonumber(ARGV[8]))
  return {4, 0}
end
local attempt = tonumber(e[3])
if attempt >= tonumber(ARGV[4]) then
  redis.call('HSET', ek, 's', 3)
  redis.call('HINCRBY', p .. ':counts', 'd:t:' .. e[4], 1)
  unqueue(p)
  return {3, 0}
end
local full = math.min(tonumber(ARGV[5]) * 2 ^ (attempt - 1), tonumber(ARGV[6]))
local retry_at = now_ms() + math.floor(full / 2 + full / 2 * tonumber(ARGV[7]))
redis.call('HSET', ek, 'jr', retry_at)
return {2, retry_at}
