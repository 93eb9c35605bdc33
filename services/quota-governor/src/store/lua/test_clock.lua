-- Tests only: put in front of a script instead of clock.lua by a store
-- built with the `test-clock` feature (RedisStore::open_with_clock), never
-- by a governor (see `Clock` in src/store/mod.rs). The clock is the last
-- argument of the call; the rest of the script sees the arguments without
-- it, exactly as a governor sends them.
local set_now_ms = tonumber(ARGV[#ARGV])
local ARGV = {unpack(ARGV, 1, #ARGV - 1)}
local function now_ms()
  return set_now_ms
end

