"""A year's figures of an area, or of each of its children side by side, as SQL aggregates over the report's
own rules: counted afresh (:func:`area_years`), or from the kept sums of the per-case contributions
(:func:`from_sums`; the contributions are these same statements grouped by case: ``dashboard_cases``).

Every count is ``count(distinct case_id)`` of the events meeting the condition the annual report counts them
by (:func:`~mediation_flow.stats.figures.event_conditions`, from ``figure_rules``) over the report's scope
(period, subtree, recorded by ``as_of``), escalations ``count(*)`` of their events, so each number equals the
report's for the same place, year and moment. The database does the counting: Python receives one row per
group, never a row per event.

Two statements: the year's figures (distinct over the year: :func:`year_statement`), and the same events
grouped by month, category and level escalated to for the breakdowns (:func:`breakdown_statement`), each
grouped by the keys asked for (a child place; or a case). A case has one category and one place, and registers
once, so the second statement's groups add up to the monthly, category and level figures. The 三调 states at
the period's end need the referral events in order: they are walked as the report walks them
(:mod:`~mediation_flow.stats.sandiao`), over those events only. Corrected cases (更正) are counted apart, rebuilt
as recorded by the moment counted to (:mod:`~mediation_flow.stats.corrected`, as the report counts them); the
two parts hold different cases, so their counts add up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, case, distinct, func, literal, select

from mediation_flow.stats import corrected, sandiao
from mediation_flow.stats.figures import (
    SOURCE,
    C,
    E,
    conversions_query,
    event_conditions,
    figure_rules,
    referral_channel,
    trigger_is,
)
from mediation_flow.stats.scope import Scope
from mediation_flow.store.reads import in_transaction
from mediation_flow.store.sqlbits import child_path, json_text, local_month

# The year's case counts kept per area (figure keys of figures.figure_rules); escalations count events.
YEAR_FIGURES = [
    "taken_in", "resolved", "mediation_concluded", "closed_resolved", "on_time", "on_time_judged", "referral_in",
    "referral_out", "repeat_disputes", "escalated", "reached_county",
]  # fmt: skip
YEAR_NAMES = [*YEAR_FIGURES, "escalations"]  # the columns of ``year_statement``
MONTHLY = ["taken_in", "resolved"]
WHOLE = ""  # the child key when the area is counted as one
# The kept sums' figure names beyond YEAR_FIGURES (their keys: a level, a type, a category, a month, a path).
ESCALATIONS, CONVERSIONS, BY_CATEGORY, MONTHLY_PREFIX, SANDIAO_PREFIX = (
    "escalations", "conversions", "by_category", "monthly_", "sandiao_",
)  # fmt: skip
NONE = ""  # the key of a figure counted without one (an escalation without a level)


@dataclass
class AreaYear:
    """One area's (or one child's) figures of the year."""

    values: dict[str, int] = field(default_factory=dict)
    monthly: dict[str, dict[str, int]] = field(default_factory=lambda: {k: defaultdict(int) for k in MONTHLY})
    by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    escalations_by_level: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sandiao: dict[str, dict[str, int]] = field(default_factory=dict)  # per-path figure → path → cases
    conversions: int = 0

    def value(self, key: str) -> int:
        return self.values.get(key, 0)


def _settings(conn: Connection) -> None:
    """On PostgreSQL: no JIT compiling of the wide statement (it costs more than it saves at this size)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")


def year_statement(scope: Scope, keys: list[Any], where: Any) -> Any:
    """The year's figures (``YEAR_NAMES``) of the events meeting ``where``, grouped by ``keys``: each a count of
    the distinct cases with an event meeting the figure's rule, escalations a count of events."""
    cond, rules = event_conditions(scope, in_case=True), figure_rules()
    triggers = sorted({t for k in YEAR_FIGURES for t in rules[k][0]})
    columns = [func.count(distinct(case((cond[k], E.c.case_id)))).label(k) for k in YEAR_FIGURES]
    columns.append(func.sum(case((cond["escalated"], 1), else_=0)).label("escalations"))
    return select(*keys, *columns).select_from(SOURCE).where(where, trigger_is(scope, *triggers)).group_by(*keys)


def breakdown_statement(scope: Scope, keys: list[Any], where: Any) -> Any:
    """The monthly, category and level breakdowns of the events meeting ``where``: per ``keys``, month, category
    and level escalated to, the distinct cases taken in, the distinct cases resolved and the escalations."""
    cond = event_conditions(scope, in_case=True)
    month = local_month(scope.dialect, E.c.effective_at, scope.start_utc)
    level = case((cond["escalated"], json_text(E.c.data, "to_level")), else_=None)
    groups = [*keys, month, C.c.category, level]
    grouped: list[Any] = [func.count(distinct(case((cond[k], E.c.case_id)))) for k in MONTHLY]
    grouped.append(func.sum(case((cond["escalated"], 1), else_=0)))
    counted = trigger_is(scope, *figure_rules()["taken_in"][0], *figure_rules()["resolved"][0], "escalate")
    return select(*groups, *grouped).select_from(SOURCE).where(where, counted).group_by(*groups)


def area_years(conn: Connection, scope: Scope, *, by_child: bool) -> dict[str, AreaYear]:
    """The year's figures of ``scope``'s area as one (key ``WHOLE``), or per child place path (the area's own
    path for cases registered at the area itself), counted afresh."""
    with in_transaction(conn):  # SET LOCAL needs one on PostgreSQL (store.reads)
        return _area_years(conn, scope, by_child=by_child)


