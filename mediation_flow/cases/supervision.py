"""督办队列 as the supervisor's page shows it: the first rows of the overdue, due-soon and escalated
sections with each section's total, and the options of its filters — all within the user's subtree."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.cases.lists import CaseItem, case_items
from mediation_flow.cases.queries import CaseFilters, filtered_cases
from mediation_flow.cases.queues import QueueFilters, QueueKind, queue_ids
from mediation_flow.errors import InvalidData
from mediation_flow.places.jurisdictions import villages_within
from mediation_flow.places.reference import load_reference
from mediation_flow.places.subtree import related
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.tables import CASES, EVENTS, USERS
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.vocabulary import Level, Role

RISK_ORDER = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
SORTS = {"risk": "风险等级（红色优先）", "due": "到期日", "registered": "登记时间"}
# What the queue tables and their sort need of a case (not its summary or attributes).
ROW_COLUMNS = [
    CASES.c[name]
    for name in (
        "id",
        "number",
        "title",
        "state",
        "workflow_name",
        "workflow_version",
        "risk_grade",
        "category",
        "source",
        "level",
        "due_date",
        "mediator_id",
        "jurisdiction_path",
        "registered_at",
        "clocks",  # the unit of the nearest deadline: its days are counted as the case page counts them
    )
]


@dataclass
class Section:
    items: list[CaseItem]
    total: int


@dataclass
class SupervisionPage:
    overdue: Section
    soon: Section
    escalated: Section
    options: dict[str, Any]


def sorted_items(items: list[CaseItem], sort: str) -> list[CaseItem]:
    """A section's rows in the order the user picked: risk (red first), due date, or newest registered."""
    if sort == "registered":
        return sorted(items, key=lambda i: i.registered_at, reverse=True)
    if sort == "due":
        return sorted(items, key=lambda i: (i.due_date or date.max, RISK_ORDER.get(i.risk_grade, 9)))
    return sorted(items, key=lambda i: (RISK_ORDER.get(i.risk_grade, 9), i.due_date or date.max))


def _queue_rows(
    conn: Connection, actor: Actor, kind: QueueKind, filters: CaseFilters, day: date, rows: int
) -> tuple[list[dict[str, Any]], int]:
    """The first rows of the overdue or due-soon queue (red first, then due date) and its total. A filter
    naming nothing (unknown village or grade) finds nothing."""
    wanted = QueueFilters(filters.village, filters.mediator_id, filters.level, filters.source, filters.risk_grade)
    days = get_settings().due_soon_working_days
    try:
        ids, total, _ = queue_ids(conn, actor, kind, today=day, filters=wanted, page_size=rows, due_soon_days=days)
    except InvalidData:
        return [], 0
    found = {r["id"]: dict(r) for r in conn.execute(select(*ROW_COLUMNS).where(CASES.c.id.in_(ids))).mappings()}
    return [found[i] for i in ids if i in found], total


def _escalated(
    conn: Connection, actor: Actor, filters: CaseFilters, day: date, rows: int
) -> tuple[list[dict[str, Any]], int]:
    escalated_ids = select(EVENTS.c.case_id).where(EVENTS.c.trigger == "escalate")
    query = filtered_cases(conn, actor, replace(filters, open_only=True), today=day)
    query = query.where(query.selected_columns.id.in_(escalated_ids))
    assert query.whereclause is not None
    total = conn.execute(select(func.count()).select_from(CASES).where(query.whereclause)).scalar_one()
    newest = query.with_only_columns(*ROW_COLUMNS).order_by(CASES.c.registered_at.desc(), CASES.c.id.desc())
    return [dict(r) for r in conn.execute(newest.limit(rows)).mappings()], int(total)


def _filter_options(conn: Connection, actor: Actor) -> dict[str, Any]:
    reference = load_reference(conn)
    scope = actor.scope_path or "/"
    mediators = conn.execute(
        select(USERS.c.id, USERS.c.display_name, JUR.c.path)
        .select_from(USERS.outerjoin(JUR, USERS.c.jurisdiction_id == JUR.c.id))
        .where(USERS.c.role == Role.MEDIATOR.value, USERS.c.is_active.is_(True))
        .order_by(USERS.c.id)
    ).all()
    return {
        "villages": villages_within(conn, actor.scope_path),
        "mediators": {str(m.id): m.display_name for m in mediators if m.path and related(m.path, scope)},
        "levels": {level.value: level.label for level in Level},
        "sources": reference.get("source", {}),
        "risks": reference.get("risk_grade", {}),
        "sorts": SORTS,
    }


def supervision_page(engine: Engine, actor: Actor, filters: CaseFilters, *, sort: str, rows: int) -> SupervisionPage:
    """The three sections (first ``rows`` of each, sorted by ``sort``) and the filters' options."""
    require(actor, Permission.SUPERVISION_QUEUE)
    day = clock.local_date(clock.utcnow())
    with engine.connect() as conn:
        overdue, overdue_total = _queue_rows(conn, actor, "overdue", filters, day, rows)
        soon, soon_total = _queue_rows(conn, actor, "due_soon", filters, day, rows)
        escalated, escalated_total = _escalated(conn, actor, filters, day, rows)
        items = case_items(conn, overdue + soon + escalated, day)  # labels and names read once
        options = _filter_options(conn, actor)
    cut = (len(overdue), len(overdue) + len(soon))
    return SupervisionPage(
        overdue=Section(sorted_items(items[: cut[0]], sort), overdue_total),
        soon=Section(sorted_items(items[cut[0] : cut[1]], sort), soon_total),
        escalated=Section(sorted_items(items[cut[1] :], sort), escalated_total),
        options=options,
    )
