-- wrk script for bench/run.py: POSTs JSON, counts statuses, prints one machine-readable line.
--
--   wrk -t1 -c32 -d9s -s bench/wrk_post.lua http://127.0.0.1:PORT -- MODE KEY RUN SENDERS
--
-- MODE hello:  POST /bench/hello with a fixed ingest-sized JSON body.
-- MODE ingest: POST /api/channels/api/messages, Authorization: Bearer KEY, a provider_message_id
--              unique per request ("w-RUN-THREAD-COUNTER"), senders +1650555 0000.. spread
--              round-robin over SENDERS numbers (bench/run.py checks they are valid).
-- MODE webchat: POST /api/webchat/messages as web-chat visitors: KEY is a file of visitor tokens,
--              one a line; each request is one visitor's (round-robin, Authorization: Bearer
--              <token>) with a widget id unique per request ("e-RUN-THREAD-COUNTER").

threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "hello"
  key = args[2] or ""
  run = args[3] or "0"
  senders = tonumber(args[4] or "1000")
  counter = 0
  n2xx = 0
  non2xx = 0
  n201 = 0
  n200 = 0
  if mode == "hello" then
    hello_req = wrk.format("POST", "/bench/hello", { ["Content-Type"] = "application/json" },
      '{"provider_message_id":"w-hello-0-0","from":{"kind":"phone","address":"+16505550000"},'
      .. '"text":"Hello, I need to move my appointment on Thursday, please (0)"}')
  elseif mode == "webchat" then
    tokens = {}
    for line in io.lines(key) do
      if #line > 0 then table.insert(tokens, "Bearer " .. line) end
    end
    chat_headers = { ["Content-Type"] = "application/json", ["Authorization"] = "" }
  else
    ingest_headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
  end
end

function request()
  if mode == "hello" then
    return hello_req
  end
  counter = counter + 1
  if mode == "webchat" then
    chat_headers["Authorization"] = tokens[(counter + tid * 37) % #tokens + 1]
    return wrk.format("POST", "/api/webchat/messages", chat_headers, string.format(
      '{"id":"e-%s-%d-%d","text":"Hello, I need to move my appointment on Thursday, please (%d)"}',
      run, tid, counter, counter))
  end
  local body = string.format(
    '{"provider_message_id":"w-%s-%d-%d","from":{"kind":"phone","address":"+1650555%04d"},'
    .. '"text":"Hello, I need to move my appointment on Thursday, please (%d)"}',
    run, tid, counter, (counter + tid * 37) % senders, counter)
  return wrk.format("POST", "/api/channels/api/messages", ingest_headers, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    n2xx = n2xx + 1
    if status == 201 then n201 = n201 + 1 elseif status == 200 then n200 = n200 + 1 end
  else
    non2xx = non2xx + 1
    if non2xx <= 3 then
      io.stderr:write(string.format("wrk: HTTP %d: %s\n", status, string.sub(body or "", 1, 300)))
    end
  end
end

function done(summary, latency, requests)
  local a2xx, anon, a201, a200 = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a2xx = a2xx + (t:get("n2xx") or 0)
    anon = anon + (t:get("non2xx") or 0)
    a201 = a201 + (t:get("n201") or 0)
    a200 = a200 + (t:get("n200") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"n2xx":%d,"non2xx":%d,"n201":%d,"n200":%d,'
    .. '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,'
    .. '"lat_p50_us":%d,"lat_p99_us":%d,"lat_max_us":%d,"lat_mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, a2xx, anon, a201, a200,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
