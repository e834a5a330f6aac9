"""The annual report page: pick year and jurisdiction, preview figures (each with its definition and a
link to the cases behind it) and the generated text, edit the text, download .docx or .xlsx."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from mediation_flow.accounts.policy import Actor, Permission
from mediation_flow.display.formats import money, quantity
from mediation_flow.errors import InvalidData
from mediation_flow.stats.definitions import figures_at, load_definitions
from mediation_flow.stats.drilldown import drill_definition, drillable
from mediation_flow.stats.report_text import RATE_PARTS
from mediation_flow.stats.service import (
    MEDIA_TYPES,
    AnnualReport,
    annual_report,
    export,
    figure_drill,
    report_places,
    report_years,
)
from mediation_flow.textinput import normalise
from web.api.reports import parse_as_of
from web.deps import EngineDep
from web.pages.common import PageActor, render, require, today
from web.pages.drill_links import back_to_county
from web.session import verified_form

router = APIRouter()
MAX_LISTED = 500
HEADLINE = ["taken_in", "mediated", "resolved", "mediation_concluded", "success_rate", "closed_resolved", "on_time",
            "on_time_judged", "on_time_rate", "court_on_time_rate", "agreement_amount", "visited", "performed",
            "performance_rate", "confirmations", "referral_in", "referral_in_resolved", "referral_in_returned",
            "referral_in_open", "referral_out", "referral_out_agency", "referral_out_answered",
            "referral_out_returned", "referral_out_open", "petitions_resolved", "joint_mediations", "joint_sessions",
            "legal_aid_referrals", "risk_reports", "repeat_disputes", "repeat_petitions", "escalated", "reached_county",
            "conversions", "closed", "days_to_close_avg", "days_to_close_p90"]  # fmt: skip
BREAKDOWNS = ["by_source", "by_category", "by_village", "by_venue", "referral_in", "referral_in_resolved",
              "referral_out", "referral_out_agency", "handoffs", "joint_sessions", "petitions_resolved",
              "resolved_by_level", "escalations", "conversions"]  # fmt: skip


def _default_code(places: list[dict[str, str]]) -> str:
    township = next((p for p in places if p["level"] == "township"), None)
    return (township or (places[0] if places else {"code": ""}))["code"]


def _value(report: AnnualReport, key: str) -> str:
    v = report.figures.values
    if key == "agreement_amount":
        return money(int(v["agreement_amount_fen"]))
    return quantity(v.get(key), load_definitions().figures[key].unit)


def _link(base: dict[str, Any], figure: str, key: str | None = None) -> str:
    params = {**base, "figure": figure, **({"key": key} if key is not None else {})}
    return "/reports/cases?" + urlencode(params)


def _context(report: AnnualReport, places: list[dict[str, str]], code: str, years: list[int]) -> dict[str, Any]:
    s = report.figures.scope
    definitions = figures_at(s.place.level)
    base = {"year": s.year, "jurisdiction": code, "as_of": s.as_of.isoformat()}
    rows = []
    for key in HEADLINE:
        if key not in report.figures.values and key != "agreement_amount":
            continue
        d = definitions[key]
        parts = RATE_PARTS.get(key)
        rows.append({"key": key, "label": d.label, "value": _value(report, key), "definition": d,
                     "link": _link(base, key) if key in drillable() else None,
                     "parts": [(word, definitions[p].label, quantity(report.figures.values[p], definitions[p].unit),
                                _link(base, p)) for word, p in zip(("分子", "分母"), parts, strict=True)]
                     if parts else []})  # fmt: skip
    breakdowns = []
    for name in BREAKDOWNS:
        items = [{**item, "link": _link(base, name, item["key"])} for item in report.figures.breakdowns[name]]
        breakdowns.append({"name": name, "label": definitions[name].label, "definition": definitions[name],
                           "entries": items})  # fmt: skip
    b = report.figures.breakdowns
    resolved = {r["key"]: r["count"] for r in b["monthly_resolved"]}
    return {
        "title": f"{s.place.name}{s.year}年统计报告",
        "report": report,
        "rows": rows,
        "breakdowns": breakdowns,
        "common": load_definitions().common,
        "places": places,
        "selected": {"year": s.year, "jurisdiction": code},
        "years": sorted({*years, s.year}, reverse=True),  # the years with data (and the one asked for)
        "as_of": s.as_of,
        "paragraphs_text": "\n\n".join(report.text.paragraphs),
        "monthly": [(r["label"], r["count"], resolved.get(r["key"], 0)) for r in b["monthly_taken_in"]],
        "categories": [
            (r["label"], r["count"]) for r in sorted(b["by_category"], key=lambda r: -r["count"]) if r["count"]
        ],
        "levels": [(r["label"], r["count"]) for r in b["resolved_by_level"]],
    }


@router.get("/reports", include_in_schema=False)
def reports_page(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    jurisdiction: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    places = report_places(engine, actor)
    code = jurisdiction or _default_code(places)
    years = report_years(engine, actor=actor, code=code, until=today().year)
    last_year = today().year - 1
    chosen = year or (last_year if last_year in years or not years else years[0])
    report = annual_report(engine, actor=actor, code=code, year=chosen)
    return render(request, "reports/index.html", _context(report, places, code, years))


def _back(request: Request, actor: Actor, year: int, jurisdiction: str) -> tuple[str, str]:
    """Where a drill-down's 返回 leads: the county view it came from (?from=county), else the report."""
    return back_to_county(request.query_params, actor) or (
        "/reports?" + urlencode({"year": year, "jurisdiction": jurisdiction}),
        "返回年度统计报告",
    )


