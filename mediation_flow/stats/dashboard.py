"""The supervisor dashboard of a user's jurisdiction subtree, counted in SQL.

Two kinds of figure:
- 当前 (now): the subtree's cases not in a final state, by state and by level; of them the overdue ones (the
  nearest running deadline, ``dispute_case.due_date``, before today — the overdue queue's test) and those
  ever escalated. Counted over the case rows with GROUP BY.
- 年度 (the chosen year): figures of the annual report, counted by the report's own rules
  (:func:`~mediation_flow.stats.figures.figure_rules` via ``event_conditions`` / ``grouped_conditions``) over
  the report's own scope (:func:`~mediation_flow.stats.scope.year_scope`), so each number equals the report's
  for the same jurisdiction, year and moment; their written definitions come from ``definitions.yaml``.

Counting a year of a large subtree takes seconds, so the result is kept per database, jurisdiction, year and day,
together with the data version it was counted at (:func:`data_version`); it is used only while that version is
unchanged. Every change to a case writes an event, so an unchanged version means unchanged figures.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, case, distinct, func, select, text

from mediation_flow.accounts.policy import Actor
from mediation_flow.places.jurisdictions import Place, get_by_id
from mediation_flow.places.reference import load_reference
from mediation_flow.stats.definitions import load_definitions
from mediation_flow.stats.figures import (
    SOURCE,
    event_conditions,
    figure_rules,
    grouped_conditions,
    labelled_rows,
    month_labels,
    rate,
    trigger_is,
    village_labels,
)
from mediation_flow.stats.scope import CASES, EVENTS, Scope, year_scope
from mediation_flow.store.models import CaseCounter, Jurisdiction
from mediation_flow.vocabulary import Level
from mediation_flow.workflow.registry import REGISTRY

JUR, COUNTERS = Jurisdiction.__table__, CaseCounter.__table__
MAX_CACHED = 256
CODE_NAME = re.compile(r"[A-Za-z_]{2,}")
_CACHE: dict[tuple[str, str, int, date], tuple[int, Dashboard]] = {}
_LOCK = threading.Lock()
# The year's figures the page shows, in order (keys of definitions.yaml; escalations counts events).
YEAR_FIGURES = ["taken_in", "resolved", "mediation_concluded", "closed_resolved"]
SHOWN_DEFINITIONS = ["taken_in", "resolved", "mediation_concluded", "success_rate", "closed_resolved", "escalations"]
BREAKDOWNS = ["monthly_taken_in", "monthly_resolved", "by_category", "by_village"]
CHILD_LEVEL_NAMES = {"county": "乡镇（街道）", "township": "村（社区）", "village": "网格"}


class Bar(NamedTuple):
    label: str
    value: int


class MonthBar(NamedTuple):
    label: str
    taken_in: int
    resolved: int


@dataclass(frozen=True)
class Definition:
    label: str
    text: str


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard page shows, labels included."""

    place_name: str
    today: date
    as_of: datetime
    # 当前
    open_total: int
    overdue_total: int
    escalated_open: int
    by_state: list[Bar]
    by_level: list[Bar]
    # 年度
    year: int
    years: list[int]
    taken_in: int
    resolved: int
    mediation_concluded: int
    success_rate: float | None
    closed_resolved: int
    escalations: int
    monthly: list[MonthBar]
    by_category: list[Bar]
    by_village: list[Bar]
    children_name: str  # what the subtree's children are called (村（社区）, 网格, …)
    definitions: list[Definition]
    common_rules: list[str]


def dashboard(
    conn: Connection, actor: Actor, *, today: date, year: int | None = None, as_of: datetime | None = None
) -> Dashboard:
    """The dashboard of ``actor``'s subtree: open cases as of ``today``; ``year``'s figures (default: the
    latest year with registered cases) as the annual report counts them, as of ``as_of`` (default now)."""
    place = scope_place(conn, actor)
    years = case_years(conn, place)
    year = year or (years[0] if years else today.year)
    scope = year_scope(conn, code=place.code, year=year, as_of=as_of)
    if as_of is not None:  # a past moment: counted as asked, never cached
        return _count(conn, place, years, scope, today)
    key = (conn.engine.url.render_as_string(), place.path, year, today)
    before = data_version(conn)
    cached = _CACHE.get(key)
    if before is not None and cached is not None and cached[0] == before:
        return replace(cached[1], as_of=scope.as_of, years=years or [year])
    board = _count(conn, place, years, scope, today)
    if before is not None and data_version(conn) == before:  # nothing was written while counting
        with _LOCK:
            _CACHE[key] = (before, board)
            while len(_CACHE) > MAX_CACHED:
                _CACHE.pop(next(iter(_CACHE)))
    return board


