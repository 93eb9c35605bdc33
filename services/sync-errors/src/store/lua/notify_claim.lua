
-- Claims the next notification of an org to deliver, for a while: one whose
-- earlier claim lapsed (its delivery failed or its replica died) first, then
-- the oldest queued. Two replicas never deliver the same one at once.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  how long the claim lasts (ms)
--
-- Returns the notification's JSON, or nil when there is none to deliver.
local p = KEYS[1]
local now = now_ms()
local until_ms = now + tonumber(ARGV[1])
local inflight = redis.call('HGETALL', p .. ':notify:inflight')
for i = 1, #inflight, 2 do
  local n = cjson.decode(inflight[i + 1])
  if n.u <= now then
    n.u = until_ms
    local json = cjson.encode(n)
    redis.call('HSET', p .. ':notify:inflight', n.id, json)
    return json
  end
end
local next = redis.call('LPOP', p .. ':notify:out')
if not next then
  return false
end
local n = cjson.decode(next)
n.u = until_ms
local json = cjson.encode(n)
redis.call('HSET', p .. ':notify:inflight', n.id, json)
return json
