-- open.lua: create an auction's hot state, once.
--
-- KEYS[1] meta hash       KEYS[2] allow set     KEYS[3] deny set
-- KEYS[4] shard deadlines (sorted set: auction id by end, ms)   KEYS[5] shard event stream
-- ARGV[1] auction id  ARGV[2] product id  ARGV[3] kind (english|sealed_first|sealed_second)
-- ARGV[4] operator org  ARGV[5] holder orgs, comma-separated  ARGV[6] start ms  ARGV[7] end ms
-- ARGV[8] reserve fen  ARGV[9] increment fen  ARGV[10] anti-snipe ms  ARGV[11] deposit required 0|1
-- ARGV[12] band low fen (0: none)  ARGV[13] band high fen (0: none)  ARGV[14] appraisal floor fen
-- ARGV[15] sealed bids revisable 0|1  ARGV[16] allow list, comma-separated  ARGV[17] deny list
-- ARGV[18] opening price fen (English: the first bid's minimum; the reserve decides a sale)
-- ARGV[19] price cap fen (上限收费标准, N4; 0: none): no bid above it, no clearing above it
-- returns {"opened"} or {"exists"} (a retry, or a second opener: nothing changes)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'product', ARGV[2], 'kind', ARGV[3], 'operator', ARGV[4],
  'holders', ARGV[5], 'start_ms', ARGV[6], 'end_ms', ARGV[7], 'reserve', ARGV[8], 'increment', ARGV[9],
  'snipe_ms', ARGV[10], 'deposit', ARGV[11], 'band_low', ARGV[12], 'band_high', ARGV[13], 'floor', ARGV[14],
  'revisable', ARGV[15], 'opening', ARGV[18], 'cap', ARGV[19] or '0', 'status', 'open', 'bids', 0, 'seq', 0, 'high', 0, 'high_bidder', '', 'test_clock_ms', 0)
for org in string.gmatch(ARGV[16], '[^,]+') do redis.call('SADD', KEYS[2], org) end
for org in string.gmatch(ARGV[17], '[^,]+') do redis.call('SADD', KEYS[3], org) end
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[1])
redis.call('XADD', KEYS[5], '*', 'type', 'open', 'auction', ARGV[1], 'product', ARGV[2],
  'kind', ARGV[3], 'start_ms', ARGV[6], 'end_ms', ARGV[7])
return {'opened'}
