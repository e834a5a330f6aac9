"""A large database built fast with bulk inserts, holding the rows the engine would have written.

Every case gets the events of its path through the base workflow (with the data ``happy_path()`` gives),
its clocks folded by ``advance_clocks`` over those same events, its parties, and the case counters,
so the pages, queues and ``mediation-flow check`` see what real use would have left behind. Open cases
are recent (the last ~60 days), closed ones spread over two years: a realistic share is overdue.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from factories import HAPPY_TRIGGERS, Town, happy_path
from sqlalchemy import Engine, func, insert, select

from mediation_flow.store import clock
from mediation_flow.store.models import Case, CaseCounter, CaseEvent, Party
from mediation_flow.workflow.deadlines import advance_clocks, earliest_due
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow
from mediation_flow.workflow.schema import CREATION_TRIGGER

CASES, EVENTS, PARTIES, COUNTERS = Case.__table__, CaseEvent.__table__, Party.__table__, CaseCounter.__table__
CATEGORIES = ["neighbourhood", "marriage_family", "housing_homestead", "contract", "damages", "labour", "other"]
SOURCES = ["initiative", "application", "police", "court", "petition", "department"]
GRADES = ["blue"] * 6 + ["yellow"] * 3 + ["orange", "red"]
DATA = dict(happy_path())  # bulk rows, not validated: the dates only fill the events' data
DATA["reject"] = {"reason": "已由人民法院受理"}
PATHS: dict[str, list[str]] = {
    "resolved": list(HAPPY_TRIGGERS),
    "rejected": ["reject"],
    "registered": [],
    "accepted": ["accept"],
    "mediating": ["accept", "start_mediation", "record_session"],
}
# Share of each path, in tenths of a percent; open cases are the recent ones.
MIX = {"resolved": 560, "rejected": 60, "registered": 60, "accepted": 70, "mediating": 250}
OPEN = {"registered", "accepted", "mediating"}
BATCH = 2_000


@dataclass(frozen=True)
class Built:
    cases: int
    events: int
    mediating: list[int]  # ids of cases in 'mediating' (record_session may be fired on them again and again)


def _fold(
    workflow: CompiledWorkflow, triggers: list[str], on: date
) -> tuple[list[tuple[str, str, str]], dict[str, Any]]:
    """(trigger, from, to) of each event after registration, and the clocks they leave."""
    state = workflow.spec.initial
    clocks = advance_clocks(workflow.spec, {}, trigger=CREATION_TRIGGER, to_state=state, on=on, data={})
    steps: list[tuple[str, str, str]] = []
    for trigger in triggers:
        spec = workflow.transitions_from(state, trigger)[0]
        dest = spec.dest or state
        clocks = advance_clocks(workflow.spec, clocks, trigger=trigger, to_state=dest, on=on, data=DATA[trigger])
        steps.append((trigger, state, dest))
        state = dest
    return steps, clocks


def build(
    engine: Engine,
    town: Town,
    n_cases: int,
    *,
    seed: int = 7,
    today: date | None = None,
    mix: dict[str, int] | None = None,
) -> Built:
    """Insert ``n_cases`` cases (ids after any existing ones) with their parties and events; ``mix`` gives
    the relative share of each path in ``PATHS`` (default ``MIX``)."""
    rng = random.Random(seed)
    today = today or clock.local_date(clock.utcnow())
    with engine.connect() as conn:
        workflow = REGISTRY.current(conn, "people_mediation")
        first_id = int(conn.execute(select(func.coalesce(func.max(CASES.c.id), 0))).scalar_one()) + 1
        counters = {(r.township_id, r.year): r.last for r in conn.execute(select(COUNTERS))}
    township = town.places.township
    places = town.places.grids + town.places.villages
    mediator = town["mediator"]
    paths = [name for name, share in (mix or MIX).items() for _ in range(share)]
    folds: dict[tuple[str, date], tuple[list[tuple[str, str, str]], dict[str, Any]]] = {}
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []
    mediating: list[int] = []
    n_events = 0
    with engine.begin() as conn:
        for case_id in range(first_id, first_id + n_cases):
            path = rng.choice(paths)
            back = rng.randrange(60) if path in OPEN else rng.randrange(60, 730)
            day = today - timedelta(days=back)
            key = (path, day)
            if key not in folds:
                folds[key] = _fold(workflow, PATHS[path], day)
            steps, clocks = folds[key]
            moment = datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC)
            seq = counters[(township.id, day.year)] = counters.get((township.id, day.year), 0) + 1
            place = rng.choice(places)
            state = steps[-1][2] if steps else workflow.spec.initial
            venue = DATA["start_mediation"]["venue"] if "start_mediation" in PATHS[path] else None
            cases.append(
                {
                    "id": case_id, "number": f"（{day.year}）青龙人调字第{seq:03d}号", "township_id": township.id,
                    "year": day.year, "seq": seq, "title": f"相邻通行纠纷{case_id}",
                    "category": rng.choice(CATEGORIES), "source": rng.choice(SOURCES),
                    "risk_grade": rng.choice(GRADES), "jurisdiction_id": place.id, "jurisdiction_path": place.path,
                    "level": place.level, "venue": venue, "summary": "两户因院坝通道宽度发生争执。",
                    "amount_fen": 120000, "people_involved": 2, "mediator_id": mediator.id,
                    "created_by": mediator.id, "workflow_name": workflow.name,
                    "workflow_version": workflow.version, "state": state, "version": 1 + len(steps),
                    "clocks": clocks, "due_date": earliest_due(clocks), "attributes": {},
                    "registered_at": moment, "created_at": moment, "updated_at": moment,
                }
            )  # fmt: skip
            parties.append({"case_id": case_id, "role": "applicant", "kind": "person", "name": "张三",
                            "phone": "13812345678"})  # fmt: skip
            parties.append({"case_id": case_id, "role": "respondent", "kind": "person", "name": "李四"})
            register = {"source": cases[-1]["source"], "risk_grade": cases[-1]["risk_grade"], "level": place.level}
            rows = [(CREATION_TRIGGER, None, workflow.spec.initial, register)]
            rows += [(t, a, b, DATA[t]) for t, a, b in steps]
            for index, (trigger, from_state, to_state, data) in enumerate(rows, start=1):
                events.append(
                    {
                        "case_id": case_id, "seq": index, "trigger": trigger, "from_state": from_state,
                        "to_state": to_state, "actor_id": mediator.id, "effective_at": moment,
                        "recorded_at": moment, "note": "", "data": data,
                    }
                )  # fmt: skip
            n_events += len(rows)
            if state == "mediating":
                mediating.append(case_id)
            if len(cases) >= BATCH:
                _flush(conn, cases, parties, events)
        _flush(conn, cases, parties, events)
        for (township_id, year), last in counters.items():
            updated = conn.execute(
                COUNTERS.update()
                .where(COUNTERS.c.township_id == township_id, COUNTERS.c.year == year)
                .values(last=last)
            )
            if updated.rowcount == 0:
                conn.execute(insert(COUNTERS).values(township_id=township_id, year=year, last=last))
    return Built(n_cases, n_events, mediating)


def _flush(conn: Any, cases: list[dict[str, Any]], parties: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    if cases:
        conn.execute(insert(CASES), cases)
        conn.execute(insert(PARTIES), [{"id_number": None, "address": None, "phone": None, **p} for p in parties])
        conn.execute(insert(EVENTS), events)
    cases.clear()
    parties.clear()
    events.clear()
