-- Takes due jobs from one shard of the shared resync queue: claims that
-- lapsed first, then jobs that are due; each moves to the in-flight set
-- until its visibility timeout.
--
-- KEYS[1]  the shard's ready set (job -> due time, ms)
-- KEYS[2]  the shard's in-flight set (job -> when its claim lapses, ms)
-- ARGV[1]  most jobs to take   ARGV[2]  visibility timeout (ms)
--
-- Returns {now, job, job, ...}.
local max = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[2])
local jobs = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max)
if #jobs < max then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, max - #jobs)
  for _, job in ipairs(due) do
    jobs[#jobs + 1] = job
  end
end
local out = {now}
for _, job in ipairs(jobs) do
  redis.call('ZREM', KEYS[1], job)
  redis.call('ZADD', KEYS[2], until_ms, job)
  out[#out + 1] = job
end
return out
