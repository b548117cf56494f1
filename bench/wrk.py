"""HTTP load from `wrk` (Debian's package): a C client that is not the bottleneck.

A Lua script posts the given GraphQL bodies in turn with the bearer token (or, for streamed
replies, each thread its own stream's chunks), counts responses that carry GraphQL `errors`
(HTTP 200 all the same), and prints one JSON line.
The client's own CPU comes from wait4's rusage, to tell when wrk itself saturated.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.procs import CpuWindow

SATURATED = 0.85  # of one core per wrk thread (of every core, with more threads than cores)

_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("index", #threads)
end
function init(args)
  gql_errors = 0
end
function response(status, headers, body)
  if string.find(body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
  end
end
function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do
    errors = errors + thread:get("gql_errors")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %%d, "duration_us": %%d, "gql_errors": %%d, "http_errors": %%d, ' ..
    '"socket_errors": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, errors, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
%(requests)s
"""

# Each thread posts the bodies in turn.
_CYCLE = """
local bodies = {%(bodies)s}
local next_body = 0
function request()
  next_body = next_body %% #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end
"""

# A thread per stream: thread `index` posts chunks to stream `index` alone, one at a time, as
# a worker streaming a reply does. A chunk's text is %(chunk)s of its send time, read from
# CLOCK_MONOTONIC (Python's perf_counter). With a pace, the thread sends a chunk every
# `period` seconds (the streams' first chunks spread over one period), or as soon as the
# previous one is answered when that comes later.
_STREAMS = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end
local streams = {%(bodies)s}
local period = %(period)r
local due = nil
function request()
  local around = streams[index]
  local text = string.format("%(chunk)s", now())
  return wrk.format(nil, nil, nil, around[1] .. text .. around[2])
end
if period > 0 then
  function delay()
    local t = now()
    if due == nil then
      due = t + period * index / #streams
    else
      due = math.max(due + period, t)
    end
    return math.max(0, (due - t) * 1000)
  end
end
"""


def _long_string(text: str) -> str:
    """`text` as a Lua long string."""
    if "]==]" in text:
        raise ValueError("a body may not contain the Lua long-bracket end")
    return f"[==[{text}]==]"


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    client_cores: float
    client_saturated: bool
    server_cores: float
    machine_busy: float

    def as_dict(self) -> dict[str, float | int | bool]:
        return dict(self.__dict__)


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    token: str,
    bodies: Sequence[str],
    *,
    connections: int,
    seconds: float,
    server_pids: Sequence[int],
    threads: int = 1,
) -> WrkResult:
    """`wrk` for `seconds` with `connections` open, cycling through `bodies`."""
    requests = _CYCLE % {"bodies": ",\n".join(map(_long_string, bodies))}
    return _run(
        url,
        _SCRIPT % {"token": token, "requests": requests},
        threads,
        connections,
        seconds,
        server_pids,
    )


def streams(
    url: str,
    token: str,
    bodies: Sequence[tuple[str, str]],
    chunk: str,
    *,
    seconds: float,
    server_pids: Sequence[int],
    per_second: float = 0,
) -> WrkResult:
    """`wrk` for `seconds` with a thread and connection per stream, each posting its body
    (what goes before and after the chunk's text, `chunk` % the send time) one at a time:
    as fast as answered, or `per_second` chunks a second per stream."""
    pairs = (f"{{{_long_string(before)}, {_long_string(after)}}}" for before, after in bodies)
    requests = _STREAMS % {
        "bodies": ",\n".join(pairs),
        "period": 1 / per_second if per_second else 0,
        "chunk": chunk,
    }
    script = _SCRIPT % {"token": token, "requests": requests}
    return _run(url, script, len(bodies), len(bodies), seconds, server_pids)


def _run(
    url: str,
    script: str,
    threads: int,
    connections: int,
    seconds: float,
    server_pids: Sequence[int],
) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
    ]
    command += ["--timeout", "30s", "-s", handle.name, url]
    window = CpuWindow(server_pids).start()
    started = time.perf_counter()
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        window.stop()
        output = process.stdout.read().decode() if process.stdout else ""
        errors = process.stderr.read().decode() if process.stderr else ""
        if status != 0:
            raise RuntimeError(f"wrk failed ({status}): {errors}{output}")
    finally:
        os.unlink(handle.name)
    line = next((x for x in output.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {output}{errors}")
    stats = json.loads(line[len("BENCH ") :])
    duration = stats["duration_us"] / 1e6
    client_cores = (usage.ru_utime + usage.ru_stime) / wall
    return WrkResult(
        requests=stats["requests"],
        seconds=duration,
        rate=stats["requests"] / duration,
        p50_ms=stats["p50_us"] / 1000,
        p90_ms=stats["p90_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        max_ms=stats["max_us"] / 1000,
        errors=stats["gql_errors"] + stats["http_errors"] + stats["socket_errors"],
        client_cores=client_cores,
        client_saturated=client_cores > SATURATED * min(threads, os.cpu_count() or 1),
        server_cores=window.cores,
        machine_busy=window.machine,
    )
