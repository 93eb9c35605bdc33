
-- Puts job pointers of one org on its queue shard, all due at one time,
-- and the org in the shard's line: an org not in line yet joins at the
-- back when a job of its is due now, or is parked until one is.
--
-- KEYS[1]  the org's ready set on the shard   KEYS[2]  the shard's turns
-- KEYS[3]  the shard's parked orgs            KEYS[4]  the shard's in-flight set
-- ARGV[1]  the org   ARGV[2]  when the jobs are due (ms; 0: now)
-- ARGV[3]  'NX': new jobs, a pointer already waiting stays as it is;
--          'MOVE': the pointers leave the in-flight set (a retry after a
--          failed attempt, a lapsed claim whose retry is not due yet)
-- ARGV[4], ...  the job pointers
--
-- Returns how many pointers were added to the ready set.
local ready, turns, parked, inflight = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local org, due, mode = ARGV[1], ARGV[2], ARGV[3]
local added = 0
for i = 4, #ARGV do
  if mode == 'MOVE' then
    redis.call('ZREM', inflight, ARGV[i])
    added = added + redis.call('ZADD', ready, due, ARGV[i])
  else
    added = added + redis.call('ZADD', ready, 'NX', due, ARGV[i])
  end
end
line_up(turns, parked, ready, org, now_ms(), true)
return added
