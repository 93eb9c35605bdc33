-- Lets one token request through a suspension as its probe, once the
-- back-off has passed and no other probe is out: across replicas, one wins.
--
-- KEYS[1]  the active hash (see suspend.lua)
-- ARGV[1]  org   ARGV[2]  reason number
-- ARGV[3]  the nonce of the probe's grant (hex): only its holder may report
--          how the probe went (state.g)
--
-- Returns {0} when not suspended, {1} when this request is the probe, or
-- {2, ms} when no probe may go before then.
local field = ARGV[1] .. '\31' .. ARGV[2]
local kept = redis.call('HGET', KEYS[1], field)
if not kept then
  return {0}
end
local state = cjson.decode(kept)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not state.p or state.p == 0 then
  return {2, 9007199254740991}
end
if now < state.p then
  return {2, state.p}
end
if now < (state.u or 0) then
  return {2, state.u}
end
-- The probe has as long as the back-off to report before another goes.
state.u = now + state.b
state.g = ARGV[3]
redis.call('HSET', KEYS[1], field, cjson.encode(state))
return {1}
