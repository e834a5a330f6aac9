"""The supervisor's overdue / due-soon / escalated queues (polled by htmx every minute) and the dashboard."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Connection, select

from mediation_flow import clock
from mediation_flow.models import CaseEvent, Jurisdiction, User
from mediation_flow.policy import Actor
from mediation_flow.queries import CaseFilters, filtered_cases, list_cases
from mediation_flow.reference import load_reference
from mediation_flow.vocabulary import LEVEL_LABELS, Role
from web.deps import EngineDep
from web.pages.common import RISK_ORDER, PageActor, is_fragment, render, require, today
from web.pages.dashboard_data import dashboard
from web.pages.listing import decorate

router = APIRouter()
EVENTS, JUR, USERS = CaseEvent.__table__, Jurisdiction.__table__, User.__table__
SORTS = {"risk": "风险等级（红色优先）", "due": "到期日", "registered": "登记时间"}
Q = Annotated[str, Query(max_length=32)]


def _sorted(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    if sort == "registered":
        return sorted(items, key=lambda i: i["registered_at"], reverse=True)
    if sort == "due":
        return sorted(items, key=lambda i: (i["due_date"] or date.max, RISK_ORDER.get(i["risk_grade"], 9)))
    return sorted(items, key=lambda i: (RISK_ORDER.get(i["risk_grade"], 9), i["due_date"] or date.max))


def _escalated(conn: Connection, actor: Actor, filters: CaseFilters, day: date) -> list[dict[str, Any]]:
    escalated_ids = select(EVENTS.c.case_id).where(EVENTS.c.trigger == "escalate")
    query = filtered_cases(conn, actor, replace(filters, open_only=True), today=day)
    rows = conn.execute(query.where(query.selected_columns.id.in_(escalated_ids)).limit(200)).mappings()
    return [dict(r) for r in rows]


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
        "levels": {level.value: label for level, label in LEVEL_LABELS.items()},
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
        overdue_rows, _ = list_cases(conn, actor, replace(filters, overdue=True), today=day, page_size=200)
        later_rows, _ = list_cases(conn, actor, replace(filters, overdue=False), today=day, page_size=200)
        overdue = decorate(conn, overdue_rows, day)
        soon = [
            i for i in decorate(conn, [r for r in later_rows if r["due_date"]], day) if i["due_status"] == "due_soon"
        ]
        escalated = decorate(conn, _escalated(conn, actor, filters, day), day)
        options = _filter_options(conn, actor)
    selected = {"village": village, "mediator": mediator, "level": level, "source": source, "risk": risk, "sort": sort}
    context = {
        "title": "督办队列",
        "overdue": _sorted(overdue, sort),
        "soon": _sorted(soon, sort),
        "escalated": _sorted(escalated, sort),
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
        data = dashboard(conn, actor, year=year, day=today())
    template = "partials/dashboard_body.html" if is_fragment(request) else "dashboard.html"
    return render(request, template, {"title": "统计", **data})
