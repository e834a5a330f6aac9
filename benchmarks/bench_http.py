"""HTTP latency and throughput of the real server on a 100,000-case database, next to a bare endpoint.

The database (SQLite, the server's default ``synchronous=FULL``) is bulk-built by ``dataset.build``;
``mediation-flow serve`` (uvicorn, ``web.app:create_app``) runs it with 2 workers on loopback; ``wrk``
(benchmarks/wrk.py) drives each endpoint closed-loop at 1, 8 and 32 concurrent clients. Where wrk is
not installed the in-process httpx generator (benchmarks/loadgen.py) stands in, and the table says so:
it takes ~1 ms of CPU per request from the same 2 cores, so its figures are far below the server's.
The server's own CPU per request (its processes' utime + stime) is measured too: immune to other load.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import httpx
from server_harness import Server
from sqlalchemy import select

from benchmarks.common import Table, prepared_database
from benchmarks.dataset import build
from benchmarks.loadgen import Request, api_token, page_session, record_sessions, run_load
from benchmarks.wrk import INSTALL_HINT, Plan, run_wrk, wrk_path
from mediation_flow.stats.dashboard import count_kept_figures
from mediation_flow.store import clock
from mediation_flow.store.db import make_engine
from mediation_flow.store.models import Case

CONCURRENCY = tuple(int(c) for c in os.environ.get("MF_BENCH_HTTP_CLIENTS", "1,8,32").split(","))
TARGET_P95_MS = 50.0
TARGET_POST_SHARE = 0.25  # issue 15: transition POST throughput ≥ 25% of the bare endpoint's
BARE = "GET /healthz (bare)"
POST = "POST /api/v1/cases/{id}/transitions"
DASHBOARD = "GET /dashboard (HTML)"
POST_SETTLE = 2.0  # seconds
# The case with full ID numbers and phones (查看完整信息): its access-log row is committed before the answer.
FULL_VIEW = "GET /api/v1/cases/{id}?identity=full"
SESSION_BODY = {"session_date": "", "content": "背靠背调解，双方各让一步"}


class Result(Protocol):
    errors: int
    first_error: str

    @property
    def throughput(self) -> float: ...

    def percentile(self, p: int) -> float: ...


def _requests(n_cases: int, mediating: list[int], village: str) -> dict[str, tuple[Request, str]]:
    """Endpoint label -> (httpx request maker, whose credentials: 'api', 'page' or '')."""
    rng = random.Random(11)
    case_ids = range(1, n_cases + 1)

    async def healthz(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get("/healthz")

    async def case(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get(f"/api/v1/cases/{rng.choice(case_ids)}")

    async def case_full(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get(f"/api/v1/cases/{rng.choice(case_ids)}", params={"identity": "full"})

    async def case_list(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        params = {"village": village, "state": "mediating", "category": rng.choice(["neighbourhood", "contract"])}
        return await client.get("/api/v1/cases", params=params)

    async def overdue(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get("/api/v1/queues/overdue")

    async def case_page(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get(f"/cases/{rng.choice(case_ids)}")

    async def queue_page(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get("/queue")

    async def dashboard_page(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get("/dashboard")

    return {
        BARE: (healthz, ""),
        "GET /api/v1/cases/{id}": (case, "api"),
        FULL_VIEW: (case_full, "api"),
        "GET /api/v1/cases?village&state&category": (case_list, "api"),
        "GET /api/v1/queues/overdue": (overdue, "api"),
        POST: (record_sessions(mediating, version=4), "api_mediator"),
        "GET /cases/{id} (HTML)": (case_page, "page"),
        "GET /queue (HTML)": (queue_page, "page"),
        DASHBOARD: (dashboard_page, "page"),
    }


def _plans(n_cases: int, village: str) -> dict[str, Plan]:
    """The same requests as wrk plans (headers are added per credential; the POST's versions per run)."""
    random_ids = random.Random(11).sample(range(1, n_cases + 1), min(n_cases, 5_000))
    lists = [f"/api/v1/cases?village={village}&state=mediating&category={c}" for c in ("neighbourhood", "contract")]
    return {
        BARE: Plan(paths=["/healthz"]),
        "GET /api/v1/cases/{id}": Plan(paths=[f"/api/v1/cases/{i}" for i in random_ids]),
        FULL_VIEW: Plan(paths=[f"/api/v1/cases/{i}?identity=full" for i in random_ids]),
        "GET /api/v1/cases?village&state&category": Plan(paths=lists, shuffle=True),
        "GET /api/v1/queues/overdue": Plan(paths=["/api/v1/queues/overdue"]),
        POST: Plan(method="POST", body={"trigger": "record_session", "expected_version": 0, "data": SESSION_BODY}),
        "GET /cases/{id} (HTML)": Plan(paths=[f"/cases/{i}" for i in random_ids]),
        "GET /queue (HTML)": Plan(paths=["/queue"]),
        DASHBOARD: Plan(paths=["/dashboard"]),
    }


def _versions(url: str, ids: list[int]) -> dict[int, int]:
    """The cases' current versions (the POSTs of an earlier run moved them on)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            table = Case.__table__
            found = dict(conn.execute(select(table.c.id, table.c.version).where(table.c.id.in_(ids))).all())
    finally:
        engine.dispose()
    return {i: found[i] for i in ids if i in found}


def _group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each process of the server's process group, by pid."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp
            used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def _busiest_share(before: dict[int, float], after: dict[int, float]) -> float:
    """The busiest process's share of the server's CPU over a cell. The workers share one listening socket and
    the first to wake accepts every connection waiting, so wrk's connections (opened at once, kept for the
    cell) can all land on one worker: one GIL then serves all of them, and the cell's tail says so."""
    spent = [after[pid] - before.get(pid, 0.0) for pid in after]
    total = sum(spent)
    return max(spent) / total if total > 0 else 0.0


