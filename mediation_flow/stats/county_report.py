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
from mediation_flow.stats.dashboard_cases import contributions as contributions_of_cases
from mediation_flow.stats.dashboard_cases import rules_key
from mediation_flow.stats.figures import Contributions, Figures, contributions, figures_of, tally_of
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import Scope, year_scope
from mediation_flow.stats.service import AnnualReport, visible_place
from mediation_flow.stats.tally import Tally, total
from mediation_flow.store.kept_parts import KeptParts
from mediation_flow.store.reads import reads
from mediation_flow.store.year_sums import CHANGED, refreshed

FEW_TOWNSHIPS = 4  # more townships to count again than this: one pass over the county's year instead
_KEPT: KeptParts[Tally] = KeptParts()


def township_paragraph(name: str, paragraphs: list[str], year: int) -> str:
    """One township's paragraph: its name, then its report text run together."""
    return f"{name}：{''.join(paragraphs)}" if paragraphs else f"{name}：{year}年未登记矛盾纠纷。"


def county_figures(
    conn: Connection, scope: Scope, marks: dict[str, int] | None = None
) -> tuple[Figures, list[tuple[Place, Figures]]]:
    """The county's figures and each township's (in code order), from their tallies: each kept while its mark in
    ``marks`` (part → ``year_sums.CHANGED``, read before) is unchanged, else counted again; without ``marks`` (a
    moment in the past) all counted afresh in one pass over the county's year."""
    townships = townships_of(conn, scope.place)
    parts = [scope.place.path, *(t.path for t in townships)]  # the county's own cases (本级) are a part too
    if marks is None:
        tallies = _counted(conn, scope, townships, parts)
    else:
        whole = (conn.engine.url.render_as_string(hide_password=True), scope.place.path, scope.year, rules_key())
        tallies = _KEPT.get(
            whole, {p: marks.get(p, 0) for p in parts}, lambda stale: _counted(conn, scope, townships, stale)
        )
    figures = []
    for township in townships:
        township_scope = year_scope(conn, code=township.code, year=scope.year, as_of=scope.as_of)
        figures.append((township, figures_of(conn, township_scope, tallies[township.path])))
    return figures_of(conn, scope, total([tallies[p] for p in parts])), figures


def _counted(conn: Connection, scope: Scope, townships: list[Place], stale: list[str]) -> dict[str, Tally]:
    """The tallies of the ``stale`` parts: each township's own pass for a few townships, else one pass over the
    county's year split by township (the county's own cases are counted only so)."""
    if scope.place.path not in stale and len(stale) <= FEW_TOWNSHIPS:
        by_path = {t.path: t for t in townships}
        return {
            path: tally_of(
                contributions(conn, year_scope(conn, code=by_path[path].code, year=scope.year, as_of=scope.as_of))
            )
            for path in stale
        }
    parts = contributions(conn, scope).by_child(scope.place.path)
    return {
        path: tally_of(parts.get(path) or Contributions.empty())
        for path in [scope.place.path, *(t.path for t in townships)]
    }


def county_report(
    engine: Engine, *, actor: Actor | None, code: str, year: int, as_of: datetime | None = None
) -> AnnualReport:
    """The report of county ``code`` for ``year`` with a paragraph per township (who may read it: the
    annual report's rule, ``service.check_report_access``: the county must lie in the user's subtree).

    As of now, it is counted as of the moment the kept year sums are brought up to date, and each township's
    tally is kept until a case of its year changes (``year_sums.CHANGED``)."""
    with reads(engine) as conn:
        place = visible_place(conn, actor, code)
        if place.level != "county":
            raise InvalidData([{"field": "county", "message": "请选择县（区）"}])
        year_scope(conn, code=code, year=year)  # a year out of range is refused before any count
    marks = None
    if as_of is None:
        sums = refreshed(engine, place.path, year, contributions_of_cases, rules_key())
        marks = {child: n for child, figure, _, n in sums.rows if figure == CHANGED}
        as_of = sums.as_of
    with reads(engine) as conn:
        scope = year_scope(conn, code=code, year=year, as_of=as_of)
        figures, townships = county_figures(conn, scope, marks)
    text = render(figures)
    paragraphs = list(text.paragraphs)
    paragraphs += [township_paragraph(t.name, render(f).paragraphs, year) for t, f in townships]
    return AnnualReport(figures, text.with_paragraphs(paragraphs))
