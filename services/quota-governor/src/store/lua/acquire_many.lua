
-- A batch of decisions that reached one replica at the same time, decided
-- one after the other in arrival order (decide.lua), in one round trip: as
-- exact as deciding them one by one, for a fraction of the cost.
--
-- KEYS     three keys per decision (budget hash, window string, org view)
-- ARGV[1]  bucket width (ms)   ARGV[2]  ring slots   ARGV[3]  org margin (%)
-- ARGV[4..8]  the default budget (l, a, sr, sn, sc), or five empty strings
-- then per decision: count, min, priority
--
-- Returns the 10 numbers of each decision, one decision after the other.
local bucket_ms = tonumber(ARGV[1])
local ring = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local default = nil
if ARGV[4] ~= '' then
  default = {ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]}
end
local now = now_ms()
local out = {}
for i = 0, #KEYS / 3 - 1 do
  local reply = decide(KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3],
    tonumber(ARGV[9 + 3 * i]), tonumber(ARGV[10 + 3 * i]), tonumber(ARGV[11 + 3 * i]), bucket_ms, ring, margin, default, now)
  for _, v in ipairs(reply) do
    out[#out + 1] = v
  end
end
return out
