-- wrk script of the benchmark harness (bench/load.py).
--   wrk ... URL -- METHOD [EVENTS_PREFIX]
-- With EVENTS_PREFIX, thread N reads EVENTS_PREFIX.N: one request a line, "signature<TAB>body", each
-- sent once (so every webhook event id is unique); without it, every request is the same.
-- done() prints one line "BENCH_JSON {...}" with the counts and latency percentiles (microseconds).

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

non2xx = 0
wrapped = 0
local sigs, bodies, n, i = {}, {}, 0, 0
local fixed = nil
local method = "GET"

function init(args)
  method = args[1] or "GET"
  local prefix = args[2]
  if prefix ~= nil and prefix ~= "" then
    for line in io.lines(prefix .. "." .. tid) do
      local tab = line:find("\t", 1, true)
      n = n + 1
      sigs[n] = line:sub(1, tab - 1)
      bodies[n] = line:sub(tab + 1)
    end
  else
    fixed = wrk.format(method)
  end
end

function request()
  if fixed ~= nil then
    return fixed
  end
  i = i + 1
  if i > n then
    i = 1
    wrapped = wrapped + 1
  end
  local headers = {}
  for key, value in pairs(wrk.headers) do
    headers[key] = value
  end
  headers["Content-Type"] = "application/json"
  headers["Stripe-Signature"] = sigs[i]
  return wrk.format(method, nil, headers, bodies[i])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad, wraps = 0, 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    wraps = wraps + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "non2xx": %d, "wrapped": %d, "err_connect": %d, "err_read": %d, ' ..
    '"err_write": %d, "err_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, bad, wraps, e.connect, e.read, e.write, e.timeout))
end
