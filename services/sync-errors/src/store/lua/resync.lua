
-- Marks errors of one org as resyncing. The store has already put a
-- pointer to each job in the shared queue (another slot on a cluster), so no
-- job can be lost between the two steps; a pointer to an error that is not
-- resyncing is dropped when it comes up.
--
-- KEYS[1]  the org's prefix
-- ARGV     the error ids
--
-- Returns per id: 0 not found, 1 resolved, 2 already queued, 3 queued.
local p = KEYS[1]
local out = {}
for i, id in ipairs(ARGV) do
  local ek = p .. ':e:' .. id
  local e = redis.call('HMGET', ek, 's', 't')
  local state = tonumber(e[1])
  if not state then
    out[i] = 0
  elseif state == 4 then
    out[i] = 1
  elseif state == 2 then
    out[i] = 2
  else
    if state == 3 then
      redis.call('HINCRBY', p .. ':counts', 'd:t:' .. e[2], -1)
    end
    redis.call('HSET', ek, 's', 2, 'a', 0)
    redis.call('HDEL', ek, 'jl', 'jd', 'jr')
    out[i] = 3
  end
end
return out
