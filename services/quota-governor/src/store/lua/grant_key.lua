-- The secret grant ids are signed with (src/grant_id.rs), shared by every
-- replica of the store: the one kept, else the fresh one offered, which is
-- kept from then on. It never expires; it goes only with the data, and then
-- the ids signed with it are refused, which hands back nothing: the safe
-- direction.
--
-- KEYS[1]  syncgov:quota:grant-key
-- ARGV[1]  a fresh key (hex)
--
-- Returns the key kept (hex).
local kept = redis.call('GET', KEYS[1])
if kept then
  return kept
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
