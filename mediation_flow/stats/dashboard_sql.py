"""A year's figures of an area, or of each of its children side by side, as SQL aggregates over the report's
own rules.

Every count is ``count(distinct case_id)`` of the events meeting the condition the annual report counts them
by (:func:`~mediation_flow.stats.figures.event_conditions`, from ``figure_rules``) over the report's scope
(period, subtree, recorded by ``as_of``), escalations ``count(*)`` of their events, so each number equals the
report's for the same place, year and moment. The database does the counting: Python receives one row per
child place (and per child, month, category and escalation level), never a row per case.

Two statements: the year's figures per child (distinct over the year), and the same events grouped by
(child, month, category, level escalated to) for the breakdowns. A case has one category and one place, and
registers once, so the second statement's groups add up to the monthly, category and level figures. The
三调 states at the period's end need the referral events in order: they are walked as the report walks them
(:mod:`~mediation_flow.stats.sandiao`), over those events only. Corrected cases (更正) are counted apart, rebuilt
as recorded by the moment counted to (:mod:`~mediation_flow.stats.corrected`, as the report counts them); the
two parts hold different cases, so their counts add up.
"""

from __future__ import annotations

from collections import defaultdict
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
from mediation_flow.store.sqlbits import child_path, json_text, local_month

# The year's case counts kept per area (figure keys of figures.figure_rules); escalations count events.
YEAR_FIGURES = [
    "taken_in", "resolved", "mediation_concluded", "closed_resolved", "on_time", "on_time_judged", "referral_in",
    "referral_out", "repeat_disputes", "escalated", "reached_county",
]  # fmt: skip
MONTHLY = ["taken_in", "resolved"]
WHOLE = ""  # the child key when the area is counted as one


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


def area_years(conn: Connection, scope: Scope, *, by_child: bool) -> dict[str, AreaYear]:
    """The year's figures of ``scope``'s area as one (key ``WHOLE``), or per child place path (the area's own
    path for cases registered at the area itself)."""
    _settings(conn)
    dialect = conn.dialect.name
    child: Any = child_path(dialect, C.c.jurisdiction_path, scope.place.path) if by_child else literal(WHOLE)
    cond = event_conditions(scope, in_case=True)
    triggers = sorted({t for k in YEAR_FIGURES for t in figure_rules()[k][0]})
    where = (scope.in_scope(), trigger_is(scope, *triggers))
    found: dict[str, AreaYear] = defaultdict(AreaYear)
    columns = [func.count(distinct(case((cond[k], E.c.case_id)))).label(k) for k in YEAR_FIGURES]
    columns.append(func.sum(case((cond["escalated"], 1), else_=0)).label("escalations"))
    names = [*YEAR_FIGURES, "escalations"]
    statement = select(child, *columns).select_from(SOURCE).where(*where).group_by(child)
    for row in corrected.rows(conn, statement, scope.as_of):  # corrected cases apart: the counts add up
        values = found[str(row[0])].values
        for k, v in zip(names, row[1:], strict=True):
            values[k] = values.get(k, 0) + int(v or 0)
    month = local_month(dialect, E.c.effective_at, scope.start_utc)
    level = case((cond["escalated"], json_text(E.c.data, "to_level")), else_=None)
    keys = [child, month, C.c.category, level]
    grouped: list[Any] = [func.count(distinct(case((cond[k], E.c.case_id)))) for k in MONTHLY]
    grouped.append(func.sum(case((cond["escalated"], 1), else_=0)))
    counted = trigger_is(scope, *figure_rules()["taken_in"][0], *figure_rules()["resolved"][0], "escalate")
    statement = select(*keys, *grouped).select_from(SOURCE).where(scope.in_scope(), counted).group_by(*keys)
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
        states = sandiao.states_at_end(sandiao.events_of(events.get(key, [])))
        found[key].sandiao = {
            figure: {path: len(ids) for path, ids in sandiao.state_figure(states, figure).items()}
            for figure in sandiao.STATE_FIGURES
        }
        referred_in: dict[str, int] = defaultdict(int)  # referred in during the period, any state
        for direction, path, _ in states:
            if direction == sandiao.IN:
                referred_in[path] += 1
        found[key].sandiao["referral_in"] = dict(referred_in)


def _conversions(conn: Connection, scope: Scope, child: Any, found: dict[str, AreaYear]) -> None:
    """矛盾纠纷转化: cases with a conversion whose stated date falls in the period (the report's ``conversions``
    figure is the sum over conversion types of the distinct cases of each)."""
    sub = conversions_query(scope).add_columns(child.label("child")).subquery()
    statement = select(sub.c.child, sub.c.key, func.count(distinct(sub.c.case_id))).group_by(sub.c.child, sub.c.key)
    for key, kind, n in corrected.rows(conn, statement, scope.as_of):
        if kind is not None:
            found[str(key)].conversions += int(n)


def merged(areas: dict[str, AreaYear]) -> AreaYear:
    """The children's figures added up: the area's. A case lies under exactly one child, so the children's
    distinct counts add up to the area's (and the events they count, to the area's events)."""
    whole = AreaYear()
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
