-- wrk script: a P2P restriction check sent straight to the Horizonpay simulator (Basic auth,
-- card numbers in the body), the baseline of scripts/bench-horizonpay.sh.
local auth = os.getenv("HP_BASIC")
local body = '{"request":{"amount":100,"currency":"KZT","credit_card":{"number":"4012001037141112","exp_month":"01","exp_year":"2030"},"recipient_card":{"number":"4200000000000000","exp_month":"02","exp_year":"2031"},"test":true}}'
request = function()
  return wrk.format("POST", "/p2p-restrictions", { ["Authorization"] = auth, ["Content-Type"] = "application/json" }, body)
end
