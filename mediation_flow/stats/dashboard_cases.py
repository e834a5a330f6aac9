"""What each case contributes to the dashboard's year figures, by the report's own rules: the rows the kept
sums (:mod:`~mediation_flow.stats.dashboard_sql` reads them, :mod:`~mediation_flow.store.year_sums` keeps them)
are made of.

The statements are the fresh count's (``dashboard_sql.year_statement`` and ``breakdown_statement``, the 三调 walk
of ``sandiao``, the conversions of ``figures``: the same conditions of ``figure_rules``) grouped by case and year
(or month) instead of by child place, over the given cases only and every year. A case's ``count(distinct
case_id)`` in a group is 0 or 1, so over a subtree's cases the contributions add up to the fresh count's numbers:
one definition of each figure, counted twice only in the sense of being added up in two orders. Corrected cases
(更正) are rebuilt as recorded now (:mod:`~mediation_flow.stats.corrected`), as the report rebuilds them for its
moment.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from mediation_flow.places.jurisdictions import Place
from mediation_flow.stats import corrected, sandiao
from mediation_flow.stats.dashboard_sql import (
    BY_CATEGORY,
    CONVERSIONS,
    ESCALATIONS,
    MONTHLY,
    MONTHLY_PREFIX,
    NONE,
    SANDIAO_PREFIX,
    YEAR_FIGURES,
    YEAR_NAMES,
    breakdown_statement,
    sandiao_counts,
    year_statement,
)
from mediation_flow.stats.definitions import settings
from mediation_flow.stats.figures import SOURCE, C, E, conversion_events, event_conditions, referral_channel
from mediation_flow.stats.scope import Scope
from mediation_flow.store.sqlbits import local_month
from mediation_flow.store.year_sums import Contribution

RULES_VERSION = 2  # raise when the code below changes what a case contributes: the kept sums are then rebuilt
LATEST = datetime(9999, 12, 31, tzinfo=UTC)  # every correction recorded so far honoured
CASE_IDS = "case_ids"  # the bound list of the cases counted
# Not a figure of the dashboard's: a case's mark in every year it has an event in (or a conversion dated in), so
# that the kept sums move in each year whose report the case's change may change (``year_sums.CHANGED``).
ACTIVE = "~active"
_EVERYWHERE = Place(id=0, code="", name="", short_name="", level="", path="/", parent_id=None)


@functools.cache
def rules_key() -> str:
    """Changes whenever what a case contributes may change: the figure settings of definitions.yaml, the figures
    kept, this module's version. Kept sums counted under another key are counted again."""
    text = json.dumps([RULES_VERSION, YEAR_FIGURES, MONTHLY, settings()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def contributions(conn: Connection, case_ids: list[int]) -> list[Contribution]:
    """(case, year, place path, figure, key, n) of every year the cases count in."""
    year_rows, breakdown_rows, handoff_rows, conversion_rows, active_rows = _statements(conn.dialect.name)
    found: dict[tuple[int, int, str, str], int] = defaultdict(int)  # (case, year, figure, key) → n
    paths: dict[int, str] = {}

    def rows(statement: Any) -> Any:
        return corrected.rows(conn, statement, LATEST, among=case_ids, parameters={CASE_IDS: case_ids})

    for case_id, path, in_year, *values in rows(year_rows):
        paths[case_id] = path
        for name, n in zip(YEAR_NAMES, values, strict=True):
            if n and name != ESCALATIONS:  # escalations by level come with the breakdowns below
                found[(case_id, int(in_year), name, NONE)] += int(n)
    for case_id, path, in_month, category, level, *counts in rows(breakdown_rows):
        paths[case_id] = path
        taken_in, resolved, escalations = (int(n or 0) for n in counts)
        in_year = int(in_month[:4])
        for name, n in zip(MONTHLY, (taken_in, resolved), strict=True):
            if n:
                found[(case_id, in_year, MONTHLY_PREFIX + name, in_month)] += n
        if taken_in:
            found[(case_id, in_year, BY_CATEGORY, str(category))] += taken_in
        if escalations:
            found[(case_id, in_year, ESCALATIONS, NONE if level is None else str(level))] += escalations
    _sandiao(rows(handoff_rows), paths, found)
    _conversions(rows(conversion_rows), paths, found)
    for case_id, path, in_year in rows(active_rows):
        paths[case_id] = path
        found[(case_id, int(in_year), ACTIVE, NONE)] = 1
    for case_id, in_year in [(key[0], key[1]) for key in found if key[2] == CONVERSIONS]:
        found[(case_id, in_year, ACTIVE, NONE)] = 1
    return [(c, y, paths[c], figure, key, n) for (c, y, figure, key), n in found.items() if n]


@functools.cache
def _statements(dialect: str) -> tuple[Any, Any, Any, Any, Any]:
    """The year, breakdown, referral, conversion and active-year statements over the cases bound as ``CASE_IDS``,
    every year (built once: building them costs more than running them for a few cases)."""
    scope = Scope(place=_EVERYWHERE, start=date(2000, 1, 1), end=date(2101, 1, 1), as_of=LATEST, dialect=dialect)
    where = E.c.case_id.in_(bindparam(CASE_IDS, expanding=True))
    year = func.substr(local_month(dialect, E.c.effective_at, scope.start_utc), 1, 4)
    case_keys: list[Any] = [E.c.case_id, C.c.jurisdiction_path]
    handoffs = sandiao.handoff_query(scope, event_conditions(scope), referral_channel(), where=where)
    return (
        year_statement(scope, [*case_keys, year], where),
        breakdown_statement(scope, case_keys, where),
        handoffs.add_columns(C.c.jurisdiction_path, year),
        conversion_events(where).add_columns(C.c.jurisdiction_path),
        select(*case_keys, year).select_from(SOURCE).where(where).group_by(*case_keys, year),
    )


def _sandiao(rows: Any, paths: dict[int, str], found: dict[Any, int]) -> None:
    """The referrals' states at each year's end, walked over that year's referral events as the report walks
    a period's (a case's walk needs only its own events)."""
    by_year: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        paths[row[0]] = row[-2]
        by_year[int(row[-1])].append(row[:-2])
    for in_year, events in by_year.items():
        per_case: dict[int, dict[tuple[str, str, int], str]] = defaultdict(dict)
        for key, state in sandiao.states_at_end(sandiao.events_of(events)).items():
            per_case[key[2]][key] = state
        for case_id, states in per_case.items():
            for figure, by_path in sandiao_counts(states).items():
                for path, n in by_path.items():
                    if n:
                        found[(case_id, in_year, SANDIAO_PREFIX + figure, path)] += n


def _conversions(rows: Any, paths: dict[int, str], found: dict[Any, int]) -> None:
    """Each conversion type a case had, in the year of the date it states (the report's period test on that
    date: from the year's first day up to the next year's)."""
    for case_id, kind, occurred, path in rows:
        if kind is None or not occurred or not str(occurred)[:4].isdigit():
            continue
        in_year = int(str(occurred)[:4])
        if f"{in_year:04d}-01-01" <= str(occurred) < f"{in_year + 1:04d}-01-01":
            paths[case_id] = path
            found[(case_id, in_year, CONVERSIONS, str(kind))] = 1
