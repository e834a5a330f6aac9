"""The supervisor's overdue / due-soon / escalated queues (polled by htmx every minute), the suspended cases
(a mediator's own, a supervisor's subtree) and the dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mediation_flow.accounts.policy import Permission
from mediation_flow.cases.queries import CaseFilters
from mediation_flow.cases.supervision import supervision_page
from mediation_flow.cases.suspended import suspended_cases
from mediation_flow.stats.dashboard import dashboard_of
from mediation_flow.stats.dashboard_current import current_case_items
from mediation_flow.store import clock
from web.deps import EngineDep
from web.pages.common import PageActor, is_fragment, render, require, today

router = APIRouter()
MAX_LISTED = 500
PAGE_ROWS = 50  # per section: the page shows the first rows and each section's total
Q = Annotated[str, Query(max_length=32)]


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
    filters = CaseFilters(
        village=village or None,
        mediator_id=int(mediator) if mediator.isascii() and mediator.isdigit() and len(mediator) <= 9 else None,
        level=level or None,
        source=source or None,
        risk_grade=risk or None,
        open_only=True,
    )
    page = supervision_page(engine, actor, filters, sort=sort, rows=PAGE_ROWS)
    selected = {"village": village, "mediator": mediator, "level": level, "source": source, "risk": risk, "sort": sort}
    context = {
        "title": "督办队列",
        "overdue": page.overdue.items,
        "soon": page.soon.items,
        "escalated": page.escalated.items,
        "totals": {"overdue": page.overdue.total, "soon": page.soon.total, "escalated": page.escalated.total},
        "page_rows": PAGE_ROWS,
        "options": page.options,
        "selected": selected,
        "query": str(request.url.query),
        "refreshed": clock.utcnow(),
    }
    template = "partials/queue_body.html" if is_fragment(request) else "queue.html"
    return render(request, template, context)


@router.get("/suspended", include_in_schema=False)
def suspended(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    """查看中止案件: longest waiting first, with the expected resume date and a warning once it has passed."""
    found = suspended_cases(engine, actor, today=today())
    return render(request, "suspended.html", {"title": "中止案件", "found": found})


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    require(actor, Permission.READ_REPORTS)
    board = dashboard_of(engine, actor, today=today(), year=year)
    template = "partials/dashboard_body.html" if is_fragment(request) else "dashboard.html"
    return render(request, template, {"title": "统计", "board": board})


@router.get("/dashboard/cases", include_in_schema=False)
def dashboard_cases(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    jurisdiction: Annotated[str, Query(max_length=32)],
    figure: Annotated[str, Query(max_length=20)],
    key: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The cases behind a 当前 number of the dashboard or the county view (open, overdue, by state, …)."""
    require(actor, Permission.READ_REPORTS)
    found = current_case_items(
        engine, actor, code=jurisdiction, figure=figure, key=key, today=today(), limit=MAX_LISTED
    )
    context = {
        "title": found.title,
        "items": found.items,
        "total": found.total,
        "shown": len(found.items),
        "today": today(),
        "back": "/county" if request.query_params.get("from") == "county" else "/dashboard",
    }
    return render(request, "dashboard_cases.html", context)
