
-- Claims the next notification of an org to deliver, for a while, in
-- order: the one in flight once its claim lapsed (its delivery failed or
-- its replica died), else, when none is in flight, the oldest queued. While
-- one is in flight nothing else is claimed, so an org's notifications go
-- out one at a time, in the order they were queued, whichever replicas
-- deliver them; two replicas never deliver the same one at once.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  how long the first claim lasts (ms): each retry's claim lasts
--          twice the one before, up to ARGV[2] (the back-off between tries)
-- ARGV[2]  the longest claim (ms)
--
-- Returns the notification's JSON, or nil when there is none to deliver.
local p = KEYS[1]
local now = now_ms()
local function lease(tries)
  return now + math.min(tonumber(ARGV[1]) * 2 ^ (tries - 1), tonumber(ARGV[2]))
end
local inflight = redis.call('HGETALL', p .. ':notify:inflight')
for i = 1, #inflight, 2 do
  local n = cjson.decode(inflight[i + 1])
  if n.u <= now then
    n.n = (n.n or 1) + 1
    n.u = lease(n.n)
    local json = cjson.encode(n)
    redis.call('HSET', p .. ':notify:inflight', n.id, json)
    return json
  end
end
if #inflight > 0 then
  return false
end
local next = redis.call('LPOP', p .. ':notify:out')
if not next then
  return false
end
local n = cjson.decode(next)
n.n = 1
n.u = lease(1)
local json = cjson.encode(n)
redis.call('HSET', p .. ':notify:inflight', n.id, json)
return json
