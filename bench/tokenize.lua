-- wrk script: POST /v1/cards with a new Luhn-valid Visa number on every request.
-- Numbers are unique per thread and run (thread id, counter, random salt), so each is a new card.
local secret = os.getenv("CARDVAULT_BENCH_SECRET")
-- Several wrk processes at once (INSTANCES=2) each get their own stream of numbers.
local stream = tonumber(os.getenv("CARDVAULT_BENCH_STREAM") or "0")
local counter = 0
local salt = 0

local threads_seen = 0

function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("tid", threads_seen)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919 + stream * 104729)
  tid = (tid or 0) + stream * 5
  salt = math.random(0, 99999)
end

local function luhn(prefix)
  local sum = 0
  local double = true
  for i = #prefix, 1, -1 do
    local d = tonumber(prefix:sub(i, i))
    if double then d = d * 2; if d > 9 then d = d - 9 end end
    sum = sum + d
    double = not double
  end
  return prefix .. tostring((10 - sum % 10) % 10)
end

request = function()
  counter = counter + 1
  local prefix = string.format("4%01d%05d%08d", tid % 10, salt, counter)
  local body = '{"number":"' .. luhn(prefix) .. '","exp_month":"12","exp_year":"2031"}'
  return wrk.format("POST", "/v1/cards", {
    ["Authorization"] = "Bearer " .. secret,
    ["Content-Type"] = "application/json",
  }, body)
end
