"""The HTTP load generator of the benchmarks: ``wrk`` (C, one thread, epoll), driven by a generated Lua script.

Python load generators (httpx + asyncio) spend ~1 ms of CPU per request; on a 2-core machine that CPU is
taken from the server they measure. wrk spends a few µs per request, so the figures are the server's.
Each run is closed-loop: ``concurrency`` connections, each with one request in flight, for ``duration``
seconds. Latency percentiles come from wrk's own histogram (µs resolution); non-2xx/3xx answers are
errors. The generator's CPU time is measured too (``rusage`` of the child), so its cost can be stated.

A request is a ``Plan``: a method, a list of paths (taken round-robin, or at random), headers and an
optional JSON body per path. Transition POSTs follow each case's version from the responses (the case
detail starts ``{"id":…`` and its first ``"version":`` is the case's), and skip a case whose last POST
is still in flight, so no request is stale (a case that answered with an error stays skipped).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "wrk is not installed (Debian/Ubuntu: apt-get install wrk)"


@dataclass
class Plan:
    """What one wrk run sends. ``paths`` are used round-robin (``shuffle``: at random, seeded)."""

    method: str = "GET"
    paths: list[str] = field(default_factory=lambda: ["/"])
    headers: dict[str, str] = field(default_factory=dict)
    shuffle: bool = False
    # A transition POST per path: {case_id: expected version}; the body's template gets the version.
    versions: dict[int, int] | None = None
    body: dict[str, object] | None = None


@dataclass
class WrkResult:
    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    p50: float = float("nan")  # milliseconds
    p95: float = float("nan")
    p99: float = float("nan")
    cpu_seconds: float = 0.0  # the generator's own CPU time
    first_error: str = ""

    @property
    def throughput(self) -> float:
        return (self.requests - self.errors) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: int) -> float:
        return {50: self.p50, 95: self.p95, 99: self.p99}[p]


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid Lua string literal here


LUA_COMMON = """
local n, i = #paths, start
first_error = nil
math.randomseed(11)
response = function(status, headers, body)
  if status >= 400 then
    if first_error == nil then first_error = status .. " " .. string.sub(body or "", 1, 300) end
  elseif versions ~= nil and body ~= nil then
    local id = tonumber(string.match(body, '^{"id":(%d+)'))
    local v = tonumber(string.match(body, '"version":(%d+)'))
    if id and v then versions[id] = v; busy[id] = nil end
  end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local e = summary.errors
  local err = ""
  for _, t in ipairs(threads) do err = t:get("first_error") or err end
  io.write(string.format("MF_RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout, e.status))
  io.write("MF_FIRST_ERROR " .. string.gsub(err, "\\n", " ") .. "\\n")
end
"""

LUA_GET = """
request = function()
  local k
  if shuffle then k = math.random(1, n) else k = i % n + 1; i = i + 1 end
  return wrk.format(method, paths[k])
end
"""

LUA_POST = """
busy = {}
request = function()
  -- the next case with no request in flight (a slow answer can be overtaken by a whole round of others)
  local k, id
  for _ = 1, n do
    k = i % n + 1
    i = i + 1
    id = ids[k]
    if not busy[id] then break end
  end
  busy[id] = true
  local body = string.format(body_template, versions[id])
  return wrk.format("POST", paths[k], nil, body)
end
"""


def script(plan: Plan, start: int = 0) -> str:
    """The Lua script for one run of ``plan`` (paths, headers and versions inlined)."""
    lines = [f"method = {_lua_string(plan.method)}", f"start = {start}", f"shuffle = {str(plan.shuffle).lower()}"]
    lines.append("paths = {" + ",".join(_lua_string(p) for p in plan.paths) + "}")
    for name, value in plan.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if plan.versions is None:
        lines.append("versions = nil")
        return "\n".join(lines) + LUA_COMMON + LUA_GET
    if plan.body is None or "expected_version" not in plan.body:
        raise ValueError("a POST plan needs a body with expected_version")
    template = json.dumps({**plan.body, "expected_version": 0}, ensure_ascii=False).replace("%", "%%")
    template = template.replace('"expected_version": 0', '"expected_version": %d')
    lines.append("ids = {" + ",".join(str(i) for i in plan.versions) + "}")
    lines.append("versions = {" + ",".join(f"[{i}]={v}" for i, v in plan.versions.items()) + "}")
    lines.append(f"body_template = {_lua_string(template)}")
    lines.append('wrk.headers["Content-Type"] = "application/json"')
    return "\n".join(lines) + LUA_COMMON + LUA_POST


def run_wrk(base_url: str, plan: Plan, *, concurrency: int, duration: float, start: int = 0) -> WrkResult:
    """One closed-loop wrk run of ``plan`` against ``base_url``."""
    binary = wrk_path()
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="mf-wrk-") as tmp:
        lua = Path(tmp) / "plan.lua"
        lua.write_text(script(plan, start), encoding="utf-8")
        seconds = max(1, round(duration))
        command = [binary, "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "30s", "-s", str(lua), base_url]
        before = os.times()
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
        after = os.times()
    if done.returncode != 0 or "MF_RESULT" not in done.stdout:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-500:]} {done.stdout[-500:]}")
    result = WrkResult(
        cpu_seconds=(after.children_user - before.children_user) + (after.children_system - before.children_system)
    )
    for line in done.stdout.splitlines():
        if line.startswith("MF_RESULT "):
            requests, micros, p50, p95, p99, errors, _status = (int(x) for x in line.split()[1:])
            result.requests, result.errors, result.elapsed = requests, errors, micros / 1e6
            result.p50, result.p95, result.p99 = p50 / 1000, p95 / 1000, p99 / 1000
        elif line.startswith("MF_FIRST_ERROR "):
            result.first_error = line.removeprefix("MF_FIRST_ERROR ").strip()
    return result