@router.get("/reports/cases", include_in_schema=False)
def report_cases(
    request: Request,
    engine: EngineDep,
    actor: PageActor,
    year: Annotated[int, Query(ge=2000, le=2100)],
    jurisdiction: Annotated[str, Query(max_length=32)],
    figure: Annotated[str, Query(max_length=40)],
    key: Annotated[str | None, Query(max_length=80)] = None,
    as_of: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    require(actor, Permission.READ_REPORTS)
    if figure not in drillable():
        raise InvalidData([{"field": "figure", "message": "未知指标"}])
    report = annual_report(engine, actor=actor, code=jurisdiction, year=year, as_of=parse_as_of(as_of))
    drill = figure_drill(engine, report, figure, key, limit=MAX_LISTED, actor=actor)
    d = drill_definition(figure, report.figures.scope.place.level)
    label = next((i["label"] for i in report.figures.breakdowns.get(figure, []) if i["key"] == key), key)
    context = {
        "title": f"{d.label}{'：' + str(label) if key else ''}",
        "definition": d,
        "drill": drill,
        "max_listed": MAX_LISTED,
        "back": _back(request, actor, year, jurisdiction),
        "scope": report.figures.scope,
    }
    return render(request, "reports/cases.html", context)


def _paragraphs(form: FormData) -> list[str]:
    text = str(form.get("paragraphs") or "")
    if len(text) > 30_000:
        raise InvalidData([{"field": "paragraphs", "message": "报告正文过长"}])
    return [p.strip() for p in normalise(text).split("\n") if p.strip()]  # the text-input policy's line breaks


@router.post("/reports/download", include_in_schema=False)
def report_download(engine: EngineDep, actor: PageActor, form: Annotated[FormData, Depends(verified_form)]) -> Response:
    require(actor, Permission.READ_REPORTS)
    fmt = str(form.get("format") or "docx")
    if fmt not in ("docx", "xlsx"):
        raise InvalidData([{"field": "format", "message": "格式应为 docx 或 xlsx"}])
    try:
        year = int(str(form.get("year") or ""))
    except ValueError:
        raise InvalidData([{"field": "year", "message": "请选择年份"}]) from None
    report = annual_report(
        engine, actor=actor, code=str(form.get("jurisdiction") or "")[:32], year=year,
        as_of=parse_as_of(str(form.get("as_of") or "") or None), paragraphs=_paragraphs(form),
    )  # fmt: skip
    name = quote(f"{report.filename_stem}.{fmt}")
    return Response(
        export(engine, report, fmt),  # type: ignore[arg-type]
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}", "Cache-Control": "no-store"},
    )
