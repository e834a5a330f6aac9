"""The county's annual report: the county's figures and text (the annual report of the county's subtree), then
a paragraph per township written by the same sentence templates (``report_text.render``) from that township's
own figures, counted as of the same moment.

The county's year is counted once: its contributions (``figures.contributions``, every one belonging to a case)
are split by the township each case lies in, and each township's figures are made from its part, which is what
the township's own report counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from mediation_flow.accounts.policy import Actor
from mediation_flow.errors import InvalidData
from mediation_flow.places.jurisdictions import Place, townships_of
from mediation_flow.stats.figures import Contributions, Figures, contributions, figures_from
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import Scope, year_scope
from mediation_flow.stats.service import AnnualReport, visible_place
from mediation_flow.store.reads import reads


def township_paragraph(name: str, paragraphs: list[str], year: int) -> str:
    """One township's paragraph: its name, then its report text run together."""
    return f"{name}：{''.join(paragraphs)}" if paragraphs else f"{name}：{year}年未登记矛盾纠纷。"


def county_figures(conn: Connection, scope: Scope) -> tuple[Figures, list[tuple[Place, Figures]]]:
    """The county's figures and each township's (in code order), from one count of the county's year."""
    counted = contributions(conn, scope)
    parts = counted.by_child(scope.place.path)
    townships = []
    for township in townships_of(conn, scope.place):
        part = parts.get(township.path) or Contributions.empty()
        township_scope = year_scope(conn, code=township.code, year=scope.year, as_of=scope.as_of)
        townships.append((township, figures_from(conn, township_scope, part)))
    return figures_from(conn, scope, counted), townships


def county_report(
    engine: Engine, *, actor: Actor | None, code: str, year: int, as_of: datetime | None = None
) -> AnnualReport:
    """The report of county ``code`` for ``year`` with a paragraph per township (who may read it: the
    annual report's rule, ``service.check_report_access``: the county must lie in the user's subtree)."""
    with reads(engine) as conn:
        visible_place(conn, actor, code)
        scope = year_scope(conn, code=code, year=year, as_of=as_of)
        if scope.place.level != "county":
            raise InvalidData([{"field": "county", "message": "请选择县（区）"}])
        figures, townships = county_figures(conn, scope)
    text = render(figures)
    paragraphs = list(text.paragraphs)
    paragraphs += [township_paragraph(t.name, render(f).paragraphs, year) for t, f in townships]
    return AnnualReport(figures, text.with_paragraphs(paragraphs))
