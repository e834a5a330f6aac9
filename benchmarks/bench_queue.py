"""The supervisor's overdue queue on 100,000 cases: ``GET /api/v1/queues/overdue`` through a real
``mediation-flow serve`` (uvicorn) over HTTP, and the core ``queue()`` call it wraps, medians of runs.

The database is built quickly with bulk Core inserts (not through ``apply_trigger``), but with the
rows the engine would have written: case rows whose clocks are folded by ``advance_clocks`` from the
same events that are inserted beside them (register; accept + start_mediation; reject), so
``mediation-flow check`` would pass on it. Run alone: ``python -m benchmarks.bench_queue [--cases N]``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from factories import PASSWORD
from server_harness import Server
from sqlalchemy import Engine, insert

from benchmarks.common import Table, median, prepared_database, timed
from mediation_flow.cases.queues import queue
from mediation_flow.store import clock
from mediation_flow.store.models import Case, CaseCounter, CaseEvent
from mediation_flow.workflow.deadlines import advance_clocks, earliest_due
from mediation_flow.workflow.registry import REGISTRY
from mediation_flow.workflow.schema import WorkflowSpec

CASES, EVENTS, COUNTERS = Case.__table__, CaseEvent.__table__, CaseCounter.__table__
TODAY = date(2024, 12, 2)
FIRST_DAY = date(2023, 1, 1)
CATEGORIES = ["neighbourhood", "marriage_family", "housing_homestead", "contract", "damages", "labour", "other"]
SOURCES = ["initiative", "application", "police", "court", "petition", "department"]
GRADES = ["blue"] * 6 + ["yellow"] * 3 + ["orange", "red"]
# (state, events after register) — the open states keep clocks running; rejected has none.
PLANS = [("registered", ["register"])] * 3 + [("mediating", ["register", "accept", "start_mediation"])] * 5
PLANS += [("rejected", ["register", "reject"])] * 2
BATCH = 5_000
_CLOCK_CACHE: dict[tuple[str, date, tuple[str, ...]], tuple[dict[str, Any], date | None]] = {}


def _clocks(spec: WorkflowSpec, day: date, triggers: tuple[str, ...]) -> tuple[dict[str, Any], date | None]:
    """The clocks the engine would hold after ``triggers`` on ``day`` (cached per day and plan)."""
    key = (spec.name, day, triggers)
    if key in _CLOCK_CACHE:
        return _CLOCK_CACHE[key]
    clocks: dict[str, Any] = {}
    for trigger, state in zip(triggers, _states(triggers), strict=True):
        clocks = advance_clocks(spec, clocks, trigger=trigger, to_state=state, on=day, data={})
    _CLOCK_CACHE[key] = (clocks, earliest_due(clocks))
    return _CLOCK_CACHE[key]


def _states(triggers: tuple[str, ...]) -> list[str]:
    dest = {"register": "registered", "accept": "accepted", "start_mediation": "mediating", "reject": "rejected"}
    return [dest[t] for t in triggers]


def build(engine: Engine, town: Any, n_cases: int, seed: int = 7) -> None:
    """Insert ``n_cases`` cases and their events in batches (one transaction)."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        compiled = REGISTRY.current(conn, "people_mediation")
    places = town.places.grids + town.places.villages
    mediators = [town["mediator"].id, town["village_mediator"].id, None]
    span = (TODAY - FIRST_DAY).days
    seq_by_year: dict[int, int] = {}
    case_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for case_id in range(1, n_cases + 1):
            day = FIRST_DAY + timedelta(days=int(span * rng.random() ** 0.5))
            state, triggers = rng.choice(PLANS)
            clocks, due = _clocks(compiled.spec, day, tuple(triggers))
            place = rng.choice(places)
            seq = seq_by_year[day.year] = seq_by_year.get(day.year, 0) + 1
            moment = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
            case_rows.append(
                {
                    "id": case_id,
                    "number": f"（{day.year}）青龙人调字第{seq:03d}号",
                    "township_id": town.places.township.id,
                    "year": day.year,
                    "seq": seq,
                    "title": f"基准测试纠纷{case_id}",
                    "category": rng.choice(CATEGORIES),
                    "source": rng.choice(SOURCES),
                    "risk_grade": rng.choice(GRADES),
                    "jurisdiction_id": place.id,
                    "jurisdiction_path": place.path,
                    "level": place.level,
                    "summary": "基准测试",
                    "people_involved": 2,
                    "mediator_id": rng.choice(mediators),
                    "created_by": town["supervisor"].id,
                    "workflow_name": compiled.name,
                    "workflow_version": compiled.version,
                    "state": state,
                    "version": len(triggers),
                    "clocks": clocks,
                    "due_date": due,
                    "attributes": {},
                    "registered_at": moment,
                    "created_at": moment,
                    "updated_at": moment,
                }
            )
            previous = None
            for index, (trigger, to_state) in enumerate(zip(triggers, _states(tuple(triggers)), strict=True), 1):
                data = {"rights_notified": True} if trigger == "accept" else {}
                data = {"reason": "不属于调解范围"} if trigger == "reject" else data
                data = {"all_parties_consent": True} if trigger == "start_mediation" else data
                event_rows.append(
                    {
                        "case_id": case_id,
                        "seq": index,
                        "trigger": trigger,
                        "from_state": previous,
                        "to_state": to_state,
                        "actor_id": town["supervisor"].id,
                        "effective_at": moment,
                        "recorded_at": moment,
                        "note": "",
                        "data": data,
                    }
                )
                previous = to_state
            if len(case_rows) >= BATCH:
                _flush(conn, case_rows, event_rows)
        _flush(conn, case_rows, event_rows)
        for year, last in seq_by_year.items():
            conn.execute(insert(COUNTERS).values(township_id=town.places.township.id, year=year, last=last))


