"""The supervisor's overdue / due-soon / escalated queues (polled by htmx every minute) and the dashboard."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, func, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.queries import CaseFilters, filtered_cases
from mediation_flow.cases.queues import QueueFilters, QueueKind, queue_ids
from mediation_flow.errors import InvalidData
from mediation_flow.places.reference import load_reference
from mediation_flow.stats.dashboard import dashboard
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.models import Case, CaseEvent, Jurisdiction, User
from mediation_flow.vocabulary import Level, Role
from web.deps import EngineDep
from web.pages.common import RISK_ORDER, PageActor, is_fragment, render, require, today
from web.pages.listing import decorate

router = APIRouter()
CASES, EVENTS, JUR, USERS = Case.__table__, CaseEvent.__table__, Jurisdiction.__table__, User.__table__
PAGE_ROWS = 50  # per section: the page shows the first rows and each section's total
# What the queue tables and their sort need of a case (not its clocks, summary or attributes).
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
    )
]
SORTS = {"risk": "风险等级（红色优先）", "due": "到期日", "registered": "登记时间"}
Q = Annotated[str, Query(max_length=32)]


def _sorted(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    if sort == "registered":
        return sorted(items, key=lambda i: i["registered_at"], reverse=True)
    if sort == "due":
        return sorted(items, key=lambda i: (i["due_date"] or date.max, RISK_ORDER.get(i["risk_grade"], 9)))
    return sorted(items, key=lambda i: (RISK_ORDER.get(i["risk_grade"], 9), i["due_date"] or date.max))


def _rows(items: list[dict[str, Any]]) -> list[SimpleNamespace]:
    """Rows as objects: the templates' ``c.title`` is then a plain attribute, not a failed getattr and a
    second lookup in Jinja (a third of the page's rendering time)."""
    return [SimpleNamespace(**item) for item in items]


def _queue_rows(
    conn: Connection, actor: Actor, kind: QueueKind, filters: CaseFilters, day: date
) -> tuple[list[dict[str, Any]], int]:
    """The first rows of the overdue or due-soon queue (mediation_flow.cases.queues: red first, then due date) with
    the columns the tables show, and the queue's total. A filter naming nothing (unknown village or grade)
    finds nothing."""
    wanted = QueueFilters(
        village=filters.village,
        mediator_id=filters.mediator_id,
        level=filters.level,
        source=filters.source,
        risk_grade=filters.risk_grade,
    )
    days = get_settings().due_soon_working_days
    try:
        ids, total, _ = queue_ids(conn, actor, kind, today=day, filters=wanted, page_size=PAGE_ROWS, due_soon_days=days)
    except InvalidData:
        return [], 0
    rows = {r["id"]: dict(r) for r in conn.execute(select(*ROW_COLUMNS).where(CASES.c.id.in_(ids))).mappings()}
    return [rows[i] for i in ids if i in rows], total


def _escalated(conn: Connection, actor: Actor, filters: CaseFilters, day: date) -> tuple[list[dict[str, Any]], int]:
    escalated_ids = select(EVENTS.c.case_id).where(EVENTS.c.trigger == "escalate")
    query = filtered_cases(conn, actor, replace(filters, open_only=True), today=day)
    query = query.where(query.selected_columns.id.in_(escalated_ids))
    total = conn.execute(select(func.count()).select_from(CASES).where(query.whereclause)).scalar_one()
    newest = query.with_only_columns(*ROW_COLUMNS).order_by(CASES.c.registered_at.desc(), CASES.c.id.desc())
    newest = newest.limit(PAGE_ROWS)
    return [dict(r) for r in conn.execute(newest).mappings()], int(total)


def _filter_options(conn: Connection, actor: Actor) -> dict[str, Any]:
    reference = load_reference(conn)
    scope = actor.scope_path or "/"
    villages = conn.execute(
        select(JUR.c.code, JUR.c.name)
        .where(JUR.c.level == "village", JUR.c.path.like(f"{scope}%"))
        .order_by(JUR.c.path)
    ).all()
    mediators = conn.execute(
        select(USERS.c.id, USERS.c.display_name, JUR.c.path)
        .select_from(USERS.outerjoin(JUR, USERS.c.jurisdiction_id == JUR.c.id))
        .where(USERS.c.role == "mediator", USERS.c.is_active.is_(True))
        .order_by(USERS.c.id)
    ).all()
    return {
        "villages": {code: name for code, name in villages},
        "mediators": {
            str(m.id): m.display_name
            for m in mediators
            if m.path and (m.path.startswith(scope) or scope.startswith(m.path))
        },
        "levels": {level.value: level.label for level in Level},
        "sources": reference.get("source", {}),
        "risks": reference.get("risk_grade", {}),
        "sorts": SORTS,
    }


@router.get("/queue", include_in_schema=False)
def queue(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    village: Q = "",
    mediator: Q = "",
    level: Q = "",
    source: Q = "",
    risk: Q = "",
    sort: Q = "risk",
) -> Response:
    require(actor, Role.SUPERVISOR, Role.ADMIN)
    day = today()
    filters = CaseFilters(
        village=village or None,
        mediator_id=int(mediator) if mediator.isdigit() else None,
        level=level or None,
        source=source or None,
        risk_grade=risk or None,
        open_only=True,
    )
    with engine.connect() as conn:
        overdue_rows, overdue_total = _queue_rows(conn, actor, "overdue", filters, day)
        soon_rows, soon_total = _queue_rows(conn, actor, "due_soon", filters, day)
        escalated_rows, escalated_total = _escalated(conn, actor, filters, day)
        items = decorate(conn, overdue_rows + soon_rows + escalated_rows, day)  # labels and names read once
        cut = (len(overdue_rows), len(overdue_rows) + len(soon_rows))
        overdue, soon, escalated = items[: cut[0]], items[cut[0] : cut[1]], items[cut[1] :]
        options = _filter_options(conn, actor)
    selected = {"village": village, "mediator": mediator, "level": level, "source": source, "risk": risk, "sort": sort}
    context = {
        "title": "督办队列",
        "overdue": _rows(_sorted(overdue, sort)),
        "soon": _rows(_sorted(soon, sort)),
        "escalated": _rows(_sorted(escalated, sort)),
        "totals": {"overdue": overdue_total, "soon": soon_total, "escalated": escalated_total},
        "page_rows": PAGE_ROWS,
        "options": options,
        "selected": selected,
        "query": str(request.url.query),
        "refreshed": clock.utcnow(),
    }
    template = "partials/queue_body.html" if is_fragment(request) else "queue.html"
    return render(request, template, context)


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    require(actor, Role.SUPERVISOR, Role.ADMIN)
    with engine.connect() as conn:
        board = dashboard(conn, actor, today=today(), year=year)
    template = "partials/dashboard_body.html" if is_fragment(request) else "dashboard.html"
    return render(request, template, {"title": "统计", "board": board})
