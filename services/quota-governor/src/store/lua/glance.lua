-- Reads what the usage view shows of a page of budgets, in one round trip
-- (clock.lua and window.lua in front): per budget its fields, the calls its
-- window counts now, and the org view; the budget arithmetic happens in
-- Rust (`domain::glance`). The window string (5.7 KB with a day of minute
-- buckets) stays here: only its head and total are read, and the slots of
-- the buckets that left since the head, exactly as `advance` would drop
-- them, but without writing anything.
--
-- KEYS[3i-2]  the budget hash   KEYS[3i-1]  the window string
-- KEYS[3i]    the org view      (i = 1 .. #KEYS / 3; on a Redis Cluster,
--                               all of one slot)
-- ARGV[1]  bucket ms   ARGV[2]  ring length (buckets of a window plus one)
--
-- Returns {now ms, then per budget: l, a, sr, sn, sc, oa, oe, sh, th (nil
-- where absent), the calls counted now, ru, rm, rt, rg (nil where absent)}.
local bucket_ms = tonumber(ARGV[1])
local ring = tonumber(ARGV[2])
local now = now_ms()
local cur = math.floor(now / bucket_ms)

-- The calls the window at `key` counts at `now`: its total, less the slots
-- of the buckets between its head and now (none when the clock is behind
-- the head, all when a whole ring passed).
local function used_now(key)
  local h = redis.call('BITFIELD_RO', key, 'GET', 'i64', 0, 'GET', 'i64', 64)
  local head, total = h[1], h[2]
  if head == 0 or cur - head >= ring then
    return 0
  end
  local b = head + 1
  while b <= cur do
    local last = math.min(cur, b + 499)
    local args = {}
    for k = b, last do
      args[#args + 1] = 'GET'
      args[#args + 1] = 'u32'
      args[#args + 1] = slot_bit(k, ring)
    end
    local gone = redis.call('BITFIELD_RO', key, unpack(args))
    for i = 1, #gone do
      total = total - gone[i]
    end
    b = last + 1
  end
  return total
end

-- Absent fields read as false, which the reply turns into nil.
local out = {now}
local n = 1
local function put(v)
  n = n + 1
  out[n] = v
end
for i = 1, #KEYS, 3 do
  local budget = redis.call('HMGET', KEYS[i], 'l', 'a', 'sr', 'sn', 'sc', 'oa', 'oe', 'sh', 'th')
  for j = 1, 9 do
    put(budget[j])
  end
  put(used_now(KEYS[i + 1]))
  local org = redis.call('HMGET', KEYS[i + 2], 'ru', 'rm', 'rt', 'rg')
  for j = 1, 4 do
    put(org[j])
  end
end
return out
