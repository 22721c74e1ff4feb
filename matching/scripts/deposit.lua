-- deposit.lua: record that a buyer's deposit (保证金) for an auction was received.
--
-- KEYS[1] meta  KEYS[2] deposits received  KEYS[3] shard event stream
-- ARGV[1] auction id  ARGV[2] buyer org  ARGV[3] reference (the clerk's payment record)
-- returns {"recorded"} or {"exists"} (a retry), or {"err", code}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'err', 'auction_not_found'} end
if redis.call('HGET', KEYS[1], 'status') ~= 'open' then return {'err', 'auction_closed'} end
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return {'exists'} end
redis.call('XADD', KEYS[3], '*', 'type', 'deposit', 'auction', ARGV[1], 'buyer', ARGV[2], 'ref', ARGV[3])
return {'recorded'}
