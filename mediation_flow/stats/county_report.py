"""The county's annual report: the county's figures and text (the annual report of the county's subtree), then
a paragraph per township written by the same sentence templates (``report_text.render``) from that township's
own figures, counted as of the same moment.

The county's year is counted by place (``kept_figures``): a township's tally is its places' added up, what its own
report counts, and the county's all of them; as of now, a place's tally is kept until a case of its year changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from mediation_flow.accounts.policy import Actor
from mediation_flow.errors import InvalidData
from mediation_flow.places.jurisdictions import Place, townships_of
from mediation_flow.stats.figures import Figures, figures_of
from mediation_flow.stats.kept_figures import moment_and_marks, place_tallies, subtree_tally
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import Scope, year_scope
from mediation_flow.stats.service import AnnualReport, visible_place
from mediation_flow.stats.tally import total
from mediation_flow.store.reads import reads


def township_paragraph(name: str, paragraphs: list[str], year: int) -> str:
    """One township's paragraph: its name, then its report text run together."""
    return f"{name}：{''.join(paragraphs)}" if paragraphs else f"{name}：{year}年未登记矛盾纠纷。"


def county_figures(
    conn: Connection, scope: Scope, marks: dict[str, int] | None = None
) -> tuple[Figures, list[tuple[Place, Figures]]]:
    """The county's figures and each township's (in code order), from the tallies of their places
    (``kept_figures``: kept while their marks in ``marks`` are unchanged; without ``marks``, one pass over the
    county's year)."""
    tallies = place_tallies(conn, scope, marks)
    townships = []
    for township in townships_of(conn, scope.place):
        township_scope = year_scope(conn, code=township.code, year=scope.year, as_of=scope.as_of)
        townships.append((township, figures_of(conn, township_scope, subtree_tally(tallies, township.path))))
    return figures_of(conn, scope, total(list(tallies.values()))), townships


def county_report(
    engine: Engine, *, actor: Actor | None, code: str, year: int, as_of: datetime | None = None
) -> AnnualReport:
    """The report of county ``code`` for ``year`` with a paragraph per township (who may read it: the
    annual report's rule, ``service.check_report_access``: the county must lie in the user's subtree).

    As of now, it is counted as of the moment the kept year sums are brought up to date, and each place's tally
    is kept until a case of its year changes (``kept_figures``, ``year_sums.CHANGED``)."""
    with reads(engine) as conn:
        place = visible_place(conn, actor, code)
        if place.level != "county":
            raise InvalidData([{"field": "county", "message": "请选择县（区）"}])
        year_scope(conn, code=code, year=year)  # a year out of range is refused before any count
    as_of, marks = moment_and_marks(engine, code, year, as_of)
    with reads(engine) as conn:
        scope = year_scope(conn, code=code, year=year, as_of=as_of)
        figures, townships = county_figures(conn, scope, marks)
    text = render(figures)
    paragraphs = list(text.paragraphs)
    paragraphs += [township_paragraph(t.name, render(f).paragraphs, year) for t, f in townships]
    return AnnualReport(figures, text.with_paragraphs(paragraphs))
