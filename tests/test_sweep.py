"""Automatic escalation of overdue cases: the rule, the level history, and races between several sweeping
processes (forked workers released together, and real `mediation-flow sweep` commands) on both back ends."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

from factories import intake
from sqlalchemy import func, select

from mediation_flow.cases.checks import check_all
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.sweep import overdue_cutoff, sweep
from mediation_flow.store.db import make_engine
from mediation_flow.store.models import Case, CaseEvent
from mediation_flow.workflow.workdays import default_calendar

CASES, EVENTS = Case.__table__, CaseEvent.__table__
PROCESSES, RACE_CASES = 4, 30


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=UTC)


def late_case(engine: Any, town: Any, day: str, place: str = "grid", index: int = 0) -> int:
    code = town.places.grids[index % 2].code if place == "grid" else town.places.township.code
    return register_case(engine, actor=town["supervisor"], intake=intake(jurisdiction_code=code), effective_at=at(day))


def levels(engine: Any, case_id: int) -> tuple[str, list[tuple[str, str, Any]]]:
    with engine.connect() as conn:
        level = conn.execute(select(CASES.c.level).where(CASES.c.id == case_id)).scalar()
        events = conn.execute(
            select(EVENTS.c.data, EVENTS.c.actor_id)
            .where(EVENTS.c.case_id == case_id, EVENTS.c.trigger == "escalate")
            .order_by(EVENTS.c.seq)
        ).all()
    return level, [(e.data["from_level"], e.data["to_level"], e.actor_id) for e in events]


def test_cutoff_counts_working_days_back():
    calendar = default_calendar()
    assert overdue_cutoff(datetime(2024, 2, 8).date(), 3, calendar).isoformat() == "2024-02-05"
    assert overdue_cutoff(datetime(2024, 2, 19).date(), 3, calendar).isoformat() == "2024-02-08"  # 02-09, 02-18, 02-19


def test_escalates_once_per_level_after_n_working_days(engine, town):
    late = late_case(engine, town, "2024-02-01")  # acceptance due Mon 02-05
    later = late_case(engine, town, "2024-02-08")  # due Mon 02-19
    top = late_case(engine, town, "2024-02-01", place="township")
    assert sweep(engine, now=at("2024-02-07"), overdue_working_days=3) == 0  # 02-06, 02-07: only 2
    assert sweep(engine, now=at("2024-02-08"), overdue_working_days=3) == 2  # 02-06 … 02-08
    assert levels(engine, late) == ("village", [("grid", "village", None)])
    assert levels(engine, top) == ("county", [("township", "county", None)])
    assert sweep(engine, now=at("2024-02-08"), overdue_working_days=3) == 0, "never twice for one lateness"
    # The new level gets N working days of its own: 02-09, 02-18 (调休) are only two.
    assert sweep(engine, now=at("2024-02-18"), overdue_working_days=3) == 0
    assert sweep(engine, now=at("2024-02-19"), overdue_working_days=3) == 1
    assert levels(engine, late) == ("township", [("grid", "village", None), ("village", "township", None)])
    assert levels(engine, later)[1] == [] and levels(engine, top)[0] == "county"
    assert check_all(engine)[1] == []


def _race_worker(url: str, barrier: Any) -> int:
    engine = make_engine(url)
    barrier.wait()
    try:
        return sweep(engine, now=at("2024-02-08"), overdue_working_days=3)
    finally:
        engine.dispose()


def _assert_each_escalated_once(engine: Any, case_ids: list[int], total: int) -> None:
    with engine.connect() as conn:
        per_case = Counter(
            dict(
                conn.execute(
                    select(EVENTS.c.case_id, func.count())
                    .where(EVENTS.c.trigger == "escalate")
                    .group_by(EVENTS.c.case_id)
                ).all()
            )
        )
    assert per_case == Counter({case_id: 1 for case_id in case_ids})
    assert total == len(case_ids), "the sweeps together report each escalation once"
    assert check_all(engine)[1] == []


def test_racing_sweep_processes_escalate_each_case_exactly_once(engine, town, db_url):
    case_ids = [late_case(engine, town, "2024-02-01", index=i) for i in range(RACE_CASES)]
    # spawn, not fork: forked from a process with threads (the WAL checkpointer, the log listener, xdist's own), a
    # child can inherit a lock held at the fork and wait on it for ever (seen in CI: the pool's call queue).
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        with ProcessPoolExecutor(max_workers=PROCESSES, mp_context=context) as pool:
            futures = [pool.submit(_race_worker, db_url, barrier) for _ in range(PROCESSES)]
            counts = [f.result(timeout=300) for f in futures]
    _assert_each_escalated_once(engine, case_ids, sum(counts))


def test_racing_sweep_commands(engine, town, db_url, tmp_path):
    case_ids = [late_case(engine, town, "2024-02-01", index=i) for i in range(RACE_CASES)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_FLOW_")}
    env.update(MEDIATION_FLOW_DATABASE_URL=db_url, MEDIATION_FLOW_DATA_DIR=str(tmp_path / "var"))
    command = [sys.executable, "-m", "mediation_flow.cli", "sweep", "--now", "2024-02-08T10:00:00+08:00"]
    procs = [
        subprocess.Popen(
            [*command, "--overdue-days", "3"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(PROCESSES)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    counts = [int(out.split("已自动提级 ")[1].split(" 件")[0]) for out, _ in outputs]
    _assert_each_escalated_once(engine, case_ids, sum(counts))
    bad = subprocess.run([*command[:-2], "--now", "tomorrow"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "ISO" in bad.stderr


def test_a_case_that_fails_is_logged_and_skipped_and_the_run_goes_on(engine, town, caplog):
    broken = late_case(engine, town, "2024-02-01", index=0)
    fine = late_case(engine, town, "2024-02-01", index=1)
    with engine.begin() as conn:  # a level no workflow knows: its escalate guard raises ValueError
        conn.execute(CASES.update().where(CASES.c.id == broken).values(level="nowhere"))
    with caplog.at_level("INFO", logger="mediation_flow.cases.sweep"):
        assert sweep(engine, now=at("2024-02-08"), overdue_working_days=3) == 1
    assert levels(engine, broken) == ("nowhere", [])
    assert levels(engine, fine)[0] == "village"
    failed = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in failed] == [f"case {broken} not escalated: unexpected failure, skipped"]
    assert failed[0].exc_info is not None and failed[0].exc_info[0] is ValueError
