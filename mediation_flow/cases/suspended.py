"""查看中止案件: the suspended cases a user watches — a supervisor's subtree, a mediator's own — longest waiting
first, each with why it was suspended, since when, how long it has waited, the expected resume date asked for
when suspending, and a warning once that date has passed (a case waiting months for an appraisal must not
stall unseen). Judged from ``today``; nothing here is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, select

from mediation_flow.accounts.policy import Actor, Permission, own_cases_only, require
from mediation_flow.cases.lists import CaseItem, case_items
from mediation_flow.cases.queries import scope_clause
from mediation_flow.store import clock
from mediation_flow.store.fast import dict_rows
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import CASES, EVENTS
from mediation_flow.workflow.deadlines import ClockView, clock_views
from mediation_flow.workflow.registry import REGISTRY

SUSPENDED = "suspended"  # the state every workflow (people_mediation and its referral paths) pauses in
MAX_ROWS = 200


@dataclass
class SuspendedCase:
    item: CaseItem
    since: date  # the suspension's effective date
    waited: int  # calendar days since then
    reason: str
    expected_resume: date | None
    past_resume: int  # days since the expected resume date (0: not passed, or none given)
    clocks: list[ClockView]  # the paused clocks: days used and left, the due date if resumed today


@dataclass
class SuspendedList:
    today: date
    items: list[SuspendedCase]
    total: int
    past_resume: int  # how many have passed their expected resume date


def _rows(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    where = [scope_clause(actor), CASES.c.state == SUSPENDED]
    if own_cases_only(actor):
        where.append(CASES.c.mediator_id == actor.id)
    return dict_rows(conn.execute(select(CASES).where(*where).order_by(CASES.c.id)))


def _suspensions(conn: Connection, ids: list[int]) -> dict[int, tuple[date, dict[str, Any]]]:
    """Each case's latest suspension: its local effective date and data."""
    found: dict[int, tuple[date, dict[str, Any]]] = {}
    query = (
        select(EVENTS.c.case_id, EVENTS.c.effective_at, EVENTS.c.data)
        .where(EVENTS.c.case_id.in_(ids), EVENTS.c.trigger == "suspend")
        .order_by(EVENTS.c.case_id, EVENTS.c.seq)
    )
    for r in conn.execute(query):
        found[r.case_id] = (clock.local_date(clock.ensure_aware(r.effective_at)), dict(r.data or {}))
    return found


def suspended_cases(engine: Engine, actor: Actor, *, today: date | None = None) -> SuspendedList:
    """The suspended cases ``actor`` watches, longest waiting first (PermissionDenied for other roles)."""
    require(actor, Permission.SUSPENDED_QUEUE)
    today = today or clock.local_date(clock.utcnow())
    with reads(engine) as conn:
        rows = _rows(conn, actor)
        suspensions = _suspensions(conn, [r["id"] for r in rows])
        items = case_items(conn, rows, today)
        found = []
        for row, item in zip(rows, items, strict=True):
            since, data = suspensions.get(row["id"], (today, {}))
            expected = date.fromisoformat(data["expected_resume"]) if data.get("expected_resume") else None
            spec = REGISTRY.get(conn, row["workflow_name"], row["workflow_version"]).spec
            paused = [c for c in clock_views(spec, row["clocks"] or {}, today=today) if c.status == "paused"]
            found.append(
                SuspendedCase(
                    item=item,
                    since=since,
                    waited=max((today - since).days, 0),
                    reason=str(data.get("reason", "")),
                    expected_resume=expected,
                    past_resume=max((today - expected).days, 0) if expected else 0,
                    clocks=paused,
                )
            )
    found.sort(key=lambda s: (s.since, s.item.id))
    return SuspendedList(today, found[:MAX_ROWS], len(found), sum(1 for s in found if s.past_resume))
