-- negotiate.lua: one move of a price negotiation (协议约定), atomically. The state machine, like the
-- Dataspace Protocol's contract negotiation but with counter-offers:
--
--   (none) --buyer offers--> offered --seller counters--> countered --buyer counters--> offered ...
--   offered:   the seller may counter, accept or reject; the buyer may withdraw
--   countered: the buyer may counter, accept or reject (or withdraw)
--   accepted, rejected, withdrawn, expired: final
--
-- Every offer (the first included) is checked against the price rules: the guided band where one
-- applies and the appraisal floor; amounts are integer fen. Each offer restarts the expiry clock.
--
-- KEYS[1] meta  KEYS[2] action replies (hash: action id -> reply)  KEYS[3] history list
-- KEYS[4] shard negotiation deadlines  KEYS[5] shard event stream
-- ARGV[1] negotiation id  ARGV[2] action id (idempotency)  ARGV[3] actor org
-- ARGV[4] action: offer | counter | accept | reject | withdraw  ARGV[5] amount fen (offer, counter)
-- ARGV[6..] for the opening offer only: product id, operator org, holders (comma-separated),
--           band low fen, band high fen (0: none), floor fen, offer lifetime ms,
--           allow list and deny list (comma-separated); on other moves ARGV[6..14] are empty
-- ARGV[15] the price cap in force now, fen (N4; 0: none), given on every move: no offer, counter or
--           acceptance above it. The lowest cap a negotiation has seen stays in its terms.
-- returns {"ok", reply} or {"dup", reply} with reply = "status|price|round|expires_ms|at_ms",
-- or {"err", code, detail}. An action id used before answers the first reply when the request is
-- the same (action, amount, product) and "idempotency_key_reused" when it is not.
local request = ARGV[4] .. '|' .. ARGV[5] .. '|' .. (ARGV[6] or '')
local prior = redis.call('HGET', KEYS[2], ARGV[2])
if prior then
  local was = redis.call('HGET', KEYS[2], ARGV[2] .. '#request')
  if was and was ~= request then return {'err', 'idempotency_key_reused', ''} end
  return {'dup', prior}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local actor, action = ARGV[3], ARGV[4]
local amount = tonumber(ARGV[5])

local cap = tonumber(ARGV[15] or '0') or 0
local function check_price(band_low, band_high, floor)
  if not amount or amount ~= math.floor(amount) or amount <= 0 or amount > 9007199254740991 then
    return {'err', 'invalid_amount', ''}
  end
  if cap > 0 and amount > cap then return {'err', 'above_cap', string.format('%d', cap)} end
  if band_high > 0 and (amount < band_low or amount > band_high) then
    return {'err', 'outside_band', string.format('%d|%d', band_low, band_high)}
  end
  if amount < floor then return {'err', 'below_appraisal_reserve', string.format('%d', floor)} end
  return nil
end

local status, turn, price, round, expires
if redis.call('EXISTS', KEYS[1]) == 0 then
  if action ~= 'offer' then return {'err', 'negotiation_not_found', ''} end
  local operator, holders = ARGV[7], ARGV[8]
  if actor == operator then return {'err', 'not_eligible_party', ''} end
  for h in string.gmatch(holders, '[^,]+') do
    if h == actor then return {'err', 'not_eligible_party', ''} end
  end
  local function listed(csv)
    for o in string.gmatch(csv, '[^,]+') do
      if o == actor then return true end
    end
    return false
  end
  if listed(ARGV[14]) then return {'err', 'buyer_denied', ''} end
  if ARGV[13] ~= '' and not listed(ARGV[13]) then return {'err', 'buyer_not_allowed', ''} end
  local bad = check_price(tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]))
  if bad then return bad end
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'product', ARGV[6], 'buyer', actor, 'seller', operator,
    'band_low', ARGV[9], 'band_high', ARGV[10], 'floor', ARGV[11], 'ttl_ms', ARGV[12], 'cap', string.format('%d', cap))
  status, price, round = 'offered', amount, 1
else
  local f = redis.call('HMGET', KEYS[1], 'status', 'buyer', 'seller', 'round', 'expires_ms', 'band_low', 'band_high', 'floor', 'price', 'cap')
  status, round, expires, price = f[1], tonumber(f[4]), tonumber(f[5]), tonumber(f[9])
  local held = tonumber(f[10]) or 0
  if held > 0 and (cap == 0 or held < cap) then cap = held end
  local buyer, seller = f[2], f[3]
  if status ~= 'offered' and status ~= 'countered' then return {'err', 'negotiation_' .. status, ''} end
  if now >= expires then return {'err', 'negotiation_expired', ''} end
  local is_buyer, is_seller = actor == buyer, actor == seller
  if not is_buyer and not is_seller then return {'err', 'not_a_party', ''} end
  -- Whose move it is: after the buyer's offer the seller's, after the seller's counter the buyer's.
  local my_turn = (status == 'offered' and is_seller) or (status == 'countered' and is_buyer)
  if action == 'withdraw' then
    if not is_buyer then return {'err', 'not_your_move', ''} end
    status = 'withdrawn'
  elseif not my_turn then
    return {'err', 'not_your_move', ''}
  elseif action == 'accept' then
    if cap > 0 and price > cap then return {'err', 'above_cap', string.format('%d', cap)} end
    status = 'accepted'
  elseif action == 'reject' then
    status = 'rejected'
  elseif action == 'counter' or action == 'offer' then
    local bad = check_price(tonumber(f[6]), tonumber(f[7]), tonumber(f[8]))
    if bad then return bad end
    price, round = amount, round + 1
    if is_seller then status = 'countered' else status = 'offered' end
  else
    return {'err', 'invalid_action', ''}
  end
end

local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl_ms'))
expires = now + ttl
local final = status == 'accepted' or status == 'rejected' or status == 'withdrawn'
redis.call('HSET', KEYS[1], 'cap', string.format('%d', cap), 'status', status, 'price', string.format('%d', price), 'round', round,
  'expires_ms', string.format('%d', expires), 'last_by', actor, 'updated_ms', string.format('%d', now))
if final then
  redis.call('ZREM', KEYS[4], ARGV[1])
else
  redis.call('ZADD', KEYS[4], expires, ARGV[1])
end
local reply = string.format('%s|%d|%d|%d|%d', status, price, round, expires, now)
redis.call('HSET', KEYS[2], ARGV[2], reply, ARGV[2] .. '#request', request)
redis.call('RPUSH', KEYS[3], string.format('%d|%s|%s|%d|%d', round, actor, action, price, now))
local parties = redis.call('HMGET', KEYS[1], 'product', 'buyer', 'seller')
redis.call('XADD', KEYS[5], '*', 'type', 'negotiation', 'negotiation', ARGV[1],
  'action', action, 'actor', actor, 'status', status, 'price', string.format('%d', price), 'round', round,
  'at_ms', string.format('%d', now), 'product', parties[1], 'buyer', parties[2], 'seller', parties[3])
return {'ok', reply}
