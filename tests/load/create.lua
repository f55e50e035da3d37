-- wrk script: POST /v1/payments with a unique Idempotency-Key, reference and buyer per
-- request (a DANA order in Indonesia, 150,000 rupiah).
--   wrk -t2 -c32 -d15s -s tests/load/create.lua http://127.0.0.1:3000 -- <merchant key>
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  key = args[1]
  run = tostring(os.time())
  n = 0
end

function request()
  n = n + 1
  local ref = string.format("load-%s-%d-%d", run, tid, n)
  local phone = string.format("+628%09d", (tid * 50000000 + n) % 1000000000)
  local body = string.format(
    '{"merchant_reference":"%s","amount":15000000,"currency":"IDR","country":"ID",' ..
    '"wallet":"dana","customer":{"id":"cus-%s","phone":"%s"},' ..
    '"return_url":"https://shop.example/thanks"}', ref, ref, phone)
  return wrk.format("POST", "/v1/payments", {
    ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = ref,
    ["Content-Type"] = "application/json",
  }, body)
end
