-- Reads a budget and its window with the store's clock (clock.lua in
-- front), in one consistent snapshot; the arithmetic happens in Rust
-- (src/window.rs).
--
-- KEYS[1]  the budget hash   KEYS[2]  the window string   KEYS[3]  the org view
--
-- Returns {now ms, {l, a, sr, sn, sc, oa, oe, sh}, window string or nil,
-- {ru, rm, rt, rg}}.
return {
  now_ms(),
  redis.call('HMGET', KEYS[1], 'l', 'a', 'sr', 'sn', 'sc', 'oa', 'oe', 'sh'),
  redis.call('GET', KEYS[2]),
  redis.call('HMGET', KEYS[3], 'ru', 'rm', 'rt', 'rg'),
}
