-- Records how a probe went, when the grant named is the probe out for this
-- suspension (state.g, set by claim_probe.lua). Success ends the suspension
-- and tells the feed; failure doubles the back-off, up to the cap; any other
-- grant changes nothing.
--
-- KEYS[1]  the active hash   KEYS[2]  the event stream
-- KEYS[3]  the by-org index  KEYS[4]  the reason's index (see suspend.lua)
-- KEYS[5]  the org's own events  KEYS[6]  where they begin (see suspend.lua)
-- ARGV[1]  org   ARGV[2]  reason number   ARGV[3]  1 success, 0 failure
-- ARGV[4]  first back-off (ms)   ARGV[5]  longest back-off (ms)
-- ARGV[6]  the nonce of the grant reporting (hex)
--
-- Returns {0} when not suspended, {1, event} when it ended (the event as
-- the stream holds it: {id, {field, value, ...}}), {2, next probe ms} after
-- a failure, or {3} when the grant is not the probe's.
local field = ARGV[1] .. '\31' .. ARGV[2]
local kept = redis.call('HGET', KEYS[1], field)
if not kept then
  return {0}
end
local state = cjson.decode(kept)
if state.g ~= ARGV[6] then
  return {3}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '1' then
  redis.call('HDEL', KEYS[1], field)
  redis.call('ZREM', KEYS[3], field)
  redis.call('ZREM', KEYS[4], field)
  local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*',
    'o', ARGV[1], 'r', ARGV[2], 'k', 2, 'd', state.d, 'at', now, 'a', 1)
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, id,
    'o', ARGV[1], 'r', ARGV[2], 'k', 2, 'd', state.d, 'at', now, 'a', 1)
  redis.call('SET', KEYS[6], id, 'NX')
  return {1, redis.call('XRANGE', KEYS[2], id, id)[1]}
end
local first = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
state.b = math.max(math.min((state.b or 0) * 2, cap), math.min(first, cap))
state.p = now + state.b
state.u = 0
state.g = nil
redis.call('HSET', KEYS[1], field, cjson.encode(state))
return {2, state.p}
