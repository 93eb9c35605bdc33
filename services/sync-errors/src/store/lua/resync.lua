
-- Marks errors of one org as resyncing. The store has already put a
-- pointer to each job in the shared queue (another slot on a cluster), so no
-- job can be lost between the two steps; a pointer to an error that is not
-- resyncing is dropped when it comes up.
--
-- At most ARGV[1] errors of the org are resyncing (queued jobs) at once,
-- counted in p:counts as q; past it an error stays as it is.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  most jobs the org may have queued   ARGV[2], ...  the error ids
--
-- Returns per id: 0 not found, 1 resolved, 2 already queued, 3 queued,
-- 4 not queued: the org has the most jobs queued it may.
local p = KEYS[1]
local cap = tonumber(ARGV[1])
local counts = p .. ':counts'
local queued = math.max(tonumber(redis.call('HGET', counts, 'q') or 0), 0)
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local ek = p .. ':e:' .. id
  local e = redis.call('HMGET', ek, 's', 't')
  local state = tonumber(e[1])
  local code
  if not state then
    code = 0
  elseif state == 4 then
    code = 1
  elseif state == 2 then
    code = 2
  elseif queued >= cap then
    code = 4
  else
    if state == 3 then
      redis.call('HINCRBY', counts, 'd:t:' .. e[2], -1)
    end
    redis.call('HSET', ek, 's', 2, 'a', 0)
    redis.call('HDEL', ek, 'jl', 'jd', 'jr')
    queued = queued + 1
    redis.call('HSET', counts, 'q', queued)
    code = 3
  end
  out[#out + 1] = code
end
return out
