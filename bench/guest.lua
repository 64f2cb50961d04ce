-- wrk script for bench/run.mjs: every request carries the warm guest session token (static
-- headers only, so wrk stays on its fast path), and `done` prints one machine-readable line.
local token = os.getenv("GUEST_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["X-Guest-Session"] = token
end
-- The signed-in target sends a platform access token instead.
local bearer = os.getenv("BEARER_TOKEN")
if bearer ~= nil and bearer ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. bearer
end
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"connect_errors\":%d," ..
    "\"read_errors\":%d,\"write_errors\":%d,\"status_errors\":%d,\"timeouts\":%d," ..
    "\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"max_us\":%d,\"mean_us\":%.2f}\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
