-- Reads a budget and its window with the store's clock (clock.lua in
-- front), in one consistent snapshot; the arithmetic happens in Rust
-- (src/window.rs, src/consumers.rs).
--
-- KEYS[1]  the budget hash   KEYS[2]  the window string   KEYS[3]  the org view
-- KEYS[4]  the consumers hash, only when the consumers are asked for
--
-- Returns {now ms, {l, a, sr, sn, sc, oa, oe, sh, th}, window string or nil,
-- {ru, rm, rt, rg}} and, with KEYS[4], its fields and values (one field
-- per bucket of the window, each at most 33 entries).
local out = {
  now_ms(),
  redis.call('HMGET', KEYS[1], 'l', 'a', 'sr', 'sn', 'sc', 'oa', 'oe', 'sh', 'th'),
  redis.call('GET', KEYS[2]),
  redis.call('HMGET', KEYS[3], 'ru', 'rm', 'rt', 'rg'),
}
if KEYS[4] then
  out[5] = redis.call('HGETALL', KEYS[4])
end
return out
