"""County scale on PostgreSQL (issue 15, point 5): one county (``county_dataset``: townships × the demo's
years, on the bulk path) in one PostgreSQL database, served by TWO app processes (``mediation-flow serve
--workers 1`` twice, as two hosts would run them), each driven by its own wrk at 8 clients at the same time
(16 clients in all), the same endpoints as bench_http, as township 1's supervisor and mediator.

Size: ``MF_BENCH_COUNTY`` = ``TOWNSHIPS×PER_TOWNSHIP`` (default ``3x33000``: 3 of the full set's 30 townships
at its ~33,000 cases each); ``--quick`` builds 2×300. ``MF_BENCH_COUNTY_URL`` reuses a database already built
(an SQLAlchemy URL); otherwise a throwaway cluster is started and dropped afterwards. With ``MF_BENCH_COUNTY_COPIED``
set, only the demo (青龙镇 and 白马镇, PER_TOWNSHIP cases between them) is built on the bulk path and 青龙镇 is copied
in SQL to the other townships (``county_replicate``: the full county ``30x40000``, ≈ 1,000,000 cases, in minutes).
``MF_BENCH_COUNTY_CELLS_ONLY`` set: only the 16-client cells (not the county view and report one at a time).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
from factories import _HASH
from server_harness import Server
from sqlalchemy import Engine, func, insert, select

from benchmarks.bench_http import _server_errors, warm_up
from benchmarks.common import Table, median, pg_cluster
from benchmarks.county_dataset import build
from benchmarks.county_replicate import build_replicated
from benchmarks.loadgen import api_token, page_session
from benchmarks.wrk import Plan, WrkResult, run_wrk, wrk_path
from mediation_flow.accounts.users import actor_for
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.places.jurisdictions import get_by_code
from mediation_flow.store import clock
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.tables import CASES, EVENTS, USERS
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.vocabulary import Role

CLIENTS_EACH = 8
TARGET_P95_MS = 50.0
TARGET_COUNTY_VIEW_MS = 300.0
TARGET_COUNTY_REPORT_MS = 2000.0
YEAR = int(os.environ.get("MF_BENCH_COUNTY_YEAR", "2025"))  # the data set's last full year (settled 2023–2025)
COUNTY_PAGES = {"GET /dashboard (HTML)": f"/dashboard?year={YEAR}", "GET /county (HTML)": f"/county?year={YEAR}"}
SESSION = {"session_date": "", "content": "背靠背调解，双方各让一步"}


def _bench_users(engine: Engine) -> None:
    """``supervisor`` and ``mediator`` of township 1 with the benchmarks' password (loadgen signs in as them)."""
    with engine.begin() as conn:
        if conn.execute(select(USERS.c.id).where(USERS.c.username == "supervisor")).first():
            return
        township, county = get_by_code(conn, "500101001"), get_by_code(conn, "500101")
        for name, role, place in (("supervisor", Role.SUPERVISOR, township), ("mediator", Role.MEDIATOR, township),
                                  ("county", Role.SUPERVISOR, county)):  # fmt: skip
            conn.execute(insert(USERS).values(username=name, display_name=name, role=role.value, password_hash=_HASH,
                                              jurisdiction_id=place.id, is_active=True))  # fmt: skip


def _township_cases(engine: Engine) -> tuple[list[int], dict[int, int], str]:
    """Township 1's case ids, its mediating cases' versions, and a village code of it."""
    with engine.connect() as conn:
        township = get_by_code(conn, "500101001")
        rows = conn.execute(
            select(CASES.c.id, CASES.c.state, CASES.c.version).where(
                CASES.c.jurisdiction_path.like(f"{township.path}%")
            )
        ).all()
    mediating = {r.id: r.version for r in rows if r.state == "mediating"}
    return [r.id for r in rows], mediating, "500101001001"