def data_version(conn: Connection) -> int | None:
    """The id of the latest event, or None when a result counted now must not be kept.

    Every write to a case inserts an event in the same transaction. On SQLite writers take turns, so ids are
    committed in order and a new commit always raises the latest id. On PostgreSQL a transaction holding a
    lower id may still commit after a higher one: while any writing transaction is in flight (the snapshot
    lists one) the answer is None, and a transaction that starts later takes ids above the latest."""
    latest = select(func.coalesce(func.max(EVENTS.c.id), 0)).scalar_subquery()
    if conn.dialect.name != "postgresql":
        return int(conn.execute(select(latest)).scalar_one())
    in_flight = text("EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()))")
    top, busy = conn.execute(select(latest, in_flight)).one()  # one statement: one snapshot
    return None if busy else int(top)


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def _count(conn: Connection, place: Place, years: list[int], scope: Scope, today: date) -> Dashboard:
    year = scope.year
    current = _current(conn, scope, today)
    counts, grouped = _year_counts(conn, scope)
    reference = load_reference(conn)
    months = month_labels(scope)
    registered, agreed = grouped["monthly_taken_in"], grouped["monthly_resolved"]
    villages = grouped["by_village"]
    return Dashboard(
        place_name=place.name,
        today=today,
        as_of=scope.as_of,
        **current,
        year=year,
        years=years or [year],
        taken_in=counts["taken_in"],
        resolved=counts["resolved"],
        mediation_concluded=counts["mediation_concluded"],
        success_rate=rate(counts["resolved"], counts["mediation_concluded"]),
        closed_resolved=counts["closed_resolved"],
        escalations=counts["escalations"],
        monthly=[MonthBar(label, registered.get(key, 0), agreed.get(key, 0)) for key, label in months.items()],
        by_category=_bars(grouped["by_category"], reference.get("category", {}), all_keys=False),
        by_village=_bars(villages, village_labels(conn, scope, villages), all_keys=False),
        children_name=CHILD_LEVEL_NAMES.get(place.level, "下级辖区"),
        definitions=_definitions(),
        common_rules=[plain(load_definitions().common[k]) for k in ("period", "scope", "as_of", "unit")],
    )


def scope_place(conn: Connection, actor: Actor) -> Place:
    """The jurisdiction whose subtree the actor sees (an admin: the top of the tree)."""
    if actor.jurisdiction_id is not None:
        return get_by_id(conn, actor.jurisdiction_id)
    root = conn.execute(select(JUR.c.id).where(JUR.c.parent_id.is_(None)).order_by(JUR.c.code).limit(1)).scalar_one()
    return get_by_id(conn, root)


def case_years(conn: Connection, place: Place) -> list[int]:
    """The years in which cases were numbered in the place's township (or the townships under it), latest first:
    the case counters, a few rows, rather than a scan of the subtree's cases."""
    in_tree = func.substr(place.path, 1, func.length(JUR.c.path)) == JUR.c.path  # the place or above it
    under = JUR.c.path.like(place.path + "%")
    rows = conn.execute(
        select(COUNTERS.c.year)
        .distinct()
        .select_from(COUNTERS.join(JUR, JUR.c.id == COUNTERS.c.township_id))
        .where(COUNTERS.c.last > 0, in_tree | under)
        .order_by(COUNTERS.c.year.desc())
    )
    return [int(y) for (y,) in rows]


def _current(conn: Connection, scope: Scope, today: date) -> dict[str, Any]:
    """Open cases of the subtree now: totals, by state and by level; overdue; ever escalated."""
    labels: dict[str, str] = {}
    REGISTRY.current(conn, "people_mediation")  # loads every current workflow
    for name, version in REGISTRY.current_versions().items():
        for state, spec in REGISTRY.get(conn, name, version).spec.states.items():
            labels.setdefault(state, spec.label)
    finals = REGISTRY.final_states()
    # The open states named (not "not final"), so that the (state, path, …, level, due_date) index answers.
    is_open = and_(CASES.c.state.in_([s for s in labels if s not in finals]), scope.in_subtree())
    overdue = func.sum(case((CASES.c.due_date < today, 1), else_=0))
    rows = conn.execute(
        select(CASES.c.state, CASES.c.level, func.count(), overdue)
        .where(is_open)
        .group_by(CASES.c.state, CASES.c.level)
    ).all()
    escalated = event_conditions(scope, in_case=True)["escalated"]  # few events: start from the trigger's index
    escalated_open = conn.execute(
        select(func.count(distinct(EVENTS.c.case_id))).select_from(SOURCE).where(escalated, is_open)
    ).scalar_one()
    by_state: dict[str, int] = {}
    by_level: dict[str, int] = {}
    for state, level, n, _ in rows:
        by_state[state] = by_state.get(state, 0) + n
        by_level[level] = by_level.get(level, 0) + n
    order = list(labels)
    return {
        "open_total": sum(by_state.values()),
        "overdue_total": int(sum(r[3] or 0 for r in rows)),
        "escalated_open": int(escalated_open),
        "by_state": [Bar(labels[s], by_state[s]) for s in sorted(by_state, key=order.index)],
        "by_level": [Bar(f"{lv.label}级", by_level[lv.value]) for lv in Level if by_level.get(lv.value)],
    }


