"""A report's year counted by parts, each part's tally kept until a case of its year changes.

The parts of a place's report are its child places and the place itself (the cases registered at it, 本级): every
case lies in one of them, so the report's tally is theirs added up (``tally``). As of now, each part is marked by
the kept year sums' ``CHANGED`` (``store.year_sums``: raised whenever one of its cases of that year is counted
again), read once the sums are brought up to date; a part whose mark has not moved keeps its tally
(``store.kept_parts``: in the process and in the database, for every app process and past a restart), the others
are counted again: each alone when they are few (at most 4, or half the children), else in one pass
over the place's year split by part. A moment in the past is counted afresh in one pass.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from mediation_flow.places.jurisdictions import Place, all_places, children_of, get_by_code
from mediation_flow.stats.dashboard_cases import contributions as contributions_of_cases
from mediation_flow.stats.dashboard_cases import rules_key
from mediation_flow.stats.figures import Contributions, contributions, tally_of
from mediation_flow.stats.scope import Scope, year_scope
from mediation_flow.stats.tally import Tally, from_text, to_text
from mediation_flow.store.kept_parts import KeptParts
from mediation_flow.store.reads import reads
from mediation_flow.store.year_sums import CHANGED, refreshed

# More children to count again than this, or than half of them: one pass over the place's year instead. On the
# million-case county a township's own pass took 0.5-1.3 s, the county's (30 townships) 19-29 s.
FEW_PARTS = 4
_KEPT: KeptParts[Tally] = KeptParts("report_tally", to_text, from_text)


def marks_now(engine: Engine, code: str, year: int) -> tuple[datetime, dict[str, int]]:
    """(the moment the kept year sums count to, part path → its ``CHANGED`` mark) for ``code``'s ``year``, once
    the sums are up to date."""
    with engine.connect() as conn:
        place = get_by_code(conn, code)
    sums = refreshed(engine, place.path, year, contributions_of_cases, rules_key())
    return sums.as_of, {child: n for child, figure, _, n in sums.rows if figure == CHANGED}


def part_tallies(conn: Connection, scope: Scope, marks: dict[str, int] | None) -> tuple[list[Place], dict[str, Tally]]:
    """(the place's children by code, part path → tally for the place itself and each child), kept where the
    part's mark in ``marks`` is unchanged; without ``marks`` (a moment in the past) all counted afresh."""
    children = children_of(conn, scope.place)
    parts = [scope.place.path, *(c.path for c in children)]
    if marks is None:
        return children, _counted(conn, scope, children, parts)
    # A child's tally counts its subtree's cases, the place's own only those registered at it: kept apart.
    keys = {path: f"{scope.year}:{'own' if path == scope.place.path else 'under'}:{path}" for path in parts}
    paths = {key: path for path, key in keys.items()}

    def work_out(stale: list[str]) -> dict[str, Tally]:
        counted = _counted(conn, scope, children, [paths[key] for key in stale])
        return {keys[path]: tally for path, tally in counted.items()}

    kept = _KEPT.get(conn, rules_key(), {keys[p]: marks.get(p, 0) for p in parts}, work_out)
    return children, {paths[key]: tally for key, tally in kept.items()}


def _counted(conn: Connection, scope: Scope, children: list[Place], stale: list[str]) -> dict[str, Tally]:
    """The tallies of the ``stale`` parts: each child's own pass for a few children, else one pass over the place's
    year split by part (the place's own cases are counted only so)."""
    if scope.place.path not in stale and len(stale) <= max(FEW_PARTS, len(children) // 2):
        code = {c.path: c.code for c in children}
        scopes = {path: year_scope(conn, code=code[path], year=scope.year, as_of=scope.as_of) for path in stale}
        return {path: tally_of(contributions(conn, part)) for path, part in scopes.items()}
    split = contributions(conn, scope).by_child(scope.place.path)
    parts = [scope.place.path, *(c.path for c in children)]
    return {path: tally_of(split.get(path) or Contributions.empty()) for path in parts}


def clear() -> None:
    """Forget the tallies kept in this process (those kept in the database stay)."""
    _KEPT.clear()


def count_county_reports(engine: Engine, years: list[int]) -> None:
    """Count and keep the tallies of every county's report for ``years`` (after an upgrade: else the first view of
    a county's report after it counts the county's year, some twenty seconds at a million cases)."""
    with engine.connect() as conn:
        counties = [p for p in all_places(conn) if p.level == "county"]
    for county in counties:
        for year in years:
            as_of, marks = marks_now(engine, county.code, year)
            with reads(engine) as conn:
                part_tallies(conn, year_scope(conn, code=county.code, year=year, as_of=as_of), marks)
