"""Integrity check: every case's stored state, version and clocks equal the replay of its events (with the
corrections of a step's time applied: the clocks follow the corrected times)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, select

from mediation_flow.cases.corrections import as_recorded
from mediation_flow.cases.engine import replay
from mediation_flow.store import clock
from mediation_flow.store.tables import CASES, EVENTS
from mediation_flow.workflow.deadlines import advance_clocks
from mediation_flow.workflow.registry import REGISTRY, WorkflowRegistry

BATCH = 2000


@dataclass(frozen=True)
class Mismatch:
    case_id: int
    number: str
    problem: str


def _events_by_case(conn: Any, first_id: int, last_id: int) -> Iterator[tuple[int, list[Any]]]:
    rows = conn.execute(
        select(EVENTS).where(EVENTS.c.case_id.between(first_id, last_id)).order_by(EVENTS.c.case_id, EVENTS.c.seq)
    )
    for case_id, events in groupby(rows, key=lambda e: e.case_id):
        yield case_id, [dict(e._mapping) for e in events]


def check_all(engine: Engine, registry: WorkflowRegistry = REGISTRY) -> tuple[int, list[Mismatch]]:
    """Check every case, in batches (memory stays flat). Returns (cases checked, mismatches)."""
    checked, problems = 0, []
    last_id = 0
    with engine.connect() as conn:
        while True:
            cases = list(
                conn.execute(select(CASES).where(CASES.c.id > last_id).order_by(CASES.c.id).limit(BATCH)).mappings()
            )
            if not cases:
                break
            events = dict(_events_by_case(conn, cases[0]["id"], cases[-1]["id"]))
            for case in cases:
                checked += 1
                problems.extend(_check_case(conn, registry, case, events.get(case["id"], [])))
            last_id = cases[-1]["id"]
    return checked, problems


def _check_case(conn: Any, registry: WorkflowRegistry, case: Any, events: list[Any]) -> list[Mismatch]:
    found: list[Mismatch] = []
    workflow = registry.get(conn, case["workflow_name"], case["workflow_version"])
    events = [SimpleNamespace(**e) for e in as_recorded(case, events)[1]]
    result = replay(workflow, events)
    for problem in result.problems:
        found.append(Mismatch(case["id"], case["number"], problem))
    if result.state != case["state"]:
        found.append(Mismatch(case["id"], case["number"], f"state {case['state']} but events say {result.state}"))
    if result.version != case["version"]:
        found.append(Mismatch(case["id"], case["number"], f"version {case['version']} but {result.version} events"))
    clocks: dict[str, Any] = {}
    for event in events:
        clocks = advance_clocks(
            workflow.spec,
            clocks,
            trigger=event.trigger,
            to_state=event.to_state,
            on=clock.local_date(clock.ensure_aware(event.effective_at)),
            data=dict(event.data or {}),
            attributes=case["attributes"],
        )
    if clocks != (case["clocks"] or {}):
        found.append(Mismatch(case["id"], case["number"], "stored clocks differ from the events' clocks"))
    return found
