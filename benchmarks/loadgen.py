"""A bounded, closed-loop HTTP load generator (httpx + asyncio) and the helpers to sign in.

``concurrency`` clients each keep exactly one request in flight for ``duration`` seconds; every
request's latency is recorded. The generator runs in this process, the server in its own (uvicorn
through ``mediation-flow serve``), both on loopback — on a 2-core machine they share the CPU, so the
figures are a floor for what the server does alone, and the bare endpoint measured the same way is
the yardstick.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from factories import PASSWORD, today_iso

Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    elapsed: float = 0.0
    first_error: str = ""

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: int) -> float:
        """The p-th percentile latency in milliseconds."""
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000


async def _load(
    base_url: str,
    request: Request,
    concurrency: int,
    duration: float,
    headers: dict[str, str],
    cookies: httpx.Cookies,
    total: int | None,
) -> LoadResult:
    result = LoadResult()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, cookies=cookies, limits=limits, timeout=60
    ) as client:
        await request(client, 0)  # warm the connection and the server's caches
        stop = time.perf_counter() + duration

        budget = [total if total is not None else -1]

        async def worker(index: int) -> None:
            while time.perf_counter() < stop and budget[0] != 0:
                budget[0] -= 1
                start = time.perf_counter()
                response = await request(client, index)
                took = time.perf_counter() - start
                if response.status_code >= 400:
                    result.errors += 1
                    result.first_error = result.first_error or f"{response.status_code} {response.text[:300]}"
                else:
                    result.latencies.append(took)

        began = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        result.elapsed = time.perf_counter() - began
    return result


def run_load(
    base_url: str,
    request: Request,
    *,
    concurrency: int,
    duration: float,
    headers: dict[str, str] | None = None,
    cookies: httpx.Cookies | None = None,
    total: int | None = None,
) -> LoadResult:
    """Drive ``request`` for ``duration`` seconds, or until ``total`` requests have been sent."""
    return asyncio.run(
        _load(base_url, request, concurrency, duration, headers or {}, cookies or httpx.Cookies(), total)
    )


def api_token(base_url: str, username: str) -> dict[str, str]:
    """Bearer header for a test user (one sign-in, shared by every client: sign-ins are throttled)."""
    response = httpx.post(
        f"{base_url}/api/v1/auth/token", data={"username": username, "password": PASSWORD}, timeout=30
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def page_session(base_url: str, username: str) -> httpx.Cookies:
    """The signed session cookie of the web pages, got through the real sign-in form (with its CSRF token)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        form = client.get("/login")
        form.raise_for_status()
        match = CSRF.search(form.text)
        if match is None:
            raise RuntimeError("no csrf_token on the sign-in page")
        signed_in = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": match.group(1)}
        )
        if signed_in.status_code not in (200, 303) or "/login" in signed_in.headers.get("location", ""):
            raise RuntimeError(f"page sign-in failed: {signed_in.status_code}")
        return client.cookies


def record_sessions(case_ids: list[int], *, version: int, stride: int = 64) -> Request:
    """A transition POST (``record_session``, which keeps a case in 'mediating') for each call. Client
    ``i`` works through its own share of ``case_ids`` (every ``stride``-th), so no two clients race on a
    case; each case's version is followed from the responses (it starts at ``version``)."""
    versions: dict[int, int] = {}
    turns: dict[int, int] = {}

    async def fire(client: httpx.AsyncClient, index: int) -> httpx.Response:
        mine = case_ids[index % stride :: stride] or case_ids
        turn = turns[index] = turns.get(index, -1) + 1
        case_id = mine[turn % len(mine)]
        body = {"session_date": today_iso(), "content": "背靠背调解，双方各让一步"}  # Beijing's today, read now
        payload = {"trigger": "record_session", "expected_version": versions.get(case_id, version), "data": body}
        response = await client.post(f"/api/v1/cases/{case_id}/transitions", json=payload)
        if response.status_code == 200:
            versions[case_id] = response.json()["version"]
        return response

    return fire
