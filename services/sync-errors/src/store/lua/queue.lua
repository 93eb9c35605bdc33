-- Shared by the scripts of the resync queue (the store puts this file in
-- front of each). They run on one queue shard: every key below carries the
-- shard's hash tag `{q<n>}`, so they share one Redis Cluster slot.
--   syncgov:resync:{q<n>}:ready:<org>  sorted set, one org's waiting jobs:
--                   job pointer `<org>/<error id>` -> when due (ms; 0: now)
--   syncgov:resync:{q<n>}:turns   sorted set, the orgs with a job due, in
--                   the order they take turns (org -> place in line)
--   syncgov:resync:{q<n>}:parked  sorted set, the orgs whose jobs are all
--                   backing off (org -> when the earliest is due, ms)
--   syncgov:resync:{q<n>}:inflight  sorted set, claimed job pointers ->
--                   when the claim lapses (ms)
--   syncgov:resync:{q<n>}:ready   an earlier version's waiting jobs of every
--                   org of the shard; it takes its turns as the org ''
--                   (org ids are never empty) until it is drained
-- An org is in turns or parked exactly while its ready set holds a job.
-- Claims take turns, one job per org per turn, so no org's backlog holds
-- up another's jobs.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The place behind the last org in line.
local function back_of_line(turns)
  local last = redis.call('ZRANGE', turns, -1, -1, 'WITHSCORES')
  if last[2] then
    return tonumber(last[2]) + 1
  end
  return 0
end

-- Puts `org` where its waiting jobs (`ready`) say: in line when one is due
-- at `now` (at the back; or where it stands, with `keep`), parked until
-- its earliest job is due otherwise, nowhere when it has none.
local function line_up(turns, parked, ready, org, now, keep)
  local first = redis.call('ZRANGE', ready, 0, 0, 'WITHSCORES')
  if not first[2] then
    redis.call('ZREM', turns, org)
    redis.call('ZREM', parked, org)
  elseif tonumber(first[2]) <= now then
    redis.call('ZREM', parked, org)
    if not (keep and redis.call('ZSCORE', turns, org)) then
      redis.call('ZADD', turns, back_of_line(turns), org)
    end
  else
    redis.call('ZREM', turns, org)
    redis.call('ZADD', parked, first[2], org)
  end
end