def _plans(ids: list[int], mediating: dict[int, int], village: str) -> dict[str, tuple[Plan, str]]:
    sample = random.Random(11).sample(ids, min(len(ids), 5_000))
    body = {"trigger": "record_session", "expected_version": 0,
            "data": {**SESSION, "session_date": clock.local_date(clock.utcnow()).isoformat()}}  # fmt: skip
    lists = [f"/api/v1/cases?village={village}&state=mediating&category={c}" for c in ("neighbourhood", "contract")]
    return {
        "GET /healthz (bare)": (Plan(paths=["/healthz"]), ""),
        "GET /api/v1/cases/{id}": (Plan(paths=[f"/api/v1/cases/{i}" for i in sample]), "api"),
        "GET /api/v1/cases?village&state&category": (Plan(paths=lists, shuffle=True), "api"),
        "GET /api/v1/queues/overdue": (Plan(paths=["/api/v1/queues/overdue"]), "api"),
        "POST /api/v1/cases/{id}/transitions": (
            Plan(
                method="POST",
                paths=[f"/api/v1/cases/{i}/transitions" for i in mediating],
                versions=dict(mediating),
                body=body,
            ),
            "api",
        ),
        "GET /cases/{id} (HTML)": (Plan(paths=[f"/cases/{i}" for i in sample]), "page"),
        "GET /queue (HTML)": (Plan(paths=["/queue"]), "page"),
        "GET /dashboard (HTML)": (Plan(paths=[COUNTY_PAGES["GET /dashboard (HTML)"]]), "page"),
        "GET /county (HTML)": (Plan(paths=[COUNTY_PAGES["GET /county (HTML)"]]), "county"),
    }


def _with(plan: Plan, headers: dict[str, str], start_versions: dict[int, int] | None, half: int) -> Plan:
    versions = None
    paths = plan.paths
    if plan.versions is not None and start_versions is not None:  # each process its own half of the cases
        mine = sorted(start_versions)[half::2]
        versions = {i: start_versions[i] for i in mine}
        paths = [f"/api/v1/cases/{i}/transitions" for i in mine]
    return Plan(plan.method, paths, headers, plan.shuffle, versions, plan.body)


