"""Statistics and the annual report: figures and text (JSON), drill-down, .docx/.xlsx downloads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from mediation_flow.errors import InvalidData
from mediation_flow.stats.definitions import load_definitions
from mediation_flow.stats.drilldown import drillable
from mediation_flow.stats.service import MEDIA_TYPES, annual_report, export, figure_cases
from mediation_flow.store import clock
from mediation_flow.textinput import Text
from web.api.schemas import ErrorResponse
from web.api.views import FigureCasesOut
from web.deps import ApiActor, EngineDep

router = APIRouter(prefix="/reports", tags=["reports"])
ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorResponse} for status in (401, 403, 404, 422)}
Year = Annotated[int, Query(ge=2000, le=2100, description="统计年度")]
Code = Annotated[str, Query(min_length=1, max_length=32, description="辖区代码（乡镇、村）")]
AsOf = Annotated[
    str | None, Query(max_length=40, description="数据截至时刻（ISO 8601，不带时区按北京时间），默认为当前")
]
MAX_DRILL = 5000


class EditedReport(BaseModel):
    paragraphs: list[Annotated[Text, Field(max_length=5000)]] = Field(min_length=1, max_length=30)


def parse_as_of(raw: str | None) -> datetime | None:
    if raw in (None, ""):
        return None
    try:
        return clock.parse_user_moment(str(raw))
    except ValueError as exc:
        raise InvalidData([{"field": "as_of", "message": str(exc)}]) from None


@router.get("/annual", responses=ERRORS)
def annual(engine: EngineDep, actor: ApiActor, year: Year, jurisdiction: Code, as_of: AsOf = None) -> dict[str, Any]:
    """Figures (JSON), breakdowns and the generated text of one jurisdiction's year."""
    report = annual_report(engine, actor=actor, code=jurisdiction, year=year, as_of=parse_as_of(as_of))
    return report.to_dict()


@router.get("/annual/cases", response_model=FigureCasesOut, responses=ERRORS)
def annual_cases(
    engine: EngineDep,
    actor: ApiActor,
    year: Year,
    jurisdiction: Code,
    figure: Annotated[str, Query(max_length=40)],
    key: Annotated[str | None, Query(max_length=80)] = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """The cases behind one figure (or one group of a breakdown)."""
    if figure not in drillable():
        raise InvalidData([{"field": "figure", "message": "未知指标"}])
    report = annual_report(engine, actor=actor, code=jurisdiction, year=year, as_of=parse_as_of(as_of))
    found = figure_cases(engine, report, figure, key, limit=MAX_DRILL)
    cases = [{name: r[name] for name in ("id", "number", "title", "state")} for r in found.rows]
    return {"figure": figure, "key": key, "total": found.total, "cases": cases}


@router.get("/definitions")
def definitions() -> dict[str, Any]:
    """The written definition of every figure (统计口径)."""
    defs = load_definitions()
    return {"common": defs.common, "figures": {k: v.__dict__ for k, v in defs.figures.items()}}


def _download(engine: Any, report: Any, fmt: str) -> Response:
    body = export(engine, report, fmt)  # type: ignore[arg-type]
    name = f"{report.filename_stem}.{fmt}"
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


Fmt = Annotated[str, Query(pattern="^(docx|xlsx|json)$", description="docx | xlsx | json")]
FILES: dict[int | str, dict[str, Any]] = {
    200: {"description": "文件", "content": {MEDIA_TYPES[f]: {} for f in ("docx", "xlsx", "json")}}
}


@router.get("/annual/download", response_class=Response, responses={**ERRORS, **FILES})
def download(
    engine: EngineDep, actor: ApiActor, year: Year, jurisdiction: Code, format: Fmt = "docx", as_of: AsOf = None
) -> Response:
    """The report as a file: .docx (official layout), .xlsx (figures, charts, ledger) or .json."""
    report = annual_report(engine, actor=actor, code=jurisdiction, year=year, as_of=parse_as_of(as_of))
    return _download(engine, report, format)


@router.post("/annual/download", response_class=Response, responses={**ERRORS, **FILES})
def download_edited(
    engine: EngineDep,
    actor: ApiActor,
    year: Year,
    jurisdiction: Code,
    body: Annotated[EditedReport, Body()],
    format: Fmt = "docx",
    as_of: AsOf = None,
) -> Response:
    """The report as a file with the text as the supervisor edited it."""
    report = annual_report(
        engine, actor=actor, code=jurisdiction, year=year, as_of=parse_as_of(as_of), paragraphs=body.paragraphs
    )
    return _download(engine, report, format)


@router.get(
    "/ledger/template",
    response_class=Response,
    responses={200: {"description": "台账导入模板", "content": {MEDIA_TYPES["xlsx"]: {}}}},
)
def ledger_template() -> Response:
    """The ledger (台账) import template (.xlsx) with its column descriptions."""
    from mediation_flow.ledger.columns import template_xlsx

    name = quote("台账导入模板.xlsx")
    return Response(
        template_xlsx(),
        media_type=MEDIA_TYPES["xlsx"],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


@router.post("/ledger/import", status_code=201, responses=ERRORS)  # its own body limit: web.input_guard
async def ledger_import(engine: EngineDep, actor: ApiActor, file: UploadFile) -> dict[str, Any]:
    """Import a ledger (.xlsx or .csv): all rows or none; 422 lists every error by row and column."""
    from mediation_flow.ledger.plan import MAX_BYTES, import_ledger

    content = await file.read(MAX_BYTES + 1)
    result = await run_in_threadpool(import_ledger, engine, actor=actor, filename=file.filename or "", content=content)
    return {"imported": result.count, "case_ids": result.case_ids}
