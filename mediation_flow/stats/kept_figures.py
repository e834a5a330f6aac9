"""A report's year counted by place, each place's tally kept until a case of its year changes.

Every case lies at one place (a grid, a village, a township, the county itself), so a report's tally is the tallies
of the places of its subtree added up (``tally``), a township's within a county's report too. As of now, each place
is marked by the kept year sums' ``CHANGED`` (``store.year_sums``: raised whenever one of its cases of that year is
counted again; every place with a case of the year has one), read once the sums are brought up to date. A place
whose mark has not moved keeps its tally (``store.kept_parts``: in the process and in the database, for every app
process and past a restart); the others are counted again, each place alone (a grid's year: a few hundred events)
when they are few (at most 40, and not all), else in one pass over the report's year split by place. A moment in
the past is counted afresh in one pass.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import Connection, Engine

from mediation_flow.places.jurisdictions import all_places, get_by_code, places_at
from mediation_flow.places.subtree import within
from mediation_flow.stats.dashboard_cases import contributions as contributions_of_cases
from mediation_flow.stats.dashboard_cases import rules_key
from mediation_flow.stats.figures import contributions, tally_of
from mediation_flow.stats.scope import Scope, year_scope
from mediation_flow.stats.tally import Tally, from_text, to_text, total
from mediation_flow.store.kept_parts import KeptParts
from mediation_flow.store.reads import reads
from mediation_flow.store.year_sums import changes, refreshed

# More places to count again than this: one pass over the report's year instead. On the million-case county a
# grid's own pass took 75-294 ms (median 129, 12 grids), a township's 0.5-1.3 s, the county's (30 townships,
# 470 grids) 19-29 s.
FEW_PLACES = 40
_KEPT: KeptParts[Tally] = KeptParts("report_tally", to_text, from_text, size=20_000)


def marks_now(engine: Engine, code: str, year: int) -> tuple[datetime, dict[str, int]]:
    """(the moment the kept year sums count to, place path → its ``CHANGED`` mark) for the places of ``code``'s
    subtree, once the sums are up to date."""
    with engine.connect() as conn:
        place = get_by_code(conn, code)
    sums = refreshed(engine, place.path, year, contributions_of_cases, rules_key())
    with engine.connect() as conn:
        return sums.as_of, changes(conn, place.path, year)


def moment_and_marks(
    engine: Engine, code: str, year: int, as_of: datetime | None
) -> tuple[datetime | None, dict[str, int] | None]:
    """What a report of ``code``'s ``year`` is counted as of: a moment in the past as given, without marks (counted
    afresh); else now, with the places' marks (``marks_now``)."""
    return (as_of, None) if as_of is not None else marks_now(engine, code, year)


def place_tallies(conn: Connection, scope: Scope, marks: dict[str, int] | None) -> dict[str, Tally]:
    """Place path → the tally of the cases registered at it, for the places of ``scope``'s subtree with cases in
    its year: kept where the place's mark in ``marks`` is unchanged; without ``marks`` (a moment in the past)
    all counted afresh."""
    if marks is None:
        return _by_place(conn, scope)
    keys = {path: f"{scope.year}:{path}" for path in marks}
    paths = {key: path for path, key in keys.items()}

    def work_out(stale: list[str]) -> dict[str, Tally]:
        counted = _counted(conn, scope, [paths[key] for key in stale], len(keys))
        return {keys[path]: tally for path, tally in counted.items() if path in keys}

    kept = _KEPT.get(conn, rules_key(), {keys[path]: mark for path, mark in marks.items()}, work_out)
    return {paths[key]: tally for key, tally in kept.items()}


def subtree_tally(tallies: dict[str, Tally], path: str) -> Tally:
    """The tally of the subtree at ``path``: its places' tallies added up."""
    return total([tally for place, tally in tallies.items() if within(place, path)])


def _counted(conn: Connection, scope: Scope, stale: list[str], places: int) -> dict[str, Tally]:
    """The tallies of the ``stale`` places (of ``places`` in all): each place's own pass for a few, else (or for
    all of them) one pass over the report's year split by place (then every place's, kept too). A place no longer
    there (moved with its parent, its cases with it) has none."""
    if len(stale) > FEW_PLACES or len(stale) == places:
        return {path: Tally() for path in stale} | _by_place(conn, scope)
    found = places_at(conn, stale)
    return {
        path: tally_of(contributions(conn, dataclasses.replace(scope, place=found[path], own_only=True)))
        if path in found else Tally()
        for path in stale
    }  # fmt: skip


def _by_place(conn: Connection, scope: Scope) -> dict[str, Tally]:
    """One pass over ``scope``'s year, split by the place each case lies at."""
    return {path: tally_of(part) for path, part in contributions(conn, scope).by_child_place().items()}


def count_county_reports(engine: Engine, years: list[int]) -> None:
    """Count and keep every county's tallies for ``years`` (after an upgrade: else the first view of a county's
    report after it counts the county's year, some twenty seconds at a million cases)."""
    with engine.connect() as conn:
        counties = [p for p in all_places(conn) if p.level == "county"]
    for county in counties:
        for year in years:
            as_of, marks = marks_now(engine, county.code, year)
            with reads(engine) as conn:
                place_tallies(conn, year_scope(conn, code=county.code, year=year, as_of=as_of), marks)


def clear() -> None:
    """Forget the tallies kept in this process (those kept in the database stay)."""
    _KEPT.clear()
