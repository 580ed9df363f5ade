-- wrk script of `npm run bench`: sends pre-generated, signed, unique requests.
-- Script arguments (after `--`): <file prefix> <requests per second per thread, 0 = as fast as possible>
-- <responses per thread after which the thread stops, 0 = run for the duration>.
-- Thread i reads <prefix>.<i>: records of `<length>\n<header lines, blank line, body>`
-- written by bench/wrk-requests.ts, and cycles through them (TS checks `wrapped`).
-- done() prints one line `WRK_REPORT {json}` that bench/wrk-report.ts parses.

local threads = {}

function setup(thread)
  thread:set("bench_thread", #threads)
  table.insert(threads, thread)
end

local requests = {}
local count = 0
local index = 0
wrapped = 0
responses = 0

function init(args)
  local head = "POST " .. wrk.path .. " HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. tostring(wrk.port) .. "\r\n"
  local file = assert(io.open(args[1] .. "." .. bench_thread, "rb"))
  while true do
    local length = file:read("*l")
    if length == nil or length == "" then break end
    count = count + 1
    requests[count] = head .. file:read(tonumber(length))
  end
  file:close()
  assert(count > 0, "no requests in " .. args[1] .. "." .. bench_thread)

  local rate = tonumber(args[2] or "0")
  if rate > 0 then
    -- Open-loop pacing: every request of this thread has a slot on a fixed
    -- schedule (a monotonic clock through LuaJIT's FFI); a connection that
    -- comes back late sends at once, so a stall is followed by its backlog.
    local ffi = require("ffi")
    ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clock_id, bench_timespec *tp);
    ]]
    local now = ffi.new("bench_timespec")
    local function nowMs ()
      ffi.C.clock_gettime(1, now)
      return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
    end
    local interval = 1000 / rate
    local nextSlot = nil
    delay = function ()
      local t = nowMs()
      if nextSlot == nil then nextSlot = t end
      local slot = nextSlot
      nextSlot = nextSlot + interval
      if slot <= t then return 0 end
      return math.floor(slot - t + 0.5)
    end
  end

  local stopAfter = tonumber(args[3] or "0")
  if stopAfter > 0 then
    -- Defining response() makes wrk parse every response: only for the phases that need a count.
    response = function ()
      responses = responses + 1
      if responses >= stopAfter then wrk.thread:stop() end
    end
  end
end

function request()
  index = index + 1
  if index > count then
    index = 1
    wrapped = wrapped + 1
  end
  return requests[index]
end

function done(summary, latency)
  local cycles = 0
  for _, thread in ipairs(threads) do
    cycles = cycles + (thread:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_REPORT {"durationUs":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"wrapped":%d}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, cycles))
end
