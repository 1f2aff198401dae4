-- wrk: GET /v1/conversations/{business}/{customer} with the bearer token, over the conversations the
-- webhook script delivers to (chosen at random).
--
--   wrk -t1 -c16 -d60s --latency -s scripts/wrk/conversation.lua http://127.0.0.1:8080 -- API_TOKEN_FILE PAIRS_FILE
local pairs_, headers

local function read_file(path)
  local file = assert(io.open(path, "rb"), "cannot open " .. path)
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  local token = read_file(assert(args[1], "usage: -- API_TOKEN_FILE PAIRS_FILE")):gsub("%s+$", "")
  headers = { ["Authorization"] = "Bearer " .. token }
  pairs_ = {}
  for business, customer in read_file(assert(args[2], "PAIRS_FILE missing")):gmatch("(%S+)%s+(%S+)") do
    table.insert(pairs_, "/v1/conversations/" .. business .. "/" .. customer .. "?at=1767657600000")
  end
  assert(#pairs_ > 0, "no pairs in " .. args[2])
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", pairs_[math.random(#pairs_)], headers)
end

function done(summary, latency, requests)
  io.write(string.format("conversation: %d requests in %.1fs, %.0f/s, p50 %.2f ms, p99 %.2f ms, errors %d (non-2xx %d)\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
