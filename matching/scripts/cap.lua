-- cap.lua: lower a running auction's price cap (上限收费标准, N4) when a lower cap takes effect.
-- From this call on, bid.lua refuses a bid above the new cap (above_cap) and close.lua never clears
-- above it. A cap is only ever lowered here: a raised cap applies to the next auction.
--
-- KEYS[1] meta  KEYS[2] sealed bids
-- ARGV[1] auction id  ARGV[2] the new cap in fen (> 0)
-- returns {"lowered"|"unchanged", cap fen, over} where over is 1 when the leading bid (English:
-- the high bid; sealed: any bid) is above the cap, so that the caller stops the auction; or
-- {"not_open", status} or {"err", "auction_not_found"}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'err', 'auction_not_found'} end
local f = redis.call('HMGET', KEYS[1], 'status', 'kind', 'cap', 'bids', 'high')
if f[1] ~= 'open' then return {'not_open', f[1]} end
local new, cap = tonumber(ARGV[2]), tonumber(f[3]) or 0
local result = 'unchanged'
if cap == 0 or new < cap then
  cap, result = new, 'lowered'
  redis.call('HSET', KEYS[1], 'cap', string.format('%d', cap))
end
local over = 0
if f[2] == 'english' then
  if tonumber(f[4]) > 0 and tonumber(f[5]) > cap then over = 1 end
else
  local raw = redis.call('HVALS', KEYS[2])
  for _, v in ipairs(raw) do
    if tonumber(string.match(v, '^(%d+)|')) > cap then over = 1 end
  end
end
return {result, string.format('%d', cap), tostring(over)}
