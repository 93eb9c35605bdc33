
-- Keeps a report of the org's usage (all apps), unless a newer one is kept.
--
-- KEYS[1]  the budget hash   KEYS[2]  the window string   KEYS[3]  the org view
-- ARGV[1]  used   ARGV[2]  max   ARGV[3]  observed at (ms; 0: now)
-- ARGV[4]  bucket width (ms)   ARGV[5]  ring slots   ARGV[6]  1 when a
-- default budget covers orgs without one
--
-- Returns {-1} for an org without a budget, else {accepted 0/1, estimate,
-- org limit}. The grants since the report are counted from its bucket on, so
-- the estimate errs high, never low.
local bucket_ms = tonumber(ARGV[4])
local ring = tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 and ARGV[6] ~= '1' then
  return {-1}
end
local now = now_ms()
local at = tonumber(ARGV[3])
-- No report is newer than the store's clock: one dated ahead (a worker's
-- clock a little fast) counts as made now.
if at == 0 or at > now then
  at = now
end
local kept = redis.call('HMGET', KEYS[3], 'ru', 'rm', 'rt', 'rg')
if kept[3] and tonumber(kept[3]) > at then
  return {0, tonumber(kept[1]) + tonumber(kept[4] or 0), tonumber(kept[2])}
end
local head = advance(KEYS[2], now, bucket_ms, ring)
local from = math.max(math.floor(at / bucket_ms), head - ring + 1)
local since = 0
local bytes = redis.call('GET', KEYS[2]) or ''
for k = from, head do
  local pos = 17 + (k % ring) * 4
  if pos + 3 <= #bytes then
    since = since + struct.unpack('>I4', bytes, pos)
  end
end
redis.call('HSET', KEYS[3], 'ru', ARGV[1], 'rm', ARGV[2], 'rt', at, 'rg', since)
-- A report says nothing once a whole window old: it goes then, so that
-- orgs that stopped reporting leave nothing behind.
redis.call('PEXPIREAT', KEYS[3], at + (ring - 1) * bucket_ms)
if redis.call('EXISTS', KEYS[1]) == 1 then
  -- The org limit follows what Salesforce says it is.
  redis.call('HSET', KEYS[1], 'l', ARGV[2])
end
return {1, tonumber(ARGV[1]) + since, tonumber(ARGV[2])}
