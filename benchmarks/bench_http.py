"""HTTP latency and throughput of the real server on a 100,000-case database, next to a bare endpoint.

The database (SQLite, the server's default ``synchronous=FULL``) is bulk-built by ``dataset.build``;
``mediation-flow serve`` (uvicorn, ``web.app:create_app``) runs it with 2 workers on loopback; a
closed-loop httpx/asyncio generator drives each endpoint at 1, 8 and 32 concurrent clients.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from server_harness import Server

from benchmarks.common import Table, prepared_database
from benchmarks.dataset import build
from benchmarks.loadgen import LoadResult, Request, api_token, page_session, record_sessions, run_load

CONCURRENCY = (1, 8, 32)
TARGET_P95_MS = 50.0


def _requests(n_cases: int, mediating: list[int], village: str) -> dict[str, tuple[Request, str]]:
    """Endpoint label -> (request maker, whose credentials: 'api', 'page' or '')."""
    rng = random.Random(11)
    case_ids = range(1, n_cases + 1)

    async def healthz(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get("/healthz")

    async def case(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get(f"/api/v1/cases/{rng.choice(case_ids)}")

    async def case_list(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        params = {"village": village, "state": "mediating", "category": rng.choice(["neighbourhood", "contract"])}
        return await client.get("/api/v1/cases", params=params)

    async def overdue(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get("/api/v1/queues/overdue")

    async def case_page(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get(f"/cases/{rng.choice(case_ids)}")

    async def queue_page(client: httpx.AsyncClient, _i: int) -> httpx.Response:
        return await client.get("/queue")

    return {
        "GET /healthz (bare)": (healthz, ""),
        "GET /api/v1/cases/{id}": (case, "api"),
        "GET /api/v1/cases?village&state&category": (case_list, "api"),
        "GET /api/v1/queues/overdue": (overdue, "api"),
        "POST /api/v1/cases/{id}/transitions": (record_sessions(mediating, version=4), "api_mediator"),
        "GET /cases/{id} (HTML)": (case_page, "page"),
        "GET /queue (HTML)": (queue_page, "page"),
    }


def _server_errors(log: Path, limit: int = 3) -> list[str]:
    """The server's own error lines (JSON log, level error), so a 5xx in the table says why."""
    found = [line[:400] for line in log.read_text("utf-8", errors="replace").splitlines() if '"level": "error"' in line]
    return [f"server log: {line}" for line in found[:limit]]


def _cell(result: LoadResult) -> list[str]:
    return [
        f"{result.percentile(50):.1f}",
        f"{result.percentile(95):.1f}",
        f"{result.percentile(99):.1f}",
        f"{result.throughput:,.0f}",
        str(result.errors),
    ]


def run(quick: bool = False, n_cases: int | None = None, duration: float | None = None) -> list[Table]:
    n_cases = n_cases or (300 if quick else 100_000)
    duration = duration or (0.3 if quick else 5.0)
    table = Table(
        title=f"HTTP on {n_cases:,} cases (SQLite FULL, 2 uvicorn workers, loopback), {duration:g} s per cell",
        headers=["endpoint", "clients", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors"],
    )
    with tempfile.TemporaryDirectory(prefix="mf-bench-http-") as workdir:
        url = f"sqlite:///{workdir}/http.db"
        engine, town = prepared_database(url)
        built = build(engine, town, n_cases)
        engine.dispose()
        village = town.places.villages[0].code
        with Server(url, Path(workdir), workers=2) as server:
            base = server.base_url
            credentials: dict[str, Callable[[], dict[str, Any]]] = {
                "": dict,
                "api": lambda: {"headers": api_token(base, "supervisor")},
                "api_mediator": lambda: {"headers": api_token(base, "mediator")},
                "page": lambda: {"cookies": page_session(base, "supervisor")},
            }
            cache: dict[str, dict[str, Any]] = {}
            results: dict[tuple[str, int], LoadResult] = {}
            for label, (request, who) in _requests(n_cases, built.mediating, village).items():
                if who not in cache:
                    cache[who] = credentials[who]()
                for clients in CONCURRENCY:
                    result = run_load(base, request, concurrency=clients, duration=duration, **cache[who])
                    results[(label, clients)] = result
                    table.rows.append([label, str(clients), *_cell(result)])
                    if result.first_error:
                        first_line = result.first_error.splitlines()[0]
                        table.notes.append(f"{label} at {clients}: first error {first_line}")
            table.notes += _server_errors(server.log_path)
    table.notes += _verdicts(results)
    return [table]


def _verdicts(results: dict[tuple[str, int], LoadResult]) -> list[str]:
    notes = []
    slow = [
        f"{label} ({result.percentile(95):.0f} ms)"
        for (label, clients), result in results.items()
        if clients == 8 and result.percentile(95) >= TARGET_P95_MS
    ]
    verdict = "met for every endpoint." if not slow else "MISSED for " + ", ".join(slow) + "."
    notes.append(f"p95 < {TARGET_P95_MS:.0f} ms at 8 clients: {verdict}")
    for clients in CONCURRENCY:
        bare = results.get(("GET /healthz (bare)", clients))
        post = results.get(("POST /api/v1/cases/{id}/transitions", clients))
        if bare and post and bare.throughput:
            share = post.throughput / bare.throughput
            notes.append(
                f"transition POST throughput at {clients} clients = {share:.0%} of the bare endpoint's "
                f"(target ≥ 40%: {'met' if share >= 0.4 else 'MISSED'})."
            )
    return notes
