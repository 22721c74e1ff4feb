-- bid.lua: validate and record one bid, atomically. Validation comes first; nothing is written
-- unless every rule holds. Time is Redis TIME (a test may freeze an auction's clock: see advance.lua).
--
-- KEYS[1] meta  KEYS[2] bid replies (hash: bid id -> reply)  KEYS[3] history list
-- KEYS[4] sealed bids (hash: buyer -> amount|bid id|ms|seq)  KEYS[5] allow  KEYS[6] deny
-- KEYS[7] deposits received (set)  KEYS[8] shard deadlines  KEYS[9] shard event stream
-- ARGV[1] auction id  ARGV[2] bid id (the client's idempotency key)  ARGV[3] buyer org
-- ARGV[4] amount in fen (integer)
-- returns {"ok", reply} for a new bid, {"dup", reply} for a retry of an accepted bid, where
-- reply = "seq|amount|end_ms|bids|at_ms"; or {"err", code, detail}
local prior = redis.call('HGET', KEYS[2], ARGV[2])
if prior then
  return {'dup', prior}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'err', 'auction_not_found', ''}
end
local f = redis.call('HMGET', KEYS[1], 'status', 'kind', 'operator', 'holders', 'start_ms', 'end_ms',
  'reserve', 'increment', 'snipe_ms', 'deposit', 'band_low', 'band_high', 'floor', 'revisable',
  'bids', 'high', 'test_clock_ms', 'opening', 'cap')
local status, kind, operator, holders = f[1], f[2], f[3], f[4]
local start_ms, end_ms = tonumber(f[5]), tonumber(f[6])
local reserve, increment, snipe = tonumber(f[7]), tonumber(f[8]), tonumber(f[9])
local band_low, band_high, floor = tonumber(f[11]), tonumber(f[12]), tonumber(f[13])
local bids, high = tonumber(f[15]), tonumber(f[16])
local now = tonumber(f[17]) -- a frozen test clock, or 0: Redis TIME
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local buyer = ARGV[3]
local amount = tonumber(ARGV[4])

if status ~= 'open' then return {'err', 'auction_' .. status, ''} end
if now < start_ms then return {'err', 'auction_not_started', tostring(start_ms)} end
if now >= end_ms then return {'err', 'auction_ended', ''} end
if buyer == operator then return {'err', 'not_eligible_party', ''} end
for h in string.gmatch(holders, '[^,]+') do
  if h == buyer then return {'err', 'not_eligible_party', ''} end
end
if redis.call('SISMEMBER', KEYS[6], buyer) == 1 then return {'err', 'buyer_denied', ''} end
if redis.call('SCARD', KEYS[5]) > 0 and redis.call('SISMEMBER', KEYS[5], buyer) == 0 then
  return {'err', 'buyer_not_allowed', ''}
end
if f[10] == '1' and redis.call('SISMEMBER', KEYS[7], buyer) == 0 then return {'err', 'deposit_missing', ''} end
if not amount or amount ~= math.floor(amount) or amount <= 0 or amount > 9007199254740991 then
  return {'err', 'invalid_amount', ''}
end
local cap = tonumber(f[19]) or 0 -- the price cap in force (N4), lowered by cap.lua; 0: none
if cap > 0 and amount > cap then return {'err', 'above_cap', string.format('%d', cap)} end
if band_high > 0 and (amount < band_low or amount > band_high) then
  return {'err', 'outside_band', string.format('%d|%d', band_low, band_high)}
end
if amount < floor then return {'err', 'below_appraisal_reserve', string.format('%d', floor)} end

local sealed_prior = nil
if kind == 'english' then
  local min = tonumber(f[18]) -- the opening price (起拍价); a sale needs the reserve (保留价) at close
  if bids > 0 then min = high + increment end
  if amount < min then return {'err', 'bid_too_low', string.format('%d', min)} end
else
  if amount < reserve then return {'err', 'below_reserve', string.format('%d', reserve)} end
  sealed_prior = redis.call('HGET', KEYS[4], buyer)
  if sealed_prior and f[14] ~= '1' then return {'err', 'bid_exists', ''} end
end

-- Every rule holds: write.
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
if kind == 'english' then
  bids = redis.call('HINCRBY', KEYS[1], 'bids', 1)
  redis.call('HSET', KEYS[1], 'high', string.format('%d', amount), 'high_bidder', buyer, 'high_bid', ARGV[2])
  if end_ms - now < snipe then -- anti-sniping: a late bid moves the end to snipe ms after it
    end_ms = now + snipe
    redis.call('HSET', KEYS[1], 'end_ms', string.format('%d', end_ms))
    redis.call('ZADD', KEYS[8], end_ms, ARGV[1])
  end
else
  redis.call('HSET', KEYS[4], buyer, string.format('%d|%s|%d|%d', amount, ARGV[2], now, seq))
  bids = redis.call('HLEN', KEYS[4])
  redis.call('HSET', KEYS[1], 'bids', bids)
end
local reply = string.format('%d|%d|%d|%d|%d', seq, amount, end_ms, bids, now)
redis.call('HSET', KEYS[2], ARGV[2], reply)
redis.call('RPUSH', KEYS[3], string.format('%d|%s|%s|%d|%d', seq, ARGV[2], buyer, amount, now))
redis.call('XADD', KEYS[9], '*', 'type', 'bid', 'auction', ARGV[1], 'bid', ARGV[2],
  'buyer', buyer, 'amount', string.format('%d', amount), 'at_ms', string.format('%d', now), 'seq', seq,
  'end_ms', string.format('%d', end_ms), 'bids', bids)
return {'ok', reply}
