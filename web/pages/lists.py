"""我的网格, 我的案件 and the case search: lists of the cases a user may see."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mediation_flow.cases.lists import SEARCH_FILTERS, grid_cases, own_cases, search, search_filters
from mediation_flow.cases.outbox import recent_synced
from mediation_flow.cases.queries import DEFAULT_SORT, SORTS
from mediation_flow.workflow.registry import REGISTRY
from web.deps import EngineDep
from web.pages.common import PageActor, is_fragment, render

router = APIRouter()
SEARCH_ROWS = 30


@router.get("/grid", include_in_schema=False)
def my_grid(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    """The grid worker's home: register a dispute, and the grid's cases with their states."""
    found = grid_cases(engine, actor)
    finals = REGISTRY.final_states()
    context = {
        "title": "我的网格",
        "open_items": [i for i in found.items if i.state not in finals],
        "done": [i for i in found.items if i.state in finals],
        "total": found.total,
        "synced": recent_synced(engine, actor),
    }
    return render(request, "grid.html", context)


@router.get("/my", include_in_schema=False)
def my_cases(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    """The mediator's open cases grouped by state (workflow order), nearest due date first."""
    own = own_cases(engine, actor)
    context = {"title": "我的案件", "groups": own.groups, "unassigned": own.unassigned, "count": own.count}
    return render(request, "my_cases.html", context)


@router.get("/cases", include_in_schema=False)
def search_page(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    q: Annotated[str, Query(max_length=50)] = "",
    state: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    sort: Annotated[str, Query(max_length=16)] = DEFAULT_SORT,
) -> Response:
    """案件查询: a person, a case number or title words, and the filters (query string; see ``search_filters``)."""
    chosen = {k: request.query_params.get(k, "")[:32] for k in SEARCH_FILTERS}
    filters, problems = search_filters(chosen)
    sort = sort if sort.removeprefix("-") in SORTS else DEFAULT_SORT
    found = search(engine, actor, q=q, state=state, page=page, page_size=SEARCH_ROWS, filters=filters, sort=sort)
    context = {
        "title": "案件查询",
        "items": found.items,
        "total": found.total,
        "page": page,
        "pages": max(1, -(-found.total // SEARCH_ROWS)),
        "q": q,
        "state": state,
        "states": found.states,
        "options": found.options,
        "chosen": chosen,
        "problems": problems,
        "more_open": any(chosen.values()),
        "query": urlencode({"q": q, "state": state, **{k: v for k, v in chosen.items() if v}, "sort": sort}),
        "unsorted_query": urlencode({"q": q, "state": state, **{k: v for k, v in chosen.items() if v}}),
        "sort": sort,
    }
    template = "partials/case_table.html" if is_fragment(request) else "cases.html"
    return render(request, template, context)
