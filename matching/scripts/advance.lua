-- advance.lua: freeze one auction's clock and move it forward (tests only; the API never calls it).
-- An auction's time is Redis TIME unless a test froze it here: from then on its scripts use this
-- clock, so a model-based test can pass deadlines exactly, without waiting.
--
-- KEYS[1] meta
-- ARGV[1] milliseconds to add (0 just freezes the clock at Redis TIME)
-- returns the auction's clock in ms
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('auction_not_found') end
local now = tonumber(redis.call('HGET', KEYS[1], 'test_clock_ms'))
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
now = now + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'test_clock_ms', string.format('%d', now))
return now
