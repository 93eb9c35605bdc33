
-- Tokens granted per consumer, per bucket of the window, in the hash kc:
--   ^     the newest bucket the hash was trimmed to
--   <b>   bucket <b>: one entry per consumer, '\30<name>\29<tokens>', where
--         <name> is client id, object and operation separated by \31; the
--         entry of (other), the consumers beyond the cap, has an empty name
-- One field per bucket, so that a bucket leaves with one HDEL. A bucket
-- leaves with the window's (src/consumers.rs follows the same rules); the
-- hash expires with its newest bucket. Names hold no control character.

-- Counts n tokens granted to the consumer `name` in bucket head, under
-- (other) when the bucket names cap consumers already; drops the buckets
-- that left the window since the last grant.
local function count_consumer(kc, head, name, n, bucket_ms, ring, cap)
  local field = int(head)
  -- The trim mark and the head's bucket in one call.
  local got = redis.call('HMGET', kc, '^', field)
  local trimmed = tonumber(got[1] or 0)
  local s = got[2] or ''
  if head > trimmed then
    if trimmed == 0 or head - trimmed >= ring then
      redis.call('DEL', kc)
      s = ''
    else
      local gone = {}
      for b = trimmed + 1 - ring, head - ring do
        gone[#gone + 1] = int(b)
        if #gone == 500 then
          redis.call('HDEL', kc, unpack(gone))
          gone = {}
        end
      end
      if #gone > 0 then
        redis.call('HDEL', kc, unpack(gone))
      end
    end
    redis.call('HSET', kc, '^', field)
    redis.call('PEXPIREAT', kc, int((head + ring) * bucket_ms))
  end
  -- Adds n to the entry that starts with `key`; false when there is none.
  local function bump(key)
    local i, j = string.find(s, key, 1, true)
    if not i then
      return false
    end
    local k = string.find(s, '\30', j + 1, true) or (#s + 1)
    s = string.sub(s, 1, j) .. int(tonumber(string.sub(s, j + 1, k - 1)) + n) .. string.sub(s, k)
    return true
  end
  if not bump('\30' .. name .. '\29') then
    local _, named = string.gsub(s, '\30', '')
    if string.find(s, '\30\29', 1, true) then
      named = named - 1
    end
    if named < cap then
      s = s .. '\30' .. name .. '\29' .. int(n)
    elseif not bump('\30\29') then
      s = s .. '\30\29' .. int(n)
    end
  end
  redis.call('HSET', kc, field, s)
end

-- Decides one request for tokens and counts a grant: as many as fit, up to
-- count, or none when fewer than min fit (min = count: all or nothing). Used
-- by acquire.lua (one decision) and acquire_many.lua (a batch, in order).
--
-- kb  the budget hash: l org_limit, a allocation, sr/sn/sc the retry, normal
--     and critical shares in percent, oa/oe an override's allocation and
--     expiry (ms), sh 1 in shadow mode (absent: enforced)
-- kw  the window string (layout above)
-- ko  the org-wide view hash: ru reported used, rm reported max, rt when
--     observed (ms), rg grants since (absent: no report)
-- kc  the consumers hash (above); name, the consumer; cap, the most
--     consumers a bucket names
-- count; min; priority (1 retry, 2 normal, 3 critical); bucket width (ms); ring
-- slots (buckets per window + 1); org safety margin (percent); the default
-- budget {l, a, sr, sn, sc} or nil; now (ms, the store's clock).
--
-- Returns {granted 0/1, deny reason (0 none, 1 allocation, 2 priority share,
-- 3 org limit, 5 unknown org), used, allocation, remaining, retry after ms
-- (-1: waiting cannot help), grant's bucket start ms, default budget 0/1,
-- tokens granted, shadow denial (0 none, 1 allocation, 2 priority share: the
-- denial a shadow-mode grant escaped)}.
--
-- Shadow mode follows domain::decide: a denial for the allocation or the
-- share becomes a grant as if the cap were the org limit (and the org-wide
-- room), counted like any grant; with no room even there, an org limit
-- denial.
local function decide(kb, kw, ko, kc, name, cap, count, min, priority, bucket_ms, ring, margin, default, now)
  local budget = redis.call('HMGET', kb, 'l', 'a', 'sr', 'sn', 'sc', 'oa', 'oe', 'sh')
  local is_default = 0
  if not budget[1] then
    if not default then
      return {0, 5, 0, 0, 0, -1, 0, 0, 0, 0}
    end
    budget = {default[1], default[2], default[3], default[4], default[5], false, false, false}
    is_default = 1
  end

  local org = current_org_view(ko, now, bucket_ms, ring)
  local org_limit = tonumber(budget[1])
  if org then
    org_limit = org.max
  end
  local allocation = tonumber(budget[2])
  if budget[6] and tonumber(budget[7]) > now then
    allocation = tonumber(budget[6])
  end
  local limit = math.floor(allocation * tonumber(budget[2 + priority]) / 100)
  allocation = math.min(allocation, org_limit)
  limit = math.min(limit, allocation)

  local head, used, fresh = advance(kw, now, bucket_ms, ring)
  local org_room = nil
  if org then
    org_room = math.max(math.floor(org_limit * (100 - margin) / 100) - org.used - org.since, 0)
  end
  -- As many as fit under cap, up to count.
  local function fitting(cap)
    local n = math.min(count, math.max(cap - used, 0))
    if org_room then
      n = math.min(n, org_room)
    end
    return n
  end
  -- Counts a grant of n tokens and says so.
  local function grant(n, shadow_reason)
    redis.call('BITFIELD', kw,
      'SET', 'i64', '0', int(head),
      'SET', 'i64', '64', int(used + n),
      'INCRBY', 'u32', int(slot_bit(head, ring)), int(n))
    if fresh then
      keep_until_head_leaves(kw, head, bucket_ms, ring)
    end
    if org then
      redis.call('HINCRBY', ko, 'rg', int(n))
    end
    count_consumer(kc, head, name, n, bucket_ms, ring, cap)
    return {1, 0, used + n, allocation, math.max(limit - used - n, 0), -1, head * bucket_ms,
      is_default, n, shadow_reason}
  end
  local fewest = math.max(min, 1)
  local n = fitting(limit)
  if n >= fewest then
    return grant(n, 0)
  end

  -- Denied as a request for the fewest tokens that would do.
  if used + min <= limit then
    -- The integration has room; the org as a whole does not. When other apps'
    -- calls leave the org's window is not known here.
    return {0, 3, used, allocation, limit - used, -1, 0, is_default, 0, 0}
  end
  local reason = 2
  if used + min > allocation then
    reason = 1
  end
  if budget[8] == '1' then
    -- Shadow mode lifts the allocation and the shares, never the org limit.
    n = fitting(org_limit)
    if n >= fewest then
      return grant(n, reason)
    end
    return {0, 3, used, allocation, math.max(limit - used, 0), -1, 0, is_default, 0, 0}
  end
  count = min
  -- When will enough calls have left for this request to fit? Walk the buckets
  -- oldest first; bucket k leaves when the clock enters bucket k + ring.
  local retry_after = -1
  if count <= limit then
    local need = used + count - limit
    local bytes = redis.call('GET', kw) or ''
    local freed = 0
    for k = head - ring + 1, head do
      local pos = 17 + (k % ring) * 4
      if pos + 3 <= #bytes then
        freed = freed + struct.unpack('>I4', bytes, pos)
      end
      if freed >= need then
        retry_after = math.max((k + ring) * bucket_ms - now, 0)
        break
      end
    end
  end
  return {0, reason, used, allocation, math.max(limit - used, 0), retry_after, 0, is_default, 0, 0}
end
