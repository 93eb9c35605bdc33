
-- Takes the first entries of an org's outbox as the relay handled them, in
-- order: each one the governor took is dropped; each one that cannot be
-- told (unreadable, or refused by the governor for good) moves to the
-- org's dead letters with its reason, where an operator reads it. Nothing
-- leaves the outbox any other way. An entry that is no longer at the head
-- (another replica's relay took it meanwhile) is left alone, so two relays
-- never take more than what they read.
--
-- KEYS[1]  the org's outbox, p:outbox   KEYS[2]  its dead letters, p:outbox:dead
-- ARGV[1]  how many dead letters to keep (the oldest go first)
-- ARGV[2], ARGV[3], ...  pairs: an entry as read, then '' when the
--          governor took it, else why it is a dead letter
--
-- The dead letters are JSON objects {entry, reason, at}, at being when it
-- was dead-lettered (ms, a string of digits), oldest first.
--
-- Returns how many entries were taken.
local outbox, dead = KEYS[1], KEYS[2]
local t = redis.call('TIME')
local now = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local taken = 0
for i = 2, #ARGV - 1, 2 do
  local entry, why = ARGV[i], ARGV[i + 1]
  if redis.call('LINDEX', outbox, 0) == entry then
    redis.call('LPOP', outbox)
    taken = taken + 1
    if why ~= '' then
      redis.call('RPUSH', dead, cjson.encode({entry = entry, reason = why, at = now}))
      redis.call('LTRIM', dead, -tonumber(ARGV[1]), -1)
    end
  end
end
return taken