def _server_errors(log: Path, limit: int = 3) -> list[str]:
    """The server's own error lines (JSON log, level error), so a 5xx in the table says why."""
    found = [line[:400] for line in log.read_text("utf-8", errors="replace").splitlines() if '"level": "error"' in line]
    return [f"server log: {line}" for line in found[:limit]]


def _cell(result: Result, server_cpu_ms: float, busiest: float) -> list[str]:
    return [
        f"{result.percentile(50):.1f}",
        f"{result.percentile(95):.1f}",
        f"{result.percentile(99):.1f}",
        f"{result.throughput:,.0f}",
        f"{server_cpu_ms:.2f}",
        f"{busiest:.0%}",
        str(result.errors),
    ]


class _Driver:
    """Runs one cell with wrk (or, without it, the httpx generator) and notes the server's CPU per request."""

    def __init__(self, server: Server, url: str, n_cases: int, mediating: list[int], village: str) -> None:
        self.server, self.url, self.mediating = server, url, mediating
        self.use_wrk = wrk_path() is not None
        self.requests = _requests(n_cases, mediating, village)
        self.plans = _plans(n_cases, village)
        self.post_start = 0
        base = server.base_url
        self.credentials: dict[str, Callable[[], dict[str, Any]]] = {
            "": dict,
            "api": lambda: {"headers": api_token(base, "supervisor")},
            "api_mediator": lambda: {"headers": api_token(base, "mediator")},
            "page": lambda: {"cookies": page_session(base, "supervisor")},
        }
        self.cache: dict[str, dict[str, Any]] = {}

    def _credential(self, who: str) -> dict[str, Any]:
        if who not in self.cache:
            self.cache[who] = self.credentials[who]()
        return self.cache[who]

    def run(
        self, label: str, clients: int, duration: float, *, wrk: bool | None = None
    ) -> tuple[Result, float, float, float]:
        """(result, server CPU ms per request, generator CPU µs per request, the busiest process's CPU share)."""
        request, who = self.requests[label]
        credential = self._credential(who)
        assert self.server.proc is not None
        cpu_before = _group_cpu(self.server.proc.pid)
        result: Result
        if self.use_wrk if wrk is None else wrk:
            plan = self._plan(label, credential)
            start = self.post_start if plan.versions is not None else 0
            measured = run_wrk(self.server.base_url, plan, concurrency=clients, duration=duration, start=start)
            if plan.versions is not None:
                self.post_start = (self.post_start + measured.requests + 1) % max(1, len(plan.versions))
            result, generator = measured, measured.cpu_seconds
        else:
            began = time.process_time()
            result = run_load(self.server.base_url, request, concurrency=clients, duration=duration, **credential)
            generator = time.process_time() - began
        cpu_after = _group_cpu(self.server.proc.pid)
        served = sum(cpu_after.values()) - sum(cpu_before.values())
        count = max(1, _count(result))
        return result, served * 1000 / count, generator * 1e6 / count, _busiest_share(cpu_before, cpu_after)

    def _plan(self, label: str, credential: dict[str, Any]) -> Plan:
        plan = self.plans[label]
        headers = dict(credential.get("headers", {}))
        cookies = credential.get("cookies")
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        plan = Plan(plan.method, plan.paths, headers, plan.shuffle, plan.versions, plan.body)
        if plan.method == "POST":
            time.sleep(POST_SETTLE)  # requests still in flight when the last run stopped finish first
            plan.versions = _versions(self.url, self.mediating)
            plan.paths = [f"/api/v1/cases/{i}/transitions" for i in plan.versions]
            plan.body = {
                **(plan.body or {}),
                "data": {**SESSION_BODY, "session_date": clock.local_date(clock.utcnow()).isoformat()},
            }
        return plan


