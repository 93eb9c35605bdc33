-- Puts an org at its counts in the three orders of the top-orgs view (most
-- current errors, most UNKNOWN errors, most dead resync jobs), or takes it
-- out of an order in which it has none. The view lives under one hash tag
-- ({fleet}); an org's own scripts stay in its slot, so this runs after
-- them, as their counters changed.
--
-- KEYS[1..3]  syncgov:errors:{fleet}:top:<current|unknown|dead>, sorted
--             sets of score 0, members <12 digits>\x1f<org> (999 999 999 999
--             less the count), read in byte order
-- KEYS[4..6]  the same names with :ranked, hashes org -> its member
-- ARGV[1]     org   ARGV[2..4]  its new member in each order, '' for none
--
-- Returns how many orders changed.
local changed = 0
for i = 1, 3 do
  local set, ranked, member = KEYS[i], KEYS[i + 3], ARGV[i + 1]
  local old = redis.call('HGET', ranked, ARGV[1])
  if not (old == member or (not old and member == '')) then
    changed = changed + 1
    if old then
      redis.call('ZREM', set, old)
    end
    if member == '' then
      redis.call('HDEL', ranked, ARGV[1])
    else
      redis.call('ZADD', set, 0, member)
      redis.call('HSET', ranked, ARGV[1], member)
    end
  end
end
return changed
