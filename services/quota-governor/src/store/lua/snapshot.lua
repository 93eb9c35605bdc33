-- Every active suspension with the feed's last event id, in one consistent
-- reading: a follower applies the events after that id on top.
--
-- KEYS[1]  the active hash   KEYS[2]  the event stream
--
-- Returns {last event id or "0-0", field, state, field, state, ...}.
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local out = {'0-0'}
if last[1] then
  out[1] = last[1][1]
end
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do
  out[#out + 1] = v
end
return out
