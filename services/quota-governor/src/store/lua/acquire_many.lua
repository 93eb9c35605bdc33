-- A batch of decisions that reached one replica at the same time, decided
-- one after the other in arrival order (decide.lua), in one round trip: as
-- exact as deciding them one by one, for a fraction of the cost.
--
-- KEYS     four keys per decision (budget hash, window string, org view,
--          consumers hash)
-- ARGV[1]  bucket width (ms)   ARGV[2]  ring slots   ARGV[3]  org margin (%)
-- ARGV[4..8]  the default budget (l, a, sr, sn, sc), or five empty strings
-- ARGV[9]  the most consumers a bucket names
-- then per decision: count, min, priority, the consumer's name
--
-- Returns each decision's numbers (decide.lua: six for a grant, five for a
-- denial), one decision after the other.
local bucket_ms = tonumber(ARGV[1])
local ring = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local default = nil
if ARGV[4] ~= '' then
  default = {ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]}
end
local cap = tonumber(ARGV[9])
local now = now_ms()
local out = {}
local at = 0
for i = 0, #KEYS / 4 - 1 do
  local a = 10 + 4 * i
  local reply = decide(KEYS[4 * i + 1], KEYS[4 * i + 2], KEYS[4 * i + 3], KEYS[4 * i + 4],
    ARGV[a + 3], cap, tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]),
    bucket_ms, ring, margin, default, now)
  -- By index: `#out` searches the table's length on every append, and
  -- ipairs calls a function per element.
  local len = #reply
  for j = 1, len do
    out[at + j] = reply[j]
  end
  at = at + len
end
return out
