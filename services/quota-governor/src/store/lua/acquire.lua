
-- One decision (decide.lua).
--
-- KEYS[1]  the budget hash   KEYS[2]  the window string   KEYS[3]  the org view
-- ARGV[1]  count              ARGV[2]  min (count: all or nothing)
-- ARGV[3]  priority: 1 retry, 2 normal, 3 critical
-- ARGV[4]  bucket width (ms)  ARGV[5]  ring slots (buckets per window + 1)
-- ARGV[6]  org safety margin (percent)
-- ARGV[7..11]  the default budget (l, a, sr, sn, sc), absent when there is none
local default = nil
if ARGV[7] then
  default = {ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]}
end
return decide(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1]), tonumber(ARGV[2]),
  tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
  default, now_ms())
