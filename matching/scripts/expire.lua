-- expire.lua: expire a negotiation whose last offer went unanswered past its deadline, once.
--
-- KEYS[1] meta  KEYS[2] shard negotiation deadlines  KEYS[3] shard event stream
-- ARGV[1] negotiation id
-- returns {"expired"}, {"not_due", expires_ms} or {"final", status}
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'final', 'missing'}
end
local f = redis.call('HMGET', KEYS[1], 'status', 'expires_ms', 'product', 'buyer', 'seller', 'price', 'round')
if f[1] ~= 'offered' and f[1] ~= 'countered' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'final', f[1]}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now < tonumber(f[2]) then return {'not_due', f[2]} end
redis.call('HSET', KEYS[1], 'status', 'expired', 'updated_ms', string.format('%d', now))
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'type', 'negotiation', 'negotiation', ARGV[1],
  'action', 'expire', 'actor', '', 'status', 'expired', 'at_ms', string.format('%d', now), 'product', f[3],
  'buyer', f[4], 'seller', f[5], 'price', f[6], 'round', f[7])
return {'expired'}
