-- Shared by the sync-error scripts that change current errors (the store
-- puts this file in front of each). It follows store/memory.rs rule for rule.
--
-- Every key of an org starts with the prefix `p` = `syncgov:errors:{<org>}`,
-- so all of them share the org's Redis Cluster slot; the scripts build the
-- names from the prefix.
--   p:e:<id>        hash, one error: o object, rid record, sid Salesforce id,
--                   d direction, t type, st status code, m message, f fields
--                   (joined by \31), n occurrences, fs/ls first and last seen
--                   (ms, written as strings of digits), s state (1 open, 2 resyncing, 3 dead, 4 resolved),
--                   seq creation order, a resync attempts; while a resync
--                   job runs: jl its lease, jd when the lease lapses, jr when
--                   a retry is due (all ms); what decided its type: xb the
--                   basis number, xc the confidence in thousandths, xm what
--                   matched
--   p:seq           counter of creation order
--   p:ix:all, p:ix:t:<type>, p:ix:c:<category>, p:ix:o:<object>
--                   sorted sets of current error ids by seq
--   p:ix:resolved   sorted set of resolved error ids by seq (bounded)
--   p:rec:<object>/<record>
--                   hash: current error id -> its category, per record
--   p:counts        hash: e current errors, r records with one, e:t:<type>
--                   errors of a type, d:t:<type> dead ones, r:c:<category>
--                   records with an error of the category, q resyncing
--                   errors (the org's queued jobs, which resync.lua caps)
--   p:idem:<window> hash of idempotency keys seen in a window, each with
--                   what ingest answered for it (t<type>:<error id> or
--                   r<reason>)
--   p:susp          list of the latest suspension-level failures (JSON
--                   {r reason, st, m, at}: at in ms, a string of digits)
--   p:outbox        list of suspension-level failures not yet told to the
--                   governor (the same JSON, with tp), oldest first
--   p:outbox:dead   list of outbox entries that could not be told, with
--                   why (see outbox_done.lua), oldest first
--   p:notify        hash, notification settings: en on, fq frequency, url,
--                   sec secret, x the channels (JSON: choices, recipients,
--                   webhook format, each channel's frequency), lp<f> the
--                   last digest period of frequency f (lp: an earlier
--                   version's); the delivery status:
--                   df failures in a row, dl the last one, dt its time, ds
--                   the last success of the webhook; mf, ml, mt, ms the
--                   same of e-mail (notify_settings.lua)
--   p:notify:new:<f>  hash: type -> new errors since the last digest of
--                   frequency f (p:notify:new: an earlier version's)
--   p:notify:imm:<type>  set for a minute after an immediate notification
--   p:notify:out    list of notifications to deliver (JSON {id, k kind,
--                   p period, c {type: count}})
--   p:notify:inflight  hash: id -> notification being delivered, with the
--                   time its claim lapses (u)
--   p:notify:sent:<id>  set of the channels (webhook, email) that took
--                   notification id, so a retry skips them (a week's TTL)

local RESOLVED_KEPT = 100000

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Counts out a resyncing error that stops resyncing: its job is over.
-- Never below zero (errors queued by an earlier version were not counted).
local function unqueue(p)
  local counts = p .. ':counts'
  if redis.call('HINCRBY', counts, 'q', -1) < 0 then
    redis.call('HSET', counts, 'q', 0)
  end
end

-- Counts a new current error in the indexes and counters.
local function count_in(p, id, seq, t, c, o, rid)
  redis.call('ZADD', p .. ':ix:all', seq, id)
  redis.call('ZADD', p .. ':ix:t:' .. t, seq, id)
  redis.call('ZADD', p .. ':ix:c:' .. c, seq, id)
  redis.call('ZADD', p .. ':ix:o:' .. o, seq, id)
  local rec = p .. ':rec:' .. o .. '/' .. rid
  local categories = redis.call('HVALS', rec)
  local category_was_clean = true
  for _, other in ipairs(categories) do
    if tonumber(other) == c then
      category_was_clean = false
    end
  end
  redis.call('HSET', rec, id, c)
  local counts = p .. ':counts'
  redis.call('HINCRBY', counts, 'e', 1)
  redis.call('HINCRBY', counts, 'e:t:' .. t, 1)
  if #categories == 0 then
    redis.call('HINCRBY', counts, 'r', 1)
  end
  if category_was_clean then
    redis.call('HINCRBY', counts, 'r:c:' .. c, 1)
  end
end

-- Counts out current error `id` (its state, type, object and record as
-- given): out of the indexes and counters, as when it stops being current.
local function count_out(p, id, state, t, o, rid)
  local c = category_of[tonumber(t)]
  redis.call('ZREM', p .. ':ix:all', id)
  redis.call('ZREM', p .. ':ix:t:' .. t, id)
  redis.call('ZREM', p .. ':ix:c:' .. c, id)
  redis.call('ZREM', p .. ':ix:o:' .. o, id)
  local rec = p .. ':rec:' .. o .. '/' .. rid
  redis.call('HDEL', rec, id)
  local counts = p .. ':counts'
  redis.call('HINCRBY', counts, 'e', -1)
  redis.call('HINCRBY', counts, 'e:t:' .. t, -1)
  if state == 3 then
    redis.call('HINCRBY', counts, 'd:t:' .. t, -1)
  elseif state == 2 then
    unqueue(p)
  end
  local categories = redis.call('HVALS', rec)
  if #categories == 0 then
    redis.call('HINCRBY', counts, 'r', -1)
  end
  local category_now_clean = true
  for _, other in ipairs(categories) do
    if tonumber(other) == c then
      category_now_clean = false
    end
  end
  if category_now_clean then
    redis.call('HINCRBY', counts, 'r:c:' .. c, -1)
  end
end

-- Resolves current error `id`: out of the indexes and counters, into the
-- resolved index, readable for a while. Returns 1 if it was current.
local function resolve(p, id, resolved_ttl_ms)
  local ek = p .. ':e:' .. id
  local e = redis.call('HMGET', ek, 's', 't', 'o', 'rid', 'seq')
  local state = tonumber(e[1])
  if not state or state == 4 then
    return 0
  end
  count_out(p, id, state, e[2], e[3], e[4])
  redis.call('HSET', ek, 's', 4)
  redis.call('HDEL', ek, 'jd', 'jr')
  redis.call('PEXPIRE', ek, resolved_ttl_ms)
  redis.call('ZADD', p .. ':ix:resolved', e[5], id)
  redis.call('ZREMRANGEBYRANK', p .. ':ix:resolved', 0, -RESOLVED_KEPT - 1)
  return 1
end
