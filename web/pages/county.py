"""The county view: every township side by side (sortable by links, so it works without JavaScript), and the
county's annual report with a paragraph per township (page and .docx)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from mediation_flow.accounts.policy import Permission
from mediation_flow.stats.county import county_view
from mediation_flow.stats.county_report import county_report
from mediation_flow.stats.service import MEDIA_TYPES, export
from web.deps import EngineDep
from web.pages.common import PageActor, is_fragment, render, require, today

router = APIRouter()
Code = Annotated[str, Query(max_length=32)]
Year = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("/county", include_in_schema=False)
def county_page(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    county: Code = "",
    year: Year = None,
    sort: Annotated[str, Query(max_length=24)] = "taken_in",
    order: Annotated[str, Query(max_length=4)] = "desc",
) -> Response:
    view = county_view(
        engine, actor, today=today(), code=county or None, year=year, sort=sort, descending=order != "asc"
    )
    template = "partials/county_part.html" if is_fragment(request) else "county.html"  # its body rendered once
    # who sees only their own township (no county total) is not shown a comparison's title
    title = f"{view.county.name}各乡镇（街道）对比" if view.total else "、".join(r.name for r in view.rows) + "主要数字"
    return render(request, template, {"title": title, "view": view})


@router.get("/county/report", include_in_schema=False)
def county_report_page(
    request: Request, engine: EngineDep, actor: PageActor, county: Code, year: Year = None
) -> Response:
    require(actor, Permission.READ_REPORTS)
    report = county_report(engine, actor=actor, code=county, year=year or today().year - 1)
    return render(request, "county_report.html", {"title": report.text.title, "report": report})


@router.get("/county/report.docx", include_in_schema=False)
def county_report_docx(engine: EngineDep, actor: PageActor, county: Code, year: Year = None) -> Response:
    require(actor, Permission.READ_REPORTS)
    report = county_report(engine, actor=actor, code=county, year=year or today().year - 1)
    name = quote(f"{report.filename_stem}.docx")
    return Response(
        export(engine, report, "docx"),
        media_type=MEDIA_TYPES["docx"],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}", "Cache-Control": "no-store"},
    )
