-- restore.lua: rebuild an open auction's hot state from PostgreSQL after Redis lost it, once. It
-- writes only if the auction's meta is missing, so running it against live state changes nothing.
--
-- KEYS[1] meta  KEYS[2] bid replies  KEYS[3] history  KEYS[4] sealed bids  KEYS[5] allow  KEYS[6] deny
-- KEYS[7] deposits received  KEYS[8] shard deadlines
-- ARGV[1] auction id  ARGV[2] JSON: {meta: {field: value, ...}, allow: [...], deny: [...],
--   deposits: [...], bids: [{bid, buyer, amount, seq, at_ms, end_ms, bids}, ...] in sequence order}
-- returns {"restored", bids} or {"exists"}
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
local s = cjson.decode(ARGV[2])
for k, v in pairs(s.meta) do redis.call('HSET', KEYS[1], k, v) end
for _, o in ipairs(s.allow) do redis.call('SADD', KEYS[5], o) end
for _, o in ipairs(s.deny) do redis.call('SADD', KEYS[6], o) end
for _, o in ipairs(s.deposits) do redis.call('SADD', KEYS[7], o) end
local kind = s.meta.kind
local seq, high, leader, end_ms = 0, 0, '', tonumber(s.meta.end_ms)
for _, b in ipairs(s.bids) do
  seq = b.seq
  if b.end_ms > end_ms then end_ms = b.end_ms end
  if kind == 'english' then
    high, leader = b.amount, b.buyer
  else -- in sequence order, so a revised bid ends as the buyer's last
    redis.call('HSET', KEYS[4], b.buyer, string.format('%d|%s|%d|%d', b.amount, b.bid, b.at_ms, b.seq))
  end
  redis.call('HSET', KEYS[2], b.bid, string.format('%d|%d|%d|%d|%d', b.seq, b.amount, b.end_ms, b.bids, b.at_ms))
  redis.call('RPUSH', KEYS[3], string.format('%d|%s|%s|%d|%d', b.seq, b.bid, b.buyer, b.amount, b.at_ms))
end
local nbids = #s.bids
if kind ~= 'english' then nbids = redis.call('HLEN', KEYS[4]) end
redis.call('HSET', KEYS[1], 'seq', seq, 'bids', nbids, 'high', string.format('%d', high), 'high_bidder', leader,
  'end_ms', string.format('%d', end_ms), 'status', 'open', 'test_clock_ms', 0)
redis.call('ZADD', KEYS[8], end_ms, ARGV[1])
return {'restored', tostring(#s.bids)}
