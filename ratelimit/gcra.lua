-- gcra.lua: one rate-limit decision, atomically (generic cell rate algorithm).
--
-- KEYS[1]  the limited subject's key; holds its "theoretical arrival time" (TAT) in microseconds
-- ARGV[1]  burst: requests allowed at once
-- ARGV[2]  emission interval in microseconds (period / rate)
--
-- returns {allowed (1|0), retry_after_us}
--
-- Time comes from Redis TIME, so every venue process shares one clock. Values are stored as
-- integer strings (Lua numbers are doubles; microsecond timestamps fit exactly below 2^53).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local burst = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])

local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