def _area_years(conn: Connection, scope: Scope, *, by_child: bool) -> dict[str, AreaYear]:
    _settings(conn)
    dialect = conn.dialect.name
    child: Any = child_path(dialect, C.c.jurisdiction_path, scope.place.path) if by_child else literal(WHOLE)
    found: dict[str, AreaYear] = defaultdict(AreaYear)
    statement = year_statement(scope, [child], scope.in_scope())
    for row in corrected.rows(conn, statement, scope.as_of):  # corrected cases apart: the counts add up
        values = found[str(row[0])].values
        for k, v in zip(YEAR_NAMES, row[1:], strict=True):
            values[k] = values.get(k, 0) + int(v or 0)
    statement = breakdown_statement(scope, [child], scope.in_scope())
    for key, month_key, category, to_level, taken_in, resolved, escalations in corrected.rows(
        conn, statement, scope.as_of
    ):
        area = found[str(key)]
        area.monthly["taken_in"][month_key] += int(taken_in or 0)
        area.monthly["resolved"][month_key] += int(resolved or 0)
        area.by_category[category] += int(taken_in or 0)
        if to_level is not None:
            area.escalations_by_level[str(to_level)] += int(escalations or 0)
    _sandiao(conn, scope, child, found)
    _conversions(conn, scope, child, found)
    return dict(found)


def _sandiao(conn: Connection, scope: Scope, child: Any, found: dict[str, AreaYear]) -> None:
    """The 三调 figures per path, from the referral events walked in order as the report walks them."""
    query = sandiao.handoff_query(scope, event_conditions(scope), referral_channel()).add_columns(child)
    rows = corrected.rows(conn, query, scope.as_of)
    events: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        events[str(row[-1])].append(row[:-1])
    for key in set(found) | set(events):
        found[key].sandiao = sandiao_counts(sandiao.states_at_end(sandiao.events_of(events.get(key, []))))


def sandiao_counts(states: dict[tuple[str, str, int], str]) -> dict[str, dict[str, int]]:
    """Per-path figure → path → cases, from the referrals' states at the period's end (every path of each
    figure, 0 included), and ``referral_in``: referred in during the period, any state."""
    counts = {
        figure: {path: len(ids) for path, ids in sandiao.state_figure(states, figure).items()}
        for figure in sandiao.STATE_FIGURES
    }
    referred_in: dict[str, int] = defaultdict(int)
    for direction, path, _ in states:
        if direction == sandiao.IN:
            referred_in[path] += 1
    counts["referral_in"] = dict(referred_in)
    return counts


def _conversions(conn: Connection, scope: Scope, child: Any, found: dict[str, AreaYear]) -> None:
    """矛盾纠纷转化: cases with a conversion whose stated date falls in the period (the report's ``conversions``
    figure is the sum over conversion types of the distinct cases of each)."""
    kind = conversions_query(scope).selected_columns["key"]
    columns = (child, kind, func.count(distinct(E.c.case_id)))
    statement = conversions_query(scope).with_only_columns(*columns).group_by(child, kind)
    for key, kind_of, n in corrected.rows(conn, statement, scope.as_of):
        if kind_of is not None:
            found[str(key)].conversions += int(n)


def from_sums(rows: Iterable[tuple[str, str, str, int]]) -> dict[str, AreaYear]:
    """The areas' figures from the kept sums (child path, figure, key, n) of the per-case contributions
    (:mod:`~mediation_flow.stats.dashboard_cases`, whose figure names these are)."""
    found: dict[str, AreaYear] = defaultdict(AreaYear)
    for child, figure, key, n in rows:
        area = found[child]
        if figure in YEAR_FIGURES:
            area.values[figure] = area.values.get(figure, 0) + n
        elif figure == ESCALATIONS:
            area.values[ESCALATIONS] = area.values.get(ESCALATIONS, 0) + n
            if key != NONE:
                area.escalations_by_level[key] += n
        elif figure == CONVERSIONS:
            area.conversions += n
        elif figure == BY_CATEGORY:
            area.by_category[key] += n
        elif figure.startswith(MONTHLY_PREFIX):
            area.monthly[figure.removeprefix(MONTHLY_PREFIX)][key] += n
        elif figure.startswith(SANDIAO_PREFIX):
            paths = area.sandiao.setdefault(figure.removeprefix(SANDIAO_PREFIX), {})
            paths[key] = paths.get(key, 0) + n
    for area in found.values():
        area.sandiao = _with_every_path(area.sandiao)
    return dict(found)


def _with_every_path(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """``counts`` with every per-path figure and every path (0 where none), as the fresh count gives them."""
    empty = sandiao_counts({})
    return {figure: {**paths, **counts.get(figure, {})} for figure, paths in empty.items()}


def merged(areas: dict[str, AreaYear]) -> AreaYear:
    """The children's figures added up: the area's. A case lies under exactly one child, so the children's
    distinct counts add up to the area's (and the events they count, to the area's events)."""
    whole = AreaYear(sandiao=_with_every_path({}))
    for area in areas.values():
        for key, n in area.values.items():
            whole.values[key] = whole.values.get(key, 0) + n
        for name, months in area.monthly.items():
            for month, n in months.items():
                whole.monthly[name][month] += n
        for category, n in area.by_category.items():
            whole.by_category[category] += n
        for level, n in area.escalations_by_level.items():
            whole.escalations_by_level[level] += n
        for figure, paths in area.sandiao.items():
            into = whole.sandiao.setdefault(figure, {})
            for path, n in paths.items():
                into[path] = into.get(path, 0) + n
        whole.conversions += area.conversions
    return whole
