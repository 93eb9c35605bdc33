-- Replaces a budget only if it is still exactly the one expected: the check
-- and the write are one step, so no other write to the budget can land
-- between them (a conditional SetBudget).
--
-- KEYS[1]  the budget hash
-- ARGV[1]  n, the number of budget fields
-- ARGV[2 .. n+1]     the fields' names (decode::BUDGET_FIELDS)
-- ARGV[n+2 .. 2n+1]  the expected budget's values, in the same order, ''
--                    where it has none; all '' expects no budget at all
-- ARGV[2n+2 ..]      the new budget as field, value pairs
--
-- Returns 1 when written, 0 (and nothing written) when the budget stored is
-- not the one expected. Values are compared as numbers: every one is an
-- integer below 2^53, which Lua's numbers hold exactly.
local n = tonumber(ARGV[1])
local stored = redis.call('HMGET', KEYS[1], unpack(ARGV, 2, n + 1))
for i = 1, n do
  local want = ARGV[n + 1 + i]
  local have = stored[i]
  if want == '' then
    if have then
      return 0
    end
  elseif not have or tonumber(have) ~= tonumber(want) then
    return 0
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2 * n + 2))
return 1