def warm_up(base_url: str, path: str, headers: dict[str, str], *, clients: int = 8, rounds: int = 6) -> str:
    """Ask for ``path`` from ``clients`` new connections at once until every answer of a round comes within a
    second (each worker process has counted what it keeps); what the rounds took, for the table's notes. The
    dashboard counts the year's figures on a process's first view and keeps them a minute."""
    took: list[float] = []

    def one() -> float:
        start = time.perf_counter()
        httpx.get(base_url + path, headers=headers, timeout=600).raise_for_status()
        return time.perf_counter() - start

    with ThreadPoolExecutor(clients) as pool:
        for _ in range(rounds):
            slowest = max(pool.map(lambda _i: one(), range(clients)))
            took.append(slowest)
            if slowest < 1.0:
                break
    return f"warm-up of {path} ({clients} at once per round), slowest answer per round: " + ", ".join(
        f"{t:.2f} s" for t in took
    )


def _count(result: Result) -> int:
    latencies = getattr(result, "latencies", None)
    if latencies is not None:
        return len(latencies) + result.errors
    return int(getattr(result, "requests", 0))


def run(quick: bool = False, n_cases: int | None = None, duration: float | None = None) -> list[Table]:
    n_cases = n_cases or (300 if quick else 100_000)
    duration = duration or (1.0 if quick else 5.0)
    generator = "wrk (1 thread)" if wrk_path() else "httpx in this process (WRK MISSING: " + INSTALL_HINT + ")"
    table = Table(
        title=f"HTTP on {n_cases:,} cases (SQLite FULL, 2 uvicorn workers, loopback, {generator}), "
        f"{duration:g} s per cell",
        headers=[
            "endpoint",
            "clients",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "req/s",
            "server CPU ms/req",
            "busiest worker",
            "errors",
        ],
    )
    cost = Table(
        title="Load generator cost: the bare endpoint driven both ways",
        headers=["generator", "clients", "p50 ms", "p95 ms", "req/s", "generator CPU µs/req", "server CPU ms/req"],
    )
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mf-bench-http-") as workdir:
        url = f"sqlite:///{workdir}/http.db"
        engine, town = prepared_database(url)
        built = build(engine, town, n_cases)
        started = time.perf_counter()
        count_kept_figures(engine)  # what `mediation-flow db upgrade` does after a release
        table.notes.append(f"the dashboard's kept year figures counted before serving (as db upgrade does): "
                           f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        engine.dispose()
        village = town.places.villages[0].code
        with Server(url, Path(workdir), workers=2) as server:
            driver = _Driver(server, url, n_cases, built.mediating, village)
            results: dict[tuple[str, int], Result] = {}
            for label in driver.requests:
                if label == DASHBOARD:  # counted on each process's first view: the cell measures views after it
                    plan = driver._plan(label, driver._credential("page"))
                    table.notes.append(warm_up(server.base_url, "/dashboard", plan.headers))
                for clients in CONCURRENCY:
                    result, server_ms, _, busiest = driver.run(label, clients, duration)
                    results[(label, clients)] = result
                    table.rows.append([label, str(clients), *_cell(result, server_ms, busiest)])
                    if result.first_error:
                        table.notes.append(f"{label} at {clients}: first error {result.first_error.splitlines()[0]}")
            for name, use_wrk in (("wrk", True), ("httpx (in process)", False)):
                if use_wrk and not driver.use_wrk:
                    cost.notes.append(INSTALL_HINT + ": no wrk row.")
                    continue
                for clients in CONCURRENCY:
                    result, server_ms, generator_us, _ = driver.run(BARE, clients, duration, wrk=use_wrk)
                    cost.rows.append(
                        [
                            name,
                            str(clients),
                            f"{result.percentile(50):.1f}",
                            f"{result.percentile(95):.1f}",
                            f"{result.throughput:,.0f}",
                            f"{generator_us:,.0f}",
                            f"{server_ms:.2f}",
                        ]
                    )
            table.notes += _server_errors(server.log_path)
    table.notes += _verdicts(results)
    load_after = os.getloadavg()
    table.notes.append(
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        "server CPU ms/req = the server processes' CPU time over the cell ÷ requests (other load does not count); "
        "busiest worker = the busiest server process's share of that CPU (50% with 2 workers evenly loaded)."
    )
    return [table, cost]


def _verdicts(results: dict[tuple[str, int], Result]) -> list[str]:
    notes = []
    slow = [
        f"{label} ({result.percentile(95):.0f} ms)"
        for (label, clients), result in results.items()
        if clients == 8 and result.percentile(95) >= TARGET_P95_MS
    ]
    verdict = "met for every endpoint." if not slow else "MISSED for " + ", ".join(slow) + "."
    notes.append(f"p95 < {TARGET_P95_MS:.0f} ms at 8 clients: {verdict}")
    for clients in CONCURRENCY:
        bare = results.get((BARE, clients))
        post = results.get((POST, clients))
        if bare and post and bare.throughput:
            share = post.throughput / bare.throughput
            notes.append(
                f"transition POST throughput at {clients} clients = {share:.0%} of the bare endpoint's "
                f"(target ≥ {TARGET_POST_SHARE:.0%}: {'met' if share >= TARGET_POST_SHARE else 'MISSED'})."
            )
    return notes