def _clients(plan: Plan) -> int:
    """How many wrk clients drive ``plan``: 8, fewer for writes when there are fewer than two cases per client
    (two writes in flight on one case race each other's version and answer 409, measuring nothing; wrk may
    ask for a request more than it sends at once, so one case per client is not enough)."""
    if plan.versions is None:
        return CLIENTS_EACH
    return max(1, min(CLIENTS_EACH, len(plan.versions) // 2))


def _measure(url: str, servers: list[Server], plans: dict[str, tuple[Plan, str]], duration: float) -> Table:
    table = Table(
        title="County on PostgreSQL: 2 app processes (1 uvicorn worker each), wrk 8 clients on each at once "
        f"(16 in all), {duration:g} s per cell",
        headers=["endpoint", "p50 ms (process 1 / 2)", "p95 ms (process 1 / 2)", "req/s (both)", "errors"],
    )
    credentials = []
    for server in servers:
        cookies = page_session(server.base_url, "supervisor")
        county = page_session(server.base_url, "county")
        credentials.append({"": {}, "api": api_token(server.base_url, "supervisor"),
                            "page": {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
                            "county": {"Cookie": "; ".join(f"{k}={v}" for k, v in county.items())}})  # fmt: skip
    engine = make_engine(url)
    for label, (plan, who) in plans.items():
        if label in COUNTY_PAGES:  # counted on each process's first view and kept a minute: warm both first
            for server, credential in zip(servers, credentials, strict=True):
                table.notes.append(f"process {server.port}: " + warm_up(server.base_url, plan.paths[0],
                                                                         credential[who], clients=4))  # fmt: skip
        versions = None
        if plan.versions is not None:
            time.sleep(2)
            with engine.connect() as conn:
                found = conn.execute(select(CASES.c.id, CASES.c.version).where(CASES.c.id.in_(list(plan.versions))))
                versions = dict(found.all())
        results: list[WrkResult] = [WrkResult(), WrkResult()]
        clients_used = [CLIENTS_EACH, CLIENTS_EACH]

        def drive(
            index: int,
            plan: Plan = plan,
            who: str = who,
            versions: dict[int, int] | None = versions,
            results: list[WrkResult] = results,
            clients_used: list[int] = clients_used,
        ) -> None:
            mine = _with(plan, credentials[index][who], versions, index)
            clients = _clients(mine)
            clients_used[index] = clients
            results[index] = run_wrk(servers[index].base_url, mine, concurrency=clients, duration=duration)

        threads = [threading.Thread(target=drive, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        a, b = results
        table.rows.append([label, f"{a.p50:.1f} / {b.p50:.1f}", f"{a.p95:.1f} / {b.p95:.1f}",
                           f"{a.throughput + b.throughput:,.0f}", str(a.errors + b.errors)])  # fmt: skip
        if min(clients_used) < CLIENTS_EACH:
            table.notes.append(f"{label}: {min(clients_used)} clients per process, not {CLIENTS_EACH}: each process "
                               f"has too few cases in mediation to write to ({CLIENTS_EACH * 2} needed)")  # fmt: skip
        worst = max(a.p95, b.p95)
        verdict = "met" if worst < TARGET_P95_MS else "MISSED"
        table.notes.append(f"{label}: p95 < {TARGET_P95_MS:.0f} ms {verdict} (worse process {worst:.0f} ms)")
        for r in results:
            if r.first_error:
                table.notes.append(f"{label}: first error {r.first_error.splitlines()[0][:200]}")
    engine.dispose()
    return table


def _one_at_a_time(server: Server, credential: dict[str, str], year: int, url: str) -> Table:
    """The county view and the county's annual report, one request at a time on one process that has counted
    nothing yet: the first view counts the county's year (then kept a minute), three more read it kept. The first
    report counts the county's year and keeps each township's tally; two more find nothing changed; then a step is
    written today on a case of township 1 with events in ``year`` (so its year may have changed) and the report
    is asked for again (that case's place counted again, the others kept)."""
    table = Table(
        title=f"County view and the county's annual report ({year}), one request at a time, a fresh process",
        headers=["page", "first request (ms)", "next: median (ms)", "next: max (ms)", "target", "met?"],
    )
    report = f"/county/report?county=500101&year={year}"
    pages = [("GET /county (HTML)", f"/county?year={year}&sort=overdue", TARGET_COUNTY_VIEW_MS, 3),
             ("GET /county/report (HTML)", report, TARGET_COUNTY_REPORT_MS, 2)]  # fmt: skip
    with httpx.Client(base_url=server.base_url, headers=credential, timeout=1800) as client:

        def timed(label: str, path: str) -> float:
            start = time.perf_counter()
            client.get(path).raise_for_status()
            took = (time.perf_counter() - start) * 1000
            print(f"bench_county: {label} {took:,.0f} ms", file=sys.stderr, flush=True)
            return took

        for label, path, target, runs in pages:
            took = [timed(label, path) for _ in range(runs + 1)]
            first, rest = took[0], took[1:]
            verdict = "met" if median(rest) < target and first < target else "MISSED"
            table.rows.append([label, f"{first:,.0f}", f"{median(rest):,.0f} (n={len(rest)})", f"{max(rest):,.0f}",
                               f"< {target:,.0f} ms", verdict])  # fmt: skip
        after = []
        for _ in range(3):
            _step_today_on_a_case_of(url, year)
            after.append(timed("report after a step in township 1", report))
        verdict = "met" if median(after) < TARGET_COUNTY_REPORT_MS else "MISSED"
        table.rows.append(["GET /county/report (HTML), after a step in township 1", "–",
                           f"{median(after):,.0f} (n={len(after)})", f"{max(after):,.0f}",
                           f"< {TARGET_COUNTY_REPORT_MS:,.0f} ms", verdict])  # fmt: skip
    table.notes.append(
        "the view counts the county's year on a process's first view and keeps it a minute "
        "(stats.dashboard KEEP_SECONDS); met? asks both the first and the median to be under target. The report keeps "
        "each place's tally (in the process and the database) until a case of its year is counted again "
        "(stats.kept_figures, year_sums.CHANGED); db upgrade counts them."
    )
    return table


def _step_today_on_a_case_of(url: str, year: int) -> None:
    """A note added today, as township 1's supervisor, to a case of township 1 that has events in ``year``."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            township = get_by_code(conn, "500101001")
            start = datetime(year, 1, 1, tzinfo=clock.LOCAL_TZ)
            found = conn.execute(
                select(CASES.c.id, CASES.c.version)
                .join(EVENTS, EVENTS.c.case_id == CASES.c.id)
                .where(CASES.c.jurisdiction_path.like(f"{township.path}%"), EVENTS.c.effective_at >= start,
                       EVENTS.c.effective_at < start.replace(year=year + 1))
                .order_by(func.random())
                .limit(1)
            ).one()  # fmt: skip
            user = conn.execute(select(USERS.c.id).where(USERS.c.username == "supervisor")).scalar_one()
            actor = actor_for(conn, user)
        assert actor is not None
        apply_trigger(engine, case_id=found.id, actor=actor, trigger="add_note", expected_version=found.version,
                      data={"text": "当事人来电询问履行情况"})  # fmt: skip
    finally:
        engine.dispose()


def run(quick: bool = False) -> list[Table]:
    if not wrk_path():
        return [Table(title="County on PostgreSQL: skipped (wrk is not installed)", headers=["-"])]
    size = "2x300" if quick else os.environ.get("MF_BENCH_COUNTY", "3x33000")
    townships, per_township = (int(x) for x in size.split("x"))
    duration = 1.0 if quick else 5.0
    reuse = os.environ.get("MF_BENCH_COUNTY_URL")
    with tempfile.TemporaryDirectory(prefix="mf-bench-county-") as workdir, pg_cluster() as cluster:
        if reuse:
            url = reuse
            counted = make_engine(url)
            with counted.connect() as conn:
                n_cases = conn.execute(select(func.count()).select_from(CASES)).scalar_one()
                n_events = conn.execute(select(func.count()).select_from(EVENTS)).scalar_one()
                n_towns = conn.execute(select(func.count()).where(JUR.c.level == "township")).scalar_one()
            counted.dispose()
            built_note = (f"database reused from MF_BENCH_COUNTY_URL: {n_towns} townships, {n_cases:,} cases, "
                          f"{n_events:,} events")  # fmt: skip
        else:
            if cluster is None:
                return [Table(title="County on PostgreSQL: skipped (PostgreSQL unavailable)", headers=["-"])]
            url = cluster.create_database("mf_county")
            engine = make_engine(url)
            upgrade(engine)
            if os.environ.get("MF_BENCH_COUNTY_COPIED"):
                phases = ", ".join(
                    f"{k} {v:.0f} s" for k, v in build_replicated(engine, townships, per_township).items()
                )
                built_note = (f"built the demo ({per_township:,} cases) on the bulk path, 青龙镇 copied in SQL to "
                              f"{townships - 2} more townships: {phases}")  # fmt: skip
            else:
                built = build(engine, townships, per_township)
                built_note = (f"built {townships} townships × {per_township:,} cases on the bulk path: {built.cases:,} "
                              f"cases, {built.events:,} events in {built.seconds:.0f} s")  # fmt: skip
            engine.dispose()
        engine = make_engine(url)
        _bench_users(engine)
        ids, mediating, village = _township_cases(engine)
        engine.dispose()
        servers = [Server(url, Path(workdir) / f"p{i}", workers=1) for i in (1, 2)]
        for server in servers:
            server.data_dir.mkdir(parents=True, exist_ok=True)
            server.log_path = server.data_dir / "server.log"
            server.start()
        try:
            load_before = os.getloadavg()[0]
            single = Table(title="County view and report one at a time: skipped (MF_BENCH_COUNTY_CELLS_ONLY)",
                           headers=["-"])  # fmt: skip
            if not os.environ.get("MF_BENCH_COUNTY_CELLS_ONLY"):
                fresh = Server(url, Path(workdir) / "p3", workers=1)  # nothing counted yet: the first view counts
                fresh.data_dir.mkdir(parents=True, exist_ok=True)
                fresh.log_path = fresh.data_dir / "server.log"
                with fresh:
                    cookie = page_session(fresh.base_url, "county")
                    credential = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookie.items())}
                    single = _one_at_a_time(fresh, credential, YEAR, url)
            table = _measure(url, servers, _plans(ids, mediating, village), duration)
            load_after = os.getloadavg()[0]
        finally:
            for server in servers:
                server.stop()
            errors = [line for server in servers for line in _server_errors(server.log_path)]
    table.notes.insert(0, built_note + f"; township 1 (measured as its supervisor) holds {len(ids):,} cases")
    table.notes.append(f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after (2 shared cores).")
    table.notes += errors
    return [table, single]
