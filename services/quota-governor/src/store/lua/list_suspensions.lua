-- A page of active suspensions off one of their sorted indexes (by org, or
-- of one reason), read in one consistent snapshot with their states.
--
-- KEYS[1]  the index (syncgov:quota:{susp}:by-org or :by-reason:<n>)
-- KEYS[2]  the active hash (see suspend.lua)
-- ARGV[1]  the lowest member, ZRANGEBYLEX form ('-', '[x' or '(x')
-- ARGV[2]  the highest member ('+' or '(x')   ARGV[3]  most members read
--
-- Returns {members read, last member read or '', field, state, ...}; a
-- member whose suspension is gone is skipped.
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {#members, members[#members] or ''}
for _, field in ipairs(members) do
  local state = redis.call('HGET', KEYS[2], field)
  if state then
    out[#out + 1] = field
    out[#out + 1] = state
  end
end
return out
