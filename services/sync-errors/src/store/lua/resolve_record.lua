
-- Resolves every current error of one record (a later sync succeeded).
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  object type   ARGV[2]  CRM record id   ARGV[3]  resolved TTL (ms)
--
-- Returns how many errors were resolved.
local p = KEYS[1]
local ids = redis.call('HKEYS', p .. ':rec:' .. ARGV[1] .. '/' .. ARGV[2])
local resolved = 0
for _, id in ipairs(ids) do
  resolved = resolved + resolve(p, id, tonumber(ARGV[3]))
end
return resolved
