"""Races: processes and threads fire conflicting transitions and intakes at once, on both back ends.
Exactly one of each conflicting set wins, the rest get StaleVersion; no event is lost or duplicated;
case numbers stay gap-free and unique."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from factories import intake, register
from sqlalchemy import func, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.checks import check_all
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.errors import StaleVersion
from mediation_flow.store.db import make_engine
from mediation_flow.store.models import Case, CaseEvent

CASES, EVENTS = Case.__table__, CaseEvent.__table__
PROCESSES, THREADS, CASE_COUNT, INTAKES_PER_THREAD = 3, 3, 12, 3


def _worker(url: str, mediator: Actor, grid_worker: Actor, case_ids: list[int]) -> list[tuple[str, int, str]]:
    """One process: THREADS threads each try to accept every case (expected version 1) and register cases."""
    engine = make_engine(url)
    outcomes: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def run() -> None:
        barrier.wait()
        for case_id in case_ids:
            try:
                apply_trigger(
                    engine,
                    case_id=case_id,
                    actor=mediator,
                    trigger="accept",
                    expected_version=1,
                    data={"rights_notified": True},
                )
                result = "won"
            except StaleVersion:
                result = "stale"
            with lock:
                outcomes.append(("accept", case_id, result))
        for _ in range(INTAKES_PER_THREAD):
            new_id = register_case(engine, actor=grid_worker, intake=intake(title="并发登记"))
            with lock:
                outcomes.append(("register", new_id, "won"))

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    return outcomes


def test_conflicting_transitions_and_intakes(engine, town, db_url):
    case_ids = [register(engine, town) for _ in range(CASE_COUNT)]
    context = multiprocessing.get_context("spawn")  # not fork: a child can inherit a lock held by another thread
    with ProcessPoolExecutor(max_workers=PROCESSES, mp_context=context) as pool:
        futures = [
            pool.submit(_worker, db_url, town["mediator"], town["grid_worker"], case_ids) for _ in range(PROCESSES)
        ]
        outcomes = [o for f in futures for o in f.result(timeout=300)]

    accepts = [(case_id, result) for kind, case_id, result in outcomes if kind == "accept"]
    assert len(accepts) == CASE_COUNT * PROCESSES * THREADS
    winners = Counter(case_id for case_id, result in accepts if result == "won")
    assert winners == Counter({case_id: 1 for case_id in case_ids}), "exactly one accept wins per case"

    with engine.connect() as conn:
        per_case = dict(conn.execute(select(EVENTS.c.case_id, func.count()).group_by(EVENTS.c.case_id)).all())
        rows = conn.execute(select(CASES.c.id, CASES.c.state, CASES.c.version, CASES.c.seq, CASES.c.number)).all()
    for case_id in case_ids:
        assert per_case[case_id] == 2, "register + exactly one accept"
    registered = [case_id for kind, case_id, _ in outcomes if kind == "register"]
    assert len(registered) == PROCESSES * THREADS * INTAKES_PER_THREAD
    assert all(per_case[case_id] == 1 for case_id in registered)
    seqs = sorted(r.seq for r in rows)
    assert seqs == list(range(1, len(rows) + 1)), "case numbers are gap-free"
    assert len({r.number for r in rows}) == len(rows), "case numbers are unique"
    assert {r.state for r in rows if r.id in case_ids} == {"accepted"}
    assert check_all(engine) == (len(rows), [])
