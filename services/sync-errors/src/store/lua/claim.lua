
-- Takes jobs from one shard of the shared resync queue: claims that lapsed
-- first (their workers died), then due jobs, the orgs taking turns: one job
-- from the org at the head of the line, which then goes to the back (or is
-- parked while its jobs back off, or leaves the line without jobs). Each
-- job taken moves to the in-flight set until its visibility timeout.
--
-- KEYS[1]  the shard's in-flight set   KEYS[2]  the shard's turns
-- KEYS[3]  the shard's parked orgs     KEYS[4]  the shard's ready set of an
--          earlier version (drained as the org '')
-- ARGV[1]  most jobs to take   ARGV[2]  visibility timeout (ms)
-- ARGV[3]  the prefix of the shard's per-org ready sets
--          (syncgov:resync:{q<n>}:ready:)
--
-- Returns {now, job, job, ...}.
local inflight, turns, parked, legacy = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local max = tonumber(ARGV[1])
local now = now_ms()
local until_ms = now + tonumber(ARGV[2])
local function ready_of(org)
  if org == '' then
    return legacy
  end
  return ARGV[3] .. org
end
local jobs = redis.call('ZRANGEBYSCORE', inflight, '-inf', now, 'LIMIT', 0, max)
if redis.call('EXISTS', legacy) == 1 then
  line_up(turns, parked, legacy, '', now, true)
end
-- Orgs whose earliest job came due since they were parked join the line.
for _, org in ipairs(redis.call('ZRANGEBYSCORE', parked, '-inf', now, 'LIMIT', 0, 1000)) do
  line_up(turns, parked, ready_of(org), org, now, true)
end
-- Each turn takes a job or takes an org out of the line: at most max turns
-- plus one per org in line.
while #jobs < max do
  local head = redis.call('ZRANGE', turns, 0, 0)[1]
  if not head then
    break
  end
  local ready = ready_of(head)
  local job = redis.call('ZRANGEBYSCORE', ready, '-inf', now, 'LIMIT', 0, 1)[1]
  if job then
    redis.call('ZREM', ready, job)
    jobs[#jobs + 1] = job
  end
  line_up(turns, parked, ready, head, now, false)
end
local out = {now}
for _, job in ipairs(jobs) do
  redis.call('ZADD', inflight, until_ms, job)
  out[#out + 1] = job
end
return out
