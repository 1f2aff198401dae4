-- wrk: POST /webhook, one signed delivery per request (an inbound text message in the WhatsApp Cloud
-- API's shape), each with its own message id, so that none is a duplicate.
--
--   LUA_PATH="scripts/wrk/?.lua;;" wrk -t2 -c64 -d60s --latency -s scripts/wrk/webhook.lua \
--       http://127.0.0.1:8080 -- APP_SECRET_FILE PAIRS_FILE [RUN]
--
-- PAIRS_FILE: "business customer" per line: the conversations deliveries go to, in turn.
-- RUN: a number making this run's ids differ from an earlier run's against the same store.
local hmac = require("hmac_sha256")

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  table.insert(threads, thread)
end

local sign, pairs_, next_message, id_base, clock
local template = '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":'
  .. '{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"%s"},'
  .. '"contacts":[{"profile":{"name":"Load Test"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"wamid.%d",'
  .. '"timestamp":"%d","type":"text","text":{"body":"Hello, is my order on its way? Order %d, placed yesterday."}}]},'
  .. '"field":"messages"}]}]}'

local function read_file(path)
  local file = assert(io.open(path, "rb"), "cannot open " .. path)
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  local secret = read_file(assert(args[1], "usage: -- APP_SECRET_FILE PAIRS_FILE [RUN]")):gsub("%s+$", "")
  sign = hmac.new(secret)
  pairs_ = {}
  for business, customer in read_file(assert(args[2], "PAIRS_FILE missing")):gmatch("(%S+)%s+(%S+)") do
    table.insert(pairs_, { business, customer })
  end
  assert(#pairs_ > 0, "no pairs in " .. args[2])
  local run = tonumber(args[3] or "0")
  -- Ids are numbers below 2^32 (the SQLite server keeps them as such): run * 2^26 + thread * 2^22 + n.
  id_base = run * 67108864 + thread_number * 4194304
  next_message = 0
  -- Seconds inside the load harness's workload window (2026-01-05 to 2026-01-08), increasing.
  clock = 1767571200 + thread_number * 1000
end

function request()
  next_message = next_message + 1
  local pair = pairs_[(id_base + next_message) % #pairs_ + 1]
  local body = string.format(template, pair[1], pair[2], pair[2], id_base + next_message, clock + next_message, next_message)
  return wrk.format("POST", "/webhook", {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = "sha256=" .. sign(body),
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("webhook: %d requests in %.1fs, %.0f/s, p50 %.2f ms, p99 %.2f ms, errors %d (non-2xx %d)\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
