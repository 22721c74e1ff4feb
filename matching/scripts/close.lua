-- close.lua: decide an auction's outcome, exactly once. Any number of closers may call it for the
-- same auction; the first call after the deadline closes it, every other call (earlier, later or
-- concurrent) gets "not_due" or the outcome already decided.
--
-- KEYS[1] meta  KEYS[2] sealed bids  KEYS[3] deposits received  KEYS[4] deposit outcomes
-- (hash: buyer -> apply|release)  KEYS[5] shard deadlines  KEYS[6] shard event stream
-- ARGV[1] auction id  ARGV[2] mode: "due" (close if the deadline passed) or "stop" (stop now,
-- no winner: a certificate or authorisation stopped holding)  ARGV[3] reason (for "stop")
-- returns {"closed"|"already", outcome, winner, price fen, closed_ms} or {"not_due", end_ms}
-- or {"err", code}; outcome is won, no_sale or stopped. A price above the cap in force (lowered
-- under the running auction: cap.lua) never clears: the auction is stopped, reason cap_lowered.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'err', 'auction_not_found'}
end
local f = redis.call('HMGET', KEYS[1], 'status', 'kind', 'end_ms', 'reserve', 'bids', 'high', 'high_bidder',
  'outcome', 'winner', 'price', 'closed_ms', 'test_clock_ms', 'cap')
if f[1] ~= 'open' then
  return {'already', f[8], f[9], f[10], f[11]}
end
local now = tonumber(f[12]) -- a frozen test clock, or 0: Redis TIME
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if ARGV[2] ~= 'stop' and now < tonumber(f[3]) then
  return {'not_due', f[3]}
end

local kind, reserve = f[2], tonumber(f[4])
local outcome, winner, price = 'no_sale', '', 0
local revealed = {}
if ARGV[2] == 'stop' then
  outcome = 'stopped'
elseif kind == 'english' then
  if tonumber(f[5]) > 0 and tonumber(f[6]) >= reserve then
    outcome, winner, price = 'won', f[7], tonumber(f[6])
  end
else
  -- Sealed: highest amount wins; ties go to the earlier bid (then the lower sequence number).
  local raw = redis.call('HGETALL', KEYS[2])
  for i = 1, #raw, 2 do
    local amount, bid, at, seq = string.match(raw[i + 1], '^(%d+)|([^|]*)|(%d+)|(%d+)$')
    table.insert(revealed, {buyer = raw[i], amount = tonumber(amount), bid = bid, at_ms = tonumber(at), seq = tonumber(seq)})
  end
  table.sort(revealed, function(a, b)
    if a.amount ~= b.amount then return a.amount > b.amount end
    if a.at_ms ~= b.at_ms then return a.at_ms < b.at_ms end
    return a.seq < b.seq
  end)
  if #revealed > 0 then
    outcome, winner, price = 'won', revealed[1].buyer, revealed[1].amount
    if kind == 'sealed_second' then -- Vickrey: the winner pays the second-highest bid, or the reserve
      price = reserve
      if #revealed > 1 and revealed[2].amount > reserve then price = revealed[2].amount end
    end
  end
end

local reason = ARGV[3]
local cap = tonumber(f[13]) or 0
if outcome == 'won' and cap > 0 and price > cap then
  outcome, winner, price, reason = 'stopped', '', 0, 'cap_lowered'
end

-- Deposits: the winner's is applied to the price, every other one is released.
for _, buyer in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if buyer == winner then
    redis.call('HSET', KEYS[4], buyer, 'apply')
  else
    redis.call('HSET', KEYS[4], buyer, 'release')
  end
end
local status = 'closed'
if outcome == 'stopped' then status = 'stopped' end
redis.call('HSET', KEYS[1], 'status', status, 'outcome', outcome, 'winner', winner,
  'price', string.format('%d', price), 'closed_ms', string.format('%d', now), 'reason', reason)
redis.call('ZREM', KEYS[5], ARGV[1])
local reveal = '[]'
if #revealed > 0 then reveal = cjson.encode(revealed) end
redis.call('XADD', KEYS[6], '*', 'type', 'close', 'auction', ARGV[1], 'outcome', outcome,
  'winner', winner, 'price', string.format('%d', price), 'at_ms', string.format('%d', now), 'reason', reason,
  'revealed', reveal)
return {'closed', outcome, winner, string.format('%d', price), string.format('%d', now)}
