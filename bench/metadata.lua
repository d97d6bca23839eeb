-- wrk script: GET /v1/cards/{token} over the tokens seeded in $CARDVAULT_BENCH_TOKENS.
local secret = os.getenv("CARDVAULT_BENCH_SECRET")
local tokens = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("CARDVAULT_BENCH_TOKENS")) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  i = math.random(1, #tokens)
end

request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/v1/cards/" .. tokens[i], { ["Authorization"] = "Bearer " .. secret })
end
