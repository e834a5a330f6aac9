"""我的网格, 我的案件 and the case search: lists of the cases a user may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mediation_flow.cases.queries import CaseFilters, list_cases
from mediation_flow.vocabulary import Role
from mediation_flow.workflow.registry import REGISTRY
from web.deps import EngineDep
from web.pages.common import PageActor, is_fragment, render, require, today
from web.pages.listing import decorate

router = APIRouter()


@router.get("/grid", include_in_schema=False)
def my_grid(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    """The grid worker's home: register a dispute, and the grid's cases with their states."""
    day = today()
    with engine.connect() as conn:
        rows, total = list_cases(conn, actor, CaseFilters(), today=day, page_size=100)
        items = decorate(conn, rows, day)
    open_items = [i for i in items if i["state"] not in REGISTRY.final_states()]
    done = [i for i in items if i["state"] in REGISTRY.final_states()]
    context = {"title": "我的网格", "open_items": open_items, "done": done, "total": total}
    return render(request, "grid.html", context)


@router.get("/my", include_in_schema=False)
def my_cases(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    """The mediator's open cases grouped by state (workflow order), nearest due date first."""
    require(actor, Role.MEDIATOR, Role.SUPERVISOR)
    day = today()
    with engine.connect() as conn:
        mine, _ = list_cases(conn, actor, CaseFilters(mediator_id=actor.id, open_only=True), today=day, page_size=200)
        waiting, _ = list_cases(conn, actor, CaseFilters(state=["registered"]), today=day, page_size=200)
        items = decorate(conn, mine, day)
        unassigned = decorate(conn, [r for r in waiting if r["mediator_id"] is None], day)
        order = list(REGISTRY.current(conn, "people_mediation").spec.states)
    groups: dict[str, list[dict[str, object]]] = {}
    for item in sorted(
        items, key=lambda i: (order.index(i["state"]) if i["state"] in order else 99, str(i["due_date"]))
    ):
        groups.setdefault(str(item["state_label"]), []).append(item)
    context = {"title": "我的案件", "groups": groups, "unassigned": unassigned, "count": len(items)}
    return render(request, "my_cases.html", context)


@router.get("/cases", include_in_schema=False)
def search(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    q: Annotated[str, Query(max_length=50)] = "",
    state: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    day = today()
    filters = CaseFilters(q=q or None, state=[state] if state else [])
    with engine.connect() as conn:
        rows, total = list_cases(conn, actor, filters, today=day, page=page, page_size=30)
        items = decorate(conn, rows, day)
        states = {n: s.label for n, s in REGISTRY.current(conn, "people_mediation").spec.states.items()}
    context = {
        "title": "案件查询",
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // 30)),
        "q": q,
        "state": state,
        "states": states,
    }
    template = "partials/case_table.html" if is_fragment(request) else "cases.html"
    return render(request, template, context)
