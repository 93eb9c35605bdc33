-- One decision (decide.lua).
--
-- KEYS[1]  the budget hash   KEYS[2]  the window string   KEYS[3]  the org view
-- KEYS[4]  the consumers hash
-- ARGV[1]  count              ARGV[2]  min (count: all or nothing)
-- ARGV[3]  priority: 1 retry, 2 normal, 3 critical
-- ARGV[4]  bucket width (ms)  ARGV[5]  ring slots (buckets per window + 1)
-- ARGV[6]  org safety margin (percent)
-- ARGV[7]  the consumer's name  ARGV[8]  the most consumers a bucket names
-- ARGV[9..13]  the default budget (l, a, sr, sn, sc), absent when there is none
local default = nil
if ARGV[9] then
  default = {ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]}
end
return decide(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[7], tonumber(ARGV[8]),
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5]), tonumber(ARGV[6]), default, now_ms())
