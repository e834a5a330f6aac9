"""The county's annual report: the county's figures and text (the annual report of the county's subtree), then
a paragraph per township written by the same sentence templates (``report_text.render``) from that township's
own figures, counted as of the same moment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.errors import InvalidData
from mediation_flow.places.jurisdictions import get_by_id
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import year_scope
from mediation_flow.stats.service import AnnualReport, annual_report
from mediation_flow.store.tables import JURISDICTIONS as JUR


def township_paragraph(name: str, paragraphs: list[str], year: int) -> str:
    """One township's paragraph: its name, then its report text run together."""
    return f"{name}：{''.join(paragraphs)}" if paragraphs else f"{name}：{year}年未登记矛盾纠纷。"


def county_report(
    engine: Engine, *, actor: Actor | None, code: str, year: int, as_of: datetime | None = None
) -> AnnualReport:
    """The report of county ``code`` for ``year`` with a paragraph per township (who may read it: the
    annual report's rule, ``service.check_report_access``: the county must lie in the user's subtree)."""
    report = annual_report(engine, actor=actor, code=code, year=year, as_of=as_of)
    scope = report.figures.scope
    if scope.place.level != "county":
        raise InvalidData([{"field": "county", "message": "请选择县（区）"}])
    paragraphs = list(report.text.paragraphs)
    with engine.connect() as conn:
        ids = conn.execute(
            select(JUR.c.id).where(JUR.c.parent_id == scope.place.id, JUR.c.level == "township").order_by(JUR.c.code)
        ).scalars()
        for township in [get_by_id(conn, int(i)) for i in ids]:
            figures = compute_figures(conn, year_scope(conn, code=township.code, year=year, as_of=scope.as_of))
            paragraphs.append(township_paragraph(township.name, render(figures).paragraphs, year))
    return AnnualReport(report.figures, report.text.with_paragraphs(paragraphs))