def _flush(conn: Any, case_rows: list[dict[str, Any]], event_rows: list[dict[str, Any]]) -> None:
    if case_rows:
        conn.execute(insert(CASES), case_rows)
        conn.execute(insert(EVENTS), event_rows)
    case_rows.clear()
    event_rows.clear()


def _http_samples(base_url: str, params: dict[str, str], runs: int) -> tuple[list[float], int]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        token = client.post("/api/v1/auth/token", data={"username": "supervisor", "password": PASSWORD})
        token.raise_for_status()
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        samples, total = [], 0
        for _ in range(runs + 1):  # the first call warms the worker (workflow versions, reference data)
            start = time.perf_counter()
            response = client.get("/api/v1/queues/overdue", params=params, headers=headers)
            samples.append(time.perf_counter() - start)
            response.raise_for_status()
            total = response.json()["total"]
    return samples[1:], total


def run(quick: bool = False, n_cases: int | None = None, runs: int = 9) -> list[Table]:
    n_cases = n_cases or (2_000 if quick else 100_000)
    runs = 3 if quick else runs
    table = Table(
        title=f"Overdue queue on {n_cases:,} cases (SQLite, as of {TODAY}), median of {runs} runs",
        headers=["query", "matching cases", "HTTP GET (ms)", "core queue() (ms)"],
    )
    with tempfile.TemporaryDirectory(prefix="mf-bench-queue-") as workdir:
        url = f"sqlite:///{workdir}/queue.db"
        engine, town = prepared_database(url)
        build_s = timed(lambda: build(engine, town, n_cases))
        table.notes.append(f"built {n_cases:,} cases and their events with bulk Core inserts in {build_s:.1f} s")
        variants = {
            "all, page 1 (50)": {},
            "red only": {"risk_grade": "red"},
            "one village": {"village": town.places.villages[0].code},
            "page 200": {"page": "200"},
        }
        with Server(url, Path(workdir), workers=1) as server:
            for name, params in variants.items():
                params = {"today": TODAY.isoformat(), **params}
                samples, total = _http_samples(server.base_url, params, runs)
                core = _core_samples(engine, town, params, runs)
                table.rows.append([name, f"{total:,}", f"{median(samples) * 1000:.1f}", f"{median(core) * 1000:.1f}"])
        engine.dispose()
    worst = max(float(row[2]) for row in table.rows)
    table.notes.append(
        f"target: well under a second over HTTP — worst median {worst:.0f} ms: {'met' if worst < 1000 else 'MISSED'}."
    )
    return [table]


def _core_samples(engine: Engine, town: Any, params: dict[str, str], runs: int) -> list[float]:
    from mediation_flow.cases.queues import QueueFilters

    filters = QueueFilters(village=params.get("village"), risk_grade=params.get("risk_grade"))
    page = int(params.get("page", 1))
    samples = []
    with engine.connect() as conn:
        for _ in range(runs):
            samples.append(
                timed(lambda: queue(conn, town["supervisor"], "overdue", today=TODAY, filters=filters, page=page))
            )
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    started = clock.utcnow()
    for table in run(n_cases=args.cases, runs=args.runs):
        print(table.markdown())
    print(f"(took {(clock.utcnow() - started).total_seconds():.0f} s)")


if __name__ == "__main__":
    main()
