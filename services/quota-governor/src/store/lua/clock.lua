-- The store's clock, shared by every replica: Redis TIME in milliseconds.
-- The store puts this file in front of every script that reads the clock
-- of a budget (src/store/redis/mod.rs).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

