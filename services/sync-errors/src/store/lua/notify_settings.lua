-- Stores an org's notification settings, atomically with what the change
-- means for deliveries not yet sent: turned off, the org's queued and
-- in-flight notifications (and the new errors counted for its next digest)
-- are dropped, so nothing goes out while off and nothing stale once on
-- again; sent to another URL, or turned on again, the notification in
-- flight is due at once (its back-off was the old destination's) and the
-- delivery status starts over. Deliveries read the settings before every
-- POST, so a new secret or URL applies from the next one.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  1 on, 0 off   ARGV[2]  frequency   ARGV[3]  webhook URL
-- ARGV[4]  secret; empty keeps the one stored
-- ARGV[5]  the channels' settings (JSON: choices, recipients, format)
--
-- p:notify gains, besides the settings (en, fq, url, sec, x) and the last
-- digest period (lp), the webhook's delivery status: df consecutive
-- failures, dl the last failure, dt when (ms), ds the last success (ms);
-- and e-mail's: mf, ml, mt, ms likewise. E-mail's starts over when turned
-- on again or sent to other recipients (x's r).
--
-- Returns the secret as stored (empty when none).
local p = KEYS[1]
local key = p .. ':notify'
local before = redis.call('HMGET', key, 'en', 'url', 'sec', 'x')
local secret = ARGV[4]
if secret == '' then
  secret = before[3] or ''
end
redis.call('HSET', key, 'en', ARGV[1], 'fq', ARGV[2], 'url', ARGV[3], 'sec', secret, 'x', ARGV[5])
if ARGV[1] ~= '1' then
  redis.call('DEL', p .. ':notify:out', p .. ':notify:inflight', p .. ':notify:new',
    p .. ':notify:new:2', p .. ':notify:new:3')
elseif before[1] ~= '1' or before[2] ~= ARGV[3] then
  local inflight = redis.call('HGETALL', p .. ':notify:inflight')
  for i = 1, #inflight, 2 do
    local n = cjson.decode(inflight[i + 1])
    n.u = 0
    redis.call('HSET', p .. ':notify:inflight', inflight[i], cjson.encode(n))
  end
  redis.call('HDEL', key, 'df', 'dl', 'dt')
end
-- The recipients as JSON, compared as written (the store writes them in
-- the order given).
local function recipients(x)
  if not x or x == '' then
    return '{}'
  end
  return cjson.encode(cjson.decode(x).r or {})
end
if ARGV[1] == '1' and (before[1] ~= '1' or recipients(before[4]) ~= recipients(ARGV[5])) then
  redis.call('HDEL', key, 'mf', 'ml', 'mt')
end
return secret
