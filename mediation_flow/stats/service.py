"""The annual report as the API, the CLI and the pages ask for it: who may see it, and in what format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine

from mediation_flow.accounts.policy import Actor, can_see
from mediation_flow.errors import InvalidData, NotFound, PermissionDenied
from mediation_flow.places.jurisdictions import get_by_code
from mediation_flow.stats.figures import Figures, compute_figures
from mediation_flow.stats.ledger_table import ledger_rows
from mediation_flow.stats.report_text import ReportText, render
from mediation_flow.stats.scope import year_scope
from mediation_flow.vocabulary import Role

Format = Literal["json", "docx", "xlsx"]
MEDIA_TYPES = {
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
REPORT_ROLES = (Role.SUPERVISOR, Role.ADMIN)


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
    if actor.role not in REPORT_ROLES:
        raise PermissionDenied("只有司法所（督办）人员和管理员可以查看统计报告")
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
