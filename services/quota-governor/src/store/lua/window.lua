-- The rolling window of one budget, shared by the acquire, release and report
-- scripts (the store puts this file in front of each, after clock.lua). It
-- follows src/window.rs rule for rule; the behaviour suite and the
-- differential property tests (tests/differential.rs, random histories on
-- one clock the test sets) hold the two to the same answers.
--
-- Layout of the window string (BITFIELD reads it big-endian; a missing key
-- or a short string reads as zeros):
--   bits   0..63   head: the newest bucket the window was advanced to (0: empty)
--   bits  64..127  total: the sum of every slot
--   bits 128..     one u32 per slot; bucket b lives in slot b mod ring
-- `ring` is the number of buckets in a window plus one, so that a call is
-- dropped only when it is a whole window old: at most one bucket late, never
-- early.

local function slot_bit(bucket, ring)
  return 128 + (bucket % ring) * 32
end

-- An integer as the decimal text Redis reads. A Lua number handed to
-- redis.call (or joined to a string) is written with '%.14g', a floating
-- point conversion that cost a tenth of Redis's time on the decision path;
-- '%d' is an integer's. Every number these scripts send is an integer.
local function int(x)
  return string.format('%d', x)
end

-- A window must live until its newest bucket leaves it. The expiry is set
-- whenever the head moves, not on every grant: one call fewer per decision.
local function keep_until_head_leaves(key, head, bucket_ms, ring)
  redis.call('PEXPIREAT', key, int((head + ring) * bucket_ms))
end

-- Moves the window at `key` to the bucket of `now`, zeroing the slots of the
-- buckets that left it. Returns the head, the calls still counted, and
-- whether the key is fresh (absent: the caller's first write must set its
-- expiry). A clock that stepped back keeps the newer head.
local function advance(key, now, bucket_ms, ring)
  local h = redis.call('BITFIELD', key, 'GET', 'i64', '0', 'GET', 'i64', '64')
  local head, total = h[1], h[2]
  local cur = math.floor(now / bucket_ms)
  if head == 0 then
    return cur, 0, true
  end
  if cur <= head then
    return head, total, false
  end
  if cur - head >= ring then
    -- Everything left the window: start afresh.
    redis.call('DEL', key)
    return cur, 0, true
  end
  -- Zero the slots of buckets head+1 .. cur, in chunks: unpack() has a limit.
  local b = head + 1
  while b <= cur do
    local last = math.min(cur, b + 499)
    local args = {}
    for k = b, last do
      args[#args + 1] = 'SET'
      args[#args + 1] = 'u32'
      args[#args + 1] = int(slot_bit(k, ring))
      args[#args + 1] = '0'
    end
    local old = redis.call('BITFIELD', key, unpack(args))
    for i = 1, #old do
      total = total - old[i]
    end
    b = last + 1
  end
  redis.call('BITFIELD', key, 'SET', 'i64', '0', int(cur), 'SET', 'i64', '64', int(total))
  keep_until_head_leaves(key, cur, bucket_ms, ring)
  return cur, total, false
end

-- The org-wide view at `key`, or nil when there is no report or the last one
-- is a whole window old (every call it counted has left the org's window).
local function current_org_view(key, now, bucket_ms, ring)
  local v = redis.call('HMGET', key, 'ru', 'rm', 'rt', 'rg')
  if not v[1] then
    return nil
  end
  local at = tonumber(v[3])
  if now - at >= (ring - 1) * bucket_ms then
    return nil
  end
  return {used = tonumber(v[1]), max = tonumber(v[2]), at = at, since = tonumber(v[4] or 0)}
end
