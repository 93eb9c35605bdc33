
-- Tokens granted per consumer, per bucket of the window, in the hash kc.
-- The bucket that grants are counted in (the open one) keeps a field per
-- consumer, so that a grant is one HINCRBY; a bucket the window has moved
-- past is closed into one field:
--   ^          the open bucket (0 or absent: none yet)
--   <b>\30<name> tokens of the consumer <name> in bucket <b>, or of
--              (other), the consumers beyond the cap, with an empty name
--   <b>\31     the names bucket <b> counts one by one, each after a \30
--   <b>        closed bucket <b>: '\30<name>\29<tokens>' per consumer
-- <name> is client id, object and operation separated by \31; names hold
-- no control character, buckets are decimal. A bucket leaves with the
-- window's (src/consumers.rs follows the same rules): closed buckets are
-- dropped with one HDEL each when the open bucket moves, and the hash
-- expires with its newest bucket.

-- Closes the open bucket `b`: its consumers' fields become one field.
-- Anything an earlier layout wrote under <b> is kept in front.
local function close_bucket(kc, b)
  local field = int(b)
  local names = redis.call('HGET', kc, field .. '\31') or ''
  local fields = {field, field .. '\30'}
  for name in string.gmatch(names, '\30([^\30]+)') do
    fields[#fields + 1] = field .. '\30' .. name
  end
  local got = redis.call('HMGET', kc, unpack(fields))
  local parts = {got[1] or ''}
  for i = 3, #fields do
    if got[i] then
      parts[#parts + 1] = '\30' .. string.sub(fields[i], #field + 2) .. '\29' .. got[i]
    end
  end
  if got[2] then
    parts[#parts + 1] = '\30\29' .. got[2]
  end
  local closed = table.concat(parts)
  if closed ~= '' then
    redis.call('HSET', kc, field, closed)
  end
  fields[1] = field .. '\31'
  redis.call('HDEL', kc, unpack(fields))
end

-- Counts n tokens granted to the consumer `name` in bucket head, under
-- (other) when the bucket names cap consumers already. A consumer already
-- counted in the open bucket costs one HINCRBY; the first grant of a
-- consumer in a bucket also checks the cap and, in a new bucket, closes
-- the open one and drops the buckets that left the window.
local function count_consumer(kc, head, name, n, bucket_ms, ring, cap)
  local bucket = int(head)
  local field = bucket .. '\30' .. name
  if redis.call('HINCRBY', kc, field, int(n)) ~= n then
    return
  end
  local got = redis.call('HMGET', kc, '^', bucket .. '\31')
  local open = tonumber(got[1] or 0)
  local names = got[2] or ''
  if head > open then
    if open == 0 then
      -- A new hash: nothing to close or drop.
    elseif head - open >= ring then
      -- Everything left the window: start afresh with this grant.
      redis.call('DEL', kc)
      redis.call('HSET', kc, field, int(n))
    else
      close_bucket(kc, open)
      local gone = {}
      for b = open + 1 - ring, head - ring do
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
    redis.call('HSET', kc, '^', bucket)
    redis.call('PEXPIREAT', kc, int((head + ring) * bucket_ms))
  end
  if name == '' then
    return
  end
  local _, named = string.gsub(names, '\30', '')
  if named < cap then
    redis.call('HSET', kc, bucket .. '\31', names .. '\30' .. name)
  else
    redis.call('HDEL', kc, field)
    redis.call('HINCRBY', kc, bucket .. '\30', int(n))
  end
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
-- Returns, for a grant, {status, used, allocation, remaining, the grant's
-- bucket start ms, tokens granted}; for a denial, {status, used,
-- allocation, remaining, retry after ms (-1: waiting cannot help)}. The
-- status is 0 for a grant, 11 or 12 for a shadow-mode grant that escaped
-- the allocation's or the priority share's denial, and the deny reason
-- otherwise (1 allocation, 2 priority share, 3 org limit, 5 unknown org).
-- A reply carries only what its outcome needs: every number costs the
-- client its parsing.
--
-- Shadow mode follows domain::decide: a denial for the allocation or the
-- share becomes a grant as if the cap were the org limit (and the org-wide
-- room), counted like any grant; with no room even there, an org limit
-- denial.
local function decide(kb, kw, ko, kc, name, cap, count, min, priority, bucket_ms, ring, margin, default, now)
  local budget = redis.call('HMGET', kb, 'l', 'a', 'sr', 'sn', 'sc', 'oa', 'oe', 'sh')
  if not budget[1] then
    if not default then
      return {5, 0, 0, 0, -1}
    end
    budget = {default[1], default[2], default[3], default[4], default[5], false, false, false}
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
    local status = 0
    if shadow_reason > 0 then
      status = 10 + shadow_reason
    end
    return {status, used + n, allocation, math.max(limit - used - n, 0), head * bucket_ms, n}
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
    return {3, used, allocation, limit - used, -1}
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
    return {3, used, allocation, math.max(limit - used, 0), -1}
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
  return {reason, used, allocation, math.max(limit - used, 0), retry_after}
end
