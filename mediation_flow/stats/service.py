"""The annual report as the API, the CLI and the pages ask for it: who may see it, and in what format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select

from mediation_flow.accounts.policy import Actor, Permission, can_see, require
from mediation_flow.cases.lists import CaseItem, case_items
from mediation_flow.errors import InvalidData, NotFound
from mediation_flow.places.jurisdictions import Place, get_by_code, places_within
from mediation_flow.places.subtree import in_subtree
from mediation_flow.stats.drill_rows import column_title, drill_sets
from mediation_flow.stats.drilldown import case_ids, drillable
from mediation_flow.stats.figures import SOURCE, Figures, figures_of
from mediation_flow.stats.kept_figures import moment_and_marks, place_tallies
from mediation_flow.stats.ledger_table import ledger_rows
from mediation_flow.stats.report_text import ReportText, render
from mediation_flow.stats.scope import year_scope
from mediation_flow.stats.tally import total
from mediation_flow.store import clock
from mediation_flow.store.fast import dict_rows
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import CASES, EVENTS

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


def visible_place(conn: Connection, actor: Actor | None, code: str) -> Place:
    """The jurisdiction ``code``, if ``actor`` may read its reports (one answer for unknown and out of scope)."""
    try:
        place = get_by_code(conn, code)
    except NotFound:
        raise NotFound("辖区不存在或不在您的管辖范围内", code=code[:32]) from None
    check_report_access(actor, place.path)
    return place


def annual_report(
    engine: Engine,
    *,
    actor: Actor | None,
    code: str,
    year: int,
    as_of: datetime | None = None,
    paragraphs: list[str] | None = None,
) -> AnnualReport:
    """Figures and text of ``code``'s report for ``year``; ``actor`` None means the command line. As of now, its
    places' tallies are kept until a case of their year changes (``kept_figures``)."""
    with reads(engine) as conn:
        visible_place(conn, actor, code)
        year_scope(conn, code=code, year=year)  # a year out of range is refused before any count
    as_of, marks = moment_and_marks(engine, code, year, as_of)
    with reads(engine) as conn:
        scope = year_scope(conn, code=code, year=year, as_of=as_of)
        figures = figures_of(conn, scope, total(list(place_tallies(conn, scope, marks).values())))
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

        with reads(engine) as conn:
            ledger = ledger_rows(conn, report.figures.scope)
        return report_xlsx(report.figures, report.text, ledger)
    if fmt == "json":
        import json

        return json.dumps(report.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")
    raise InvalidData([{"field": "format", "message": "格式应为 json、docx 或 xlsx"}])


def report_years(engine: Engine, *, actor: Actor | None, code: str, until: int) -> list[int]:
    """The years (newest first, none after ``until``) in which ``code``'s subtree has case records: the years
    cases were registered in, and any later year in which an event of theirs took effect."""
    with reads(engine) as conn:
        place = visible_place(conn, actor, code)
        subtree = in_subtree(CASES.c.jurisdiction_path, place.path)
        years = {int(y) for y in conn.execute(select(CASES.c.year).where(subtree).distinct()).scalars()}
        for year in range(max(years, default=until) + 1, until + 1):  # carried-over cases' later events
            scope = year_scope(conn, code=code, year=year)
            found = select(EVENTS.c.id).select_from(SOURCE).where(scope.in_scope()).limit(1)
            if conn.execute(found).first() is not None:
                years.add(year)
    return sorted((y for y in years if y <= until), reverse=True)


def report_places(engine: Engine, actor: Actor) -> list[dict[str, str]]:
    """The county, townships and villages of the user's subtree a report can be asked for, in tree order."""
    require(actor, Permission.READ_REPORTS)
    with reads(engine) as conn:
        found = places_within(conn, actor.scope_path, ("county", "township", "village"))
    return [{"code": p.code, "name": p.name, "level": p.level, "path": p.path} for p in found]


def figure_cases(engine: Engine, report: AnnualReport, figure: str, key: str | None, *, limit: int) -> DrillCases:
    """The cases behind one figure (or one group of a breakdown) of ``report``: the total, and the first
    ``limit`` case rows in the figure's order."""
    if figure not in drillable():
        raise InvalidData([{"field": "figure", "message": "未知指标"}])
    with reads(engine) as conn:
        ids = case_ids(conn, report.figures.scope, figure, key)
        rows = {r["id"]: r for r in dict_rows(conn.execute(select(CASES).where(CASES.c.id.in_(ids[:limit]))))}
    return DrillCases(total=len(ids), rows=[rows[i] for i in ids[:limit] if i in rows])


@dataclass
class DrillCases:
    total: int
    rows: list[dict[str, Any]]


@dataclass
class DrillSection:
    """One list of a figure's cases: its title ('' for the only list), how many, the shown rows with what each
    contributes, and their sum where the contributions add up."""

    title: str
    total: int
    rows: list[tuple[CaseItem, str]]
    total_text: str = ""


@dataclass
class Drill:
    column: str  # the header of the contribution column
    sections: list[DrillSection]

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sections)


def figure_drill(
    engine: Engine, report: AnnualReport, figure: str, key: str | None, *, limit: int, actor: Actor
) -> Drill:
    """The cases behind one figure (or group) of ``report`` as the page lists them to ``actor``: each with its
    contribution; a rate's numerator cases and the rest of its denominator as two lists."""
    if figure not in drillable():
        raise InvalidData([{"field": "figure", "message": "未知指标"}])
    with reads(engine) as conn:
        sets = drill_sets(conn, report.figures.scope, figure, key, limit=limit)
        shown = sorted({i for found in sets for i in found.ids[:limit]})
        rows = dict_rows(conn.execute(select(CASES).where(CASES.c.id.in_(shown))))
        items = {item.id: item for item in case_items(conn, rows, clock.local_date(clock.utcnow()))}
    sections = [
        DrillSection(
            title=found.title,
            total=len(found.ids),
            rows=[(items[i], found.contributions.get(i, "")) for i in found.ids[:limit] if i in items],
            total_text=found.total_text,
        )
        for found in sets
    ]
    return Drill(column=column_title(figure), sections=sections)
