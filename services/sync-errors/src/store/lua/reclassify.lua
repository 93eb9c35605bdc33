
-- Moves current errors of one org to other types, each in one step that
-- keeps the counters exact (the store puts errors.lua in front of it). An
-- error moves only while open or dead and still of the type the move
-- expects; a resyncing one stays (its job names its id). It leaves its
-- type's indexes and counters and enters the new type's under its new id,
-- keeping its creation order (seq), state, occurrences, times and details;
-- if its record already has a current error of the new type, it merges into
-- it instead (occurrences added, times widened, the later details win). A
-- resolved error under the new id is replaced. Nothing is notified and no
-- suspension is raised: a reclassification is not a new failure. Numbers
-- are copied as the strings they are stored as, never through Lua numbers.
--
-- KEYS[1]  the org's prefix
-- ARGV[1]  the moves, a JSON array of objects: id the error, nid its new id,
--          from its type now, t the new type, c the new type's category,
--          xb, xc, xm what decided (basis number, confidence in thousandths
--          as a string of digits, what matched)
--
-- Returns per move 1 when made, 0 when the error was left alone.
local p = KEYS[1]
local moves = cjson.decode(ARGV[1])
local out = {}
for i, m in ipairs(moves) do
  local ek = p .. ':e:' .. m.id
  local e = redis.call('HMGET', ek, 's', 't', 'o', 'rid')
  local state = tonumber(e[1])
  if not state or (state ~= 1 and state ~= 3) or tonumber(e[2]) ~= m.from or m.from == m.t then
    out[i] = 0
  else
    count_out(p, m.id, state, e[2], e[3], e[4])
    local old = {}
    local flat = redis.call('HGETALL', ek)
    for j = 1, #flat, 2 do
      old[flat[j]] = flat[j + 1]
    end
    redis.call('DEL', ek)
    local nk = p .. ':e:' .. m.nid
    local now = tonumber(redis.call('HGET', nk, 's'))
    if now and now ~= 4 then
      -- The record's current error of the new type takes this one in.
      redis.call('HINCRBY', nk, 'n', old.n)
      local times = redis.call('HMGET', nk, 'fs', 'ls')
      if tonumber(old.fs) < tonumber(times[1]) then
        redis.call('HSET', nk, 'fs', old.fs)
      end
      if tonumber(old.ls) > tonumber(times[2]) then
        redis.call('HSET', nk, 'ls', old.ls, 'd', old.d, 'st', old.st, 'm', old.m, 'f', old.f,
          'xb', m.xb, 'xc', m.xc, 'xm', m.xm)
      end
    else
      if now then
        redis.call('ZREM', p .. ':ix:resolved', m.nid)
        redis.call('DEL', nk)
      end
      redis.call('HSET', nk, 'o', old.o, 'rid', old.rid, 'sid', old.sid, 'd', old.d, 't', m.t,
        'st', old.st, 'm', old.m, 'f', old.f, 'n', old.n, 'fs', old.fs, 'ls', old.ls, 's', state,
        'seq', old.seq, 'a', old.a, 'xb', m.xb, 'xc', m.xc, 'xm', m.xm)
      count_in(p, m.nid, old.seq, m.t, m.c, old.o, old.rid)
      if state == 3 then
        redis.call('HINCRBY', p .. ':counts', 'd:t:' .. m.t, 1)
      end
    end
    out[i] = 1
  end
end
return out
