
-- Records a batch of classified failures of one org, atomically. The store
-- runs this file as the body of a function `ingest(KEYS, ARGV)`: the ingest
-- script calls it with its own KEYS and ARGV, complete.lua with a failure a
-- worker reports with a job's outcome.
--
-- KEYS[1]  the org's prefix, syncgov:errors:{<org>}
-- ARGV[1]  idempotency window (ms)
-- ARGV[2]  the failures, a JSON array of objects:
--          k idempotency key, id error id ('' for a suspension), t type,
--          c category, r suspension reason (0 for a record-level error),
--          o object, rid record, sid Salesforce id, d direction, st status
--          code, m message, f fields joined by \31, at time (ms as a string
--          of digits, '': now),
--          tp the ingest's W3C traceparent (suspension-level ones, optional),
--          a what ingest answers for it: kept with its idempotency key, so
--          that the key sent again gets the same answer, whatever the body,
--          xb, xc, xm what decided its type (basis number, confidence in
--          thousandths as a string of digits, what matched)
--
-- Suspension-level failures also go to the org's outbox (p:outbox), from
-- which the relay tells the governor: written with the failure, so an
-- acknowledged one is never lost while the governor is away.
--
-- Returns one entry per failure: 0 when it was recorded, or, when its
-- idempotency key was seen before (nothing was counted again), the answer
-- kept with the key the first time ('1' when an earlier version kept none).
local p = KEYS[1]
local window = tonumber(ARGV[1])
local batch = cjson.decode(ARGV[2])
local now = now_ms()
local generation = math.floor(now / window)
local seen_now = p .. ':idem:' .. generation
local seen_before = p .. ':idem:' .. (generation - 1)

-- Notifications: the org's settings say, per channel with somewhere to
-- send (a URL; recipients), whether new errors are announced at once (at
-- most once per type per minute) or counted for that channel's digest
-- (p:notify:new:<frequency>), as notify::Settings::new_error_plan does. A
-- channel's frequency (x's wf, ef) of 0 follows fq.
local notify = redis.call('HMGET', p .. ':notify', 'en', 'fq', 'url', 'x')
local immediate, digests = false, {}
if notify[1] == '1' then
  local x = {}
  if notify[4] and notify[4] ~= '' then
    x = cjson.decode(notify[4])
  end
  local fq = tonumber(notify[2]) or 1
  local function of(f)
    f = tonumber(f) or 0
    if f == 0 then
      return fq
    end
    return f
  end
  local channels = {}
  if notify[3] and notify[3] ~= '' then
    channels[#channels + 1] = of(x.wf)
  end
  if type(x.r) == 'table' and #x.r > 0 then
    channels[#channels + 1] = of(x.ef)
  end
  for _, f in ipairs(channels) do
    if f == 2 or f == 3 then
      digests[f] = true
    else
      immediate = true
    end
  end
end
local function notify_new_error(t)
  for f in pairs(digests) do
    redis.call('HINCRBY', p .. ':notify:new:' .. f, t, 1)
  end
  if immediate and redis.call('SET', p .. ':notify:imm:' .. t, 1, 'PX', 60000, 'NX') then
    local counts = {}
    counts[tostring(t)] = 1
    redis.call('RPUSH', p .. ':notify:out', cjson.encode({id = 'errors-' .. t .. '-' .. now, k = 'errors', c = counts}))
  end
end

local duplicates = {}
for i, f in ipairs(batch) do
  local first = redis.call('HGET', seen_before, f.k)
  if not first and redis.call('HSETNX', seen_now, f.k, f.a) == 0 then
    first = redis.call('HGET', seen_now, f.k)
  end
  if first then
    duplicates[i] = first
  else
    duplicates[i] = 0
    -- Times stay strings of digits, written as given: a Lua number comes
    -- out in exponent form past 14 digits in cjson and past 17 in a command,
    -- which nothing reads back as a time.
    local at = f.at
    if at == '' then
      at = string.format('%d', now)
    end
    local at_ms = tonumber(at)
    if f.r > 0 then
      local event = cjson.encode({r = f.r, st = f.st, m = f.m, at = at})
      redis.call('LPUSH', p .. ':susp', event)
      redis.call('LTRIM', p .. ':susp', 0, 99)
      -- For the governor: stored with the failure, sent by the relay, with
      -- the ingest's trace context (tp) so that the Suspend joins its trace.
      redis.call('RPUSH', p .. ':outbox', cjson.encode({r = f.r, st = f.st, m = f.m, at = at, tp = f.tp}))
    else
      local ek = p .. ':e:' .. f.id
      local state = tonumber(redis.call('HGET', ek, 's'))
      if state and state ~= 4 then
        -- Another report of a current error: the latest details win, the
        -- times only widen.
        redis.call('HINCRBY', ek, 'n', 1)
        local times = redis.call('HMGET', ek, 'fs', 'ls')
        if at_ms >= tonumber(times[2]) then
          redis.call('HSET', ek, 'ls', at, 'd', f.d, 'st', f.st, 'm', f.m, 'f', f.f,
            'xb', f.xb, 'xc', f.xc, 'xm', f.xm)
          if f.sid ~= '' then
            redis.call('HSET', ek, 'sid', f.sid)
          end
        end
        if at_ms < tonumber(times[1]) then
          redis.call('HSET', ek, 'fs', at)
        end
      else
        -- A new current error, or one back after being resolved.
        if state then
          redis.call('ZREM', p .. ':ix:resolved', f.id)
          redis.call('DEL', ek)
        end
        local seq = redis.call('INCR', p .. ':seq')
        redis.call('HSET', ek, 'o', f.o, 'rid', f.rid, 'sid', f.sid, 'd', f.d, 't', f.t, 'st', f.st,
          'm', f.m, 'f', f.f, 'n', 1, 'fs', at, 'ls', at, 's', 1, 'seq', seq, 'a', 0,
          'xb', f.xb, 'xc', f.xc, 'xm', f.xm)
        count_in(p, f.id, seq, f.t, f.c, f.o, f.rid)
        notify_new_error(f.t)
      end
    end
  end
end
redis.call('PEXPIRE', seen_now, 2 * window)
return duplicates