def _year_counts(conn: Connection, scope: Scope) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """The year's figures and breakdowns by the report's conditions and grouping keys, in two statements.

    A case has one category and one place: grouped by (category, child place), each case falls in one group,
    so the groups' distinct counts add up to the year's. Months are grouped apart (a case may reach agreement
    in two months). Only the events of the figures' triggers are read."""
    conditions = grouped_conditions(scope, conn.dialect.name)
    cond = event_conditions(scope)
    figures = [*YEAR_FIGURES, "escalated"]
    triggers = sorted({t for k in figures for t in figure_rules()[k][0]})
    cases_of = [func.count(distinct(case((cond[k], EVENTS.c.case_id)))) for k in YEAR_FIGURES]
    keys = [conditions["by_category"][1], conditions["by_village"][1]]
    escalations = func.sum(case((cond["escalated"], 1), else_=0))
    where = and_(scope.in_scope(), trigger_is(scope, *triggers))
    query = select(*keys, *cases_of, escalations).select_from(SOURCE).where(where).group_by(*keys)
    totals = dict.fromkeys([*YEAR_FIGURES, "escalations"], 0)
    out: dict[str, dict[str, int]] = {name: {} for name in BREAKDOWNS}
    for category, place, *counts in conn.execute(query):
        for name, n in zip([*YEAR_FIGURES, "escalations"], counts, strict=True):
            totals[name] += int(n or 0)
        taken_in = int(counts[0] or 0)
        for name, key in (("by_category", category), ("by_village", place)):
            if key is not None and taken_in:
                out[name][str(key)] = out[name].get(str(key), 0) + taken_in
    month = conditions["monthly_taken_in"][1]
    monthly = [("monthly_taken_in", cond["taken_in"]), ("monthly_resolved", cond["resolved"])]
    month_triggers = sorted({t for k in ("taken_in", "resolved") for t in figure_rules()[k][0]})
    query = (
        select(month, *(func.count(distinct(case((c, EVENTS.c.case_id)))) for _, c in monthly))
        .select_from(SOURCE)
        .where(scope.in_scope(), trigger_is(scope, *month_triggers))
        .group_by(month)
    )
    for key, *counts in conn.execute(query):
        for (name, _), n in zip(monthly, counts, strict=True):
            if key is not None and n:
                out[name][str(key)] = int(n)
    return totals, out


def _bars(counts: dict[str, int], labels: dict[str, str], *, all_keys: bool) -> list[Bar]:
    rows = labelled_rows(counts, labels, all_keys=all_keys)
    return sorted((Bar(r["label"], r["count"]) for r in rows), key=lambda b: -b.value)


def _definitions() -> list[Definition]:
    """The written definitions of the figures shown (definitions.yaml), as a reader of the page needs them."""
    figures = load_definitions().figures
    shown = [*SHOWN_DEFINITIONS, "monthly", "by_category", "by_village"]
    return [Definition(figures[k].label, _sentence(figures[k])) for k in shown]


def _sentence(figure: Any) -> str:
    text = plain(figure.numerator)
    if figure.denominator != "无。":
        text += f"分母：{plain(figure.denominator)}"
    return text + f"日期：{plain(figure.date)}"


def plain(text: str) -> str:
    """A definition without the internal names it cites for the developer ('（register 事件）',
    '（effective_at）'): in each bracket the parts naming one are dropped, an emptied bracket with them."""

    def keep(match: re.Match[str]) -> str:
        parts = [p for p in re.split("[，,]", match.group(1)) if not CODE_NAME.search(p)]
        return f"（{'，'.join(parts)}）" if parts else ""

    return re.sub(r"（([^（）]*)）", keep, text)
