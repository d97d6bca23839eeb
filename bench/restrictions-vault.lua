-- wrk script: the same restriction check through cardvault, with vault tokens in place of cards.
local secret = os.getenv("CARDVAULT_BENCH_SECRET")
local body = '{"request":{"amount":100,"currency":"KZT","credit_card":{"token":"' .. os.getenv("HP_FROM") .. '"},"recipient_card":{"token":"' .. os.getenv("HP_TO") .. '"},"test":true}}'
request = function()
  return wrk.format("POST", "/v1/horizonpay/p2p-restrictions", { ["Authorization"] = "Bearer " .. secret, ["Content-Type"] = "application/json" }, body)
end
