"""The annual report as the API, the CLI and the pages ask for it: who may see it, and in what format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, select

from mediation_flow.accounts.policy import Actor, Permission, can_see, require
from mediation_flow.cases.lists import CaseItem, case_items
from mediation_flow.errors import InvalidData, NotFound
from mediation_flow.places.jurisdictions import get_by_code, places_within
from mediation_flow.stats.drilldown import case_ids, drillable
from mediation_flow.stats.figures import Figures, compute_figures
from mediation_flow.stats.ledger_table import ledger_rows
from mediation_flow.stats.report_text import ReportText, render
from mediation_flow.stats.scope import year_scope
from mediation_flow.store import clock
from mediation_flow.store.tables import CASES

Format = Literal["json", "docx", "xlsx"]
MEDIA_TYPES = {
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class AnnualReport:
    figures: Figures
    text: ReportText

    def to_dict(self) -> dict[str, Any]:
        return {**self.figures.to_dict(), "text": self.text.to_dict()}

    @property
    def filename_stem(self) -> str:
        s = self.figures.scope
        return f"{s.place.name}{s.year}年矛盾纠纷化解统计"


def check_report_access(actor: Actor | None, jurisdiction_path: str) -> None:
    """Supervisors (within their jurisdiction) and admins read reports; anyone else is refused."""
    if actor is None:
        return
    require(actor, Permission.READ_REPORTS)
    if not can_see(actor, jurisdiction_path):
        raise NotFound("辖区不存在或不在您的管辖范围内")


def annual_report(
    engine: Engine,
    *,
    actor: Actor | None,
    code: str,
    year: int,
    as_of: datetime | None = None,
    paragraphs: list[str] | None = None,
) -> AnnualReport:
    """Figures and text of ``code``'s report for ``year``; ``actor`` None means the command line."""
    with engine.connect() as conn:
        try:
            place = get_by_code(conn, code)
        except NotFound:
            raise NotFound("辖区不存在或不在您的管辖范围内", code=code[:32]) from None
        check_report_access(actor, place.path)
        scope = year_scope(conn, code=code, year=year, as_of=as_of)
        figures = compute_figures(conn, scope)
    text = render(figures)
    if paragraphs is not None:
        text = text.with_paragraphs(paragraphs)
        if not text.paragraphs:
            raise InvalidData([{"field": "paragraphs", "message": "报告正文不能为空"}])
    return AnnualReport(figures, text)


def export(engine: Engine, report: AnnualReport, fmt: Format) -> bytes:
    """The report in ``fmt`` (json text, .docx or .xlsx with the ledger)."""
    if fmt == "docx":
        from mediation_flow.stats.export_docx import report_docx

        return report_docx(report.figures, report.text)
    if fmt == "xlsx":
        from mediation_flow.stats.export_xlsx import report_xlsx

        with engine.connect() as conn:
            ledger = ledger_rows(conn, report.figures.scope)
        return report_xlsx(report.figures, report.text, ledger)
    if fmt == "json":
        import json

        return json.dumps(report.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")
    raise InvalidData([{"field": "format", "message": "格式应为 json、docx 或 xlsx"}])


def report_places(engine: Engine, actor: Actor) -> list[dict[str, str]]:
    """The county, townships and villages of the user's subtree a report can be asked for, in tree order."""
    require(actor, Permission.READ_REPORTS)
    with engine.connect() as conn:
        found = places_within(conn, actor.scope_path, ("county", "township", "village"))
    return [{"code": p.code, "name": p.name, "level": p.level, "path": p.path} for p in found]


def figure_cases(engine: Engine, report: AnnualReport, figure: str, key: str | None, *, limit: int) -> DrillCases:
    """The cases behind one figure (or one group of a breakdown) of ``report``: the total, and the first
    ``limit`` case rows in the figure's order."""
    if figure not in drillable():
        raise InvalidData([{"field": "figure", "message": "未知指标"}])
    with engine.connect() as conn:
        ids = case_ids(conn, report.figures.scope, figure, key)
        rows = {r["id"]: dict(r) for r in conn.execute(select(CASES).where(CASES.c.id.in_(ids[:limit]))).mappings()}
    return DrillCases(total=len(ids), rows=[rows[i] for i in ids[:limit] if i in rows])


def figure_case_items(engine: Engine, report: AnnualReport, figure: str, key: str | None, *, limit: int) -> DrillItems:
    """:func:`figure_cases` as the page's table rows (labels, names, due status), by case id."""
    found = figure_cases(engine, report, figure, key, limit=limit)
    with engine.connect() as conn:
        items = case_items(conn, sorted(found.rows, key=lambda r: r["id"]), clock.local_date(clock.utcnow()))
    return DrillItems(total=found.total, items=items)


@dataclass
class DrillCases:
    total: int
    rows: list[dict[str, Any]]


@dataclass
class DrillItems:
    total: int
    items: list[CaseItem]
