"""督办队列 as the supervisor's page shows it: one page of each of the overdue, due-soon and escalated
sections (each section paged on its own) with each section's total, and the options of its filters — all within
the user's subtree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.cases.lists import CaseItem, case_items
from mediation_flow.cases.offers import step_from
from mediation_flow.cases.queries import CaseFilters, filtered_cases
from mediation_flow.cases.queues import RED_FIRST, QueueFilters, QueueKind, QueueOrder, page_count, queue_ids
from mediation_flow.errors import InvalidData
from mediation_flow.places.jurisdictions import villages_within
from mediation_flow.places.reference import load_reference
from mediation_flow.places.subtree import related
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import CASES, EVENTS, USERS
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.unchanged import KeptWhileUnchanged
from mediation_flow.vocabulary import Level, Role
from mediation_flow.workflow.registry import REGISTRY

SORTS = {"risk": "风险等级（红色优先）", "due": "到期日", "registered": "登记时间"}
ROW_STEPS = {"assign": "指派", "escalate": "提级"}  # each row's shortcuts to a step, by their short names
SECTIONS = ("overdue", "soon", "escalated")  # the page's sections, each paged on its own
# Each sort as the queues page it: 红色优先 is the queue's own order (red first, then due date).
QUEUE_ORDERS: dict[str, QueueOrder] = {"risk": "queue", "due": "due", "registered": "registered"}
_NO_DUE_LAST = CASES.c.due_date.is_(None)  # NULL sorts first on SQLite, last on PostgreSQL: said here for both
ESCALATED_ORDERS = {
    "queue": (RED_FIRST, _NO_DUE_LAST, CASES.c.due_date, CASES.c.id),
    "due": (_NO_DUE_LAST, CASES.c.due_date, CASES.c.id),
    "registered": (CASES.c.registered_at.desc(), CASES.c.id.desc()),
}
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
    page: int = 1  # the page shown: the one asked for, brought within 1 … pages
    pages: int = 1


@dataclass
class SupervisionPage:
    overdue: Section
    soon: Section
    escalated: Section
    options: dict[str, Any]


def within(page: int, total: int, rows: int) -> int:
    """The page shown for the page asked: below 1 the first, past the end the last."""
    return min(max(1, page), page_count(total, rows))


def _queue_rows(
    conn: Connection,
    actor: Actor,
    kind: QueueKind,
    filters: CaseFilters,
    day: date,
    rows: int,
    page: int,
    order: QueueOrder,
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of the overdue or due-soon queue in ``order``, its total and the page shown (past the end: the
    last). A filter naming nothing (unknown village or grade) finds nothing."""
    wanted = QueueFilters(filters.village, filters.mediator_id, filters.level, filters.source, filters.risk_grade)
    days = get_settings().due_soon_working_days
    try:
        ids, total, _ = queue_ids(
            conn,
            actor,
            kind,
            today=day,
            filters=wanted,
            page=max(1, page),
            page_size=rows,
            due_soon_days=days,
            order=order,
            last_if_past_end=True,
        )
    except InvalidData:
        return [], 0, 1
    found = {r["id"]: dict(r) for r in conn.execute(select(*ROW_COLUMNS).where(CASES.c.id.in_(ids))).mappings()}
    return [found[i] for i in ids if i in found], total, within(page, total, rows)


def _escalated(
    conn: Connection, actor: Actor, filters: CaseFilters, day: date, rows: int, page: int, order: QueueOrder
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of the open cases ever escalated, in ``order``, their total and the page shown."""
    escalated_ids = select(EVENTS.c.case_id).where(EVENTS.c.trigger == "escalate")
    query = filtered_cases(conn, actor, replace(filters, open_only=True), today=day)
    query = query.where(query.selected_columns.id.in_(escalated_ids))
    assert query.whereclause is not None
    total = int(conn.execute(select(func.count()).select_from(CASES).where(query.whereclause)).scalar_one())
    shown = within(page, total, rows)
    ordered = query.with_only_columns(*ROW_COLUMNS).order_by(*ESCALATED_ORDERS[order])
    found = conn.execute(ordered.limit(rows).offset((shown - 1) * rows)).mappings()
    return [dict(r) for r in found], total, shown


def _shortcuts(conn: Connection, actor: Actor, name: str, version: int, state: str) -> tuple[tuple[str, str], ...]:
    """The queue's row actions (指派, 提级) that workflow ``name`` (``version``) offers ``actor`` from ``state``:
    none for a case referred out, closed or otherwise past them."""
    workflow = REGISTRY.get(conn, name, version)
    steps = (step_from(workflow, state, actor, trigger) for trigger in ROW_STEPS)
    return tuple((step.trigger, ROW_STEPS[step.trigger]) for step in steps if step is not None)


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


# Pages kept while nothing is written (store.unchanged): the day and the settings are in the key, the rest is data.
_PAGES: KeptWhileUnchanged[SupervisionPage] = KeptWhileUnchanged(size=256)


def supervision_page(
    engine: Engine,
    actor: Actor,
    filters: CaseFilters,
    *,
    sort: str,
    rows: int,
    pages: Mapping[str, int] | None = None,
    today: date | None = None,
) -> SupervisionPage:
    """The three sections, each one page of ``rows`` (``pages``: the page asked of each section by name, default
    the first; below 1 the first, past the end the last) in the order ``sort`` names over the whole section, and
    the filters' options; as of ``today`` (default: the local date)."""
    require(actor, Permission.SUPERVISION_QUEUE)
    day = today or clock.local_date(clock.utcnow())
    order = QUEUE_ORDERS.get(sort, "queue")
    asked = {name: (pages or {}).get(name, 1) for name in SECTIONS}
    key = (actor, repr(filters), order, rows, tuple(asked.values()), day, get_settings().due_soon_working_days)
    with reads(engine) as conn:
        return _PAGES.get(conn, key, lambda: _page(conn, actor, filters, day, rows, asked, order))


def _page(
    conn: Connection,
    actor: Actor,
    filters: CaseFilters,
    day: date,
    rows: int,
    asked: Mapping[str, int],
    order: QueueOrder,
) -> SupervisionPage:
    overdue = _queue_rows(conn, actor, "overdue", filters, day, rows, asked["overdue"], order)
    soon = _queue_rows(conn, actor, "due_soon", filters, day, rows, asked["soon"], order)
    escalated = _escalated(conn, actor, filters, day, rows, asked["escalated"], order)
    found = overdue[0] + soon[0] + escalated[0]
    shortcuts = {  # per workflow and state, not per row: most rows share a few
        key: _shortcuts(conn, actor, *key)
        for key in {(r["workflow_name"], r["workflow_version"], r["state"]) for r in found}
    }
    items = [
        replace(item, shortcuts=shortcuts[(row["workflow_name"], row["workflow_version"], row["state"])])
        for item, row in zip(case_items(conn, found, day), found, strict=True)  # labels and names read once
    ]
    options = _filter_options(conn, actor)
    sections, start = [], 0
    for found, total, shown in (overdue, soon, escalated):
        sections.append(Section(items[start : start + len(found)], total, shown, page_count(total, rows)))
        start += len(found)
    return SupervisionPage(overdue=sections[0], soon=sections[1], escalated=sections[2], options=options)
