"""The supervisor's overdue / due-soon / escalated queues (polled by htmx every minute), the suspended cases
(a mediator's own, a supervisor's subtree) and the dashboard."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mediation_flow.accounts.policy import Permission
from mediation_flow.cases.queries import CaseFilters
from mediation_flow.cases.supervision import SECTIONS, Section, supervision_page
from mediation_flow.cases.suspended import suspended_cases
from mediation_flow.stats.dashboard import dashboard_of
from mediation_flow.stats.dashboard_current import current_case_items
from mediation_flow.store import clock
from web.deps import EngineDep
from web.pages.common import PageActor, is_fragment, render, require, today
from web.pages.drill_links import back_to_county

router = APIRouter()
MAX_LISTED = 500
PAGE_ROWS = 20  # per section: each section is paged on its own (上一页 / 下一页), its total beside its heading
Q = Annotated[str, Query(max_length=32)]
PAGE_PARAMS = {name: f"{name}_page" for name in SECTIONS}  # ?overdue_page=2: the overdue section's page
BACK_TO_DASHBOARD = ("/dashboard", "返回统计")  # a 当前 list's 返回, unless opened from the county view
PAST_ANY_END = 10**9  # a page number too long to be one: past the end (the last page), or below the first


def _page_number(text: str | None) -> int | None:
    """A section's page number as the address gives it (None: absent or not a number)."""
    if text is None or not re.fullmatch(r"-?[0-9]+", text):
        return None
    if len(text.lstrip("-")) > 9:  # (int() of thousands of digits is refused, and slow before that)
        return -PAST_ANY_END if text.startswith("-") else PAST_ANY_END
    return int(text)


def _pager(request: Request, name: str, section: Section, asked: int | None) -> dict[str, object]:
    """A section's pager: its links keep every other parameter (the filters, the sort, the other sections'
    pages) and change only this section's page; a note when the page asked is not the page shown."""

    def link(number: int) -> str:
        param = PAGE_PARAMS[name]
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != param]
        query = urlencode([*kept, (param, str(number))] if number > 1 else kept)
        return f"/queue?{query}#queue-{name}" if query else f"/queue#queue-{name}"

    note = None
    if PAGE_PARAMS[name] in request.query_params and asked != section.page:
        past_end = asked is not None and asked > section.page
        note = "没有这一页，显示的是最后一页。" if past_end else "页码无效，显示的是第一页。"
    return {
        "previous": link(section.page - 1) if section.page > 1 else None,
        "next": link(section.page + 1) if section.page < section.pages else None,
        "note": note,
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
    filters = CaseFilters(
        village=village or None,
        mediator_id=int(mediator) if mediator.isascii() and mediator.isdigit() and len(mediator) <= 9 else None,
        level=level or None,
        source=source or None,
        risk_grade=risk or None,
        open_only=True,
    )
    asked = {name: _page_number(request.query_params.get(param)) for name, param in PAGE_PARAMS.items()}
    pages = {name: number for name, number in asked.items() if number is not None}
    page = supervision_page(engine, actor, filters, sort=sort, rows=PAGE_ROWS, pages=pages)
    selected = {"village": village, "mediator": mediator, "level": level, "source": source, "risk": risk, "sort": sort}
    sections = {"overdue": page.overdue, "soon": page.soon, "escalated": page.escalated}
    context = {
        "title": "督办队列",
        "sections": sections,
        "pagers": {name: _pager(request, name, section, asked[name]) for name, section in sections.items()},
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
        "meaning": found.meaning,
        "items": found.items,
        "total": found.total,
        "shown": len(found.items),
        "today": today(),
        "back": back_to_county(request.query_params, actor) or BACK_TO_DASHBOARD,
    }
    return render(request, "dashboard_cases.html", context)
