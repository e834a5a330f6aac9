"""BASELINE for benchmarks/bench_dashboard.py, as it was before issue 15: the supervisor dashboard, counted in SQL.

Two kinds of figure:
- 当前 (now): the subtree's cases not in a final state, by state and by level; of them the overdue ones (the
  nearest running deadline, ``dispute_case.due_date``, before today — the overdue queue's test) and those
  ever escalated.
- 年度 (the chosen year): figures of the annual report, counted by the report's own rules
  (:func:`~mediation_flow.stats.figures.figure_rules` via ``event_conditions`` / ``grouped_conditions``) over
  the report's own scope (:func:`~mediation_flow.stats.scope.year_scope`), so each number equals the report's
  for the same jurisdiction, year and moment; their written definitions come from ``definitions.yaml``.

Counting a year of a large subtree takes seconds, so the sets behind the numbers are kept per database,
jurisdiction and year (:class:`~mediation_flow.stats.dashboard_fold.Tally`), and each view folds in only the
events written since (:mod:`mediation_flow.stats.dashboard_fold`, which also says what can change without an
event and how that is handled).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, func, select

from benchmarks.baseline_fold import Tally, build, fold, read_version
from mediation_flow.accounts.policy import Actor
from mediation_flow.display.labels import without_codes
from mediation_flow.places.jurisdictions import Place, get_by_id
from mediation_flow.places.reference import reference_labels
from mediation_flow.stats.definitions import load_definitions
from mediation_flow.stats.figures import labelled_rows, month_labels, rate, village_labels
from mediation_flow.stats.scope import Scope, year_scope
from mediation_flow.store.tables import COUNTERS
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.vocabulary import Level
from mediation_flow.workflow.registry import REGISTRY

MAX_CACHED = 256
MAX_MEMBERS = 3_000_000  # ids kept across all tallies, ~80 bytes each: ~240 MB (a 63,653-case year: 258,109)
CacheKey = tuple[str, str, int, frozenset[str]]  # database, subtree path, year, final states
_CACHE: dict[CacheKey, Tally] = {}  # in order of use, least recent first
_LOCK = threading.Lock()
SHOWN_DEFINITIONS = ["taken_in", "resolved", "mediation_concluded", "success_rate", "closed_resolved", "escalations"]
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


def dashboard_of(engine: Engine, actor: Actor, *, today: date, year: int | None = None) -> Dashboard:
    """The dashboard as the page shows it now (its own read connection)."""
    with engine.connect() as conn:
        return dashboard(conn, actor, today=today, year=year)


def dashboard(
    conn: Connection, actor: Actor, *, today: date, year: int | None = None, as_of: datetime | None = None
) -> Dashboard:
    """The dashboard of ``actor``'s subtree: open cases as of ``today``; ``year``'s figures (default: the
    latest year with registered cases) as the annual report counts them, as of ``as_of`` (default now)."""
    place = scope_place(conn, actor)
    years = case_years(conn, place)
    year = year or (years[0] if years else today.year)
    scope = year_scope(conn, code=place.code, year=year, as_of=as_of)
    labels, finals = _state_labels(conn)
    open_states = [s for s in labels if s not in finals]
    if as_of is not None:  # a past moment: counted as asked, never kept
        version = read_version(conn, 0)
        return _board(conn, place, years, scope, today, build(conn, scope, open_states, version), labels)
    key = (conn.engine.url.render_as_string(), place.path, year, frozenset(finals))
    tally = _tally(conn, key, scope, open_states)
    with tally.lock:
        board = _board(conn, place, years, scope, today, tally, labels)
    return board


def _tally(conn: Connection, key: CacheKey, scope: Scope, open_states: list[str]) -> Tally:
    """The kept tally of ``key`` brought up to the latest event (folded in), or a new one counted afresh."""
    with _LOCK:
        tally = _CACHE.pop(key, None)
        if tally is not None:
            _CACHE[key] = tally  # most recently used last
    if tally is not None:
        with tally.lock:
            version = read_version(conn, tally.watermark)
            # the database replaced (restored from a backup): its events up to the watermark are not the ones read
            replaced = version.latest < tally.watermark or version.mark_time != tally.mark_time
            if not replaced and (version.latest == tally.seen or fold(conn, tally, scope, set(open_states), version)):
                return tally
    version = read_version(conn, 0)
    tally = build(conn, scope, open_states, version)
    if not version.unsettled:  # on PostgreSQL: only counted when no lower id could still commit
        with _LOCK:
            _CACHE[key] = tally
            while len(_CACHE) > MAX_CACHED or (len(_CACHE) > 1 and _members() > MAX_MEMBERS):
                _CACHE.pop(next(iter(_CACHE)))
    return tally


def kept_tally(conn: Connection, actor: Actor, year: int) -> Tally | None:
    """The tally kept for ``actor``'s subtree and ``year``, if any (for tests and the benchmark)."""
    _, finals = _state_labels(conn)
    key = (conn.engine.url.render_as_string(), scope_place(conn, actor).path, year, frozenset(finals))
    with _LOCK:
        return _CACHE.get(key)


def _members() -> int:
    return sum(t.members() for t in _CACHE.values())


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def _board(
    conn: Connection, place: Place, years: list[int], scope: Scope, today: date, tally: Tally, labels: dict[str, str]
) -> Dashboard:
    year = scope.year
    counts = tally.counts()
    reference = reference_labels(conn)
    months = month_labels(scope)
    registered, agreed = tally.breakdown("monthly_taken_in"), tally.breakdown("monthly_resolved")
    villages = tally.breakdown("by_village")
    return Dashboard(
        place_name=place.name,
        today=today,
        as_of=scope.as_of,
        **_current(tally, today, labels),
        year=year,
        years=years or [year],
        taken_in=counts["taken_in"],
        resolved=counts["resolved"],
        mediation_concluded=counts["mediation_concluded"],
        success_rate=rate(counts["resolved"], counts["mediation_concluded"]),
        closed_resolved=counts["closed_resolved"],
        escalations=counts["escalations"],
        monthly=[MonthBar(label, registered.get(key, 0), agreed.get(key, 0)) for key, label in months.items()],
        by_category=_bars(tally.breakdown("by_category"), reference.get("category", {}), all_keys=False),
        by_village=_bars(villages, village_labels(conn, scope, villages), all_keys=False),
        children_name=CHILD_LEVEL_NAMES.get(place.level, "下级辖区"),
        definitions=_definitions(),
        common_rules=[without_codes(load_definitions().common[k]) for k in ("period", "scope", "as_of", "unit")],
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


def _state_labels(conn: Connection) -> tuple[dict[str, str], set[str]]:
    """Every state of the current workflows → its label (in workflow order), and the final states."""
    labels: dict[str, str] = {}
    REGISTRY.current(conn, "people_mediation")  # loads every current workflow
    for name, version in REGISTRY.current_versions().items():
        for state, spec in REGISTRY.get(conn, name, version).spec.states.items():
            labels.setdefault(state, spec.label)
    return labels, set(REGISTRY.final_states())


def _current(tally: Tally, today: date, labels: dict[str, str]) -> dict[str, Any]:
    """Open cases of the subtree now: totals, by state and by level; overdue; ever escalated."""
    pairs, overdue, escalated_open = tally.current(today)
    by_state: dict[str, int] = {}
    by_level: dict[str, int] = {}
    for (state, level), n in pairs.items():
        by_state[state] = by_state.get(state, 0) + n
        by_level[level] = by_level.get(level, 0) + n
    order = list(labels)
    return {
        "open_total": sum(by_state.values()),
        "overdue_total": overdue,
        "escalated_open": escalated_open,
        "by_state": [Bar(labels[s], by_state[s]) for s in sorted(by_state, key=order.index)],
        "by_level": [Bar(f"{lv.label}级", by_level[lv.value]) for lv in Level if by_level.get(lv.value)],
    }


def _bars(counts: dict[str, int], labels: dict[str, str], *, all_keys: bool) -> list[Bar]:
    rows = labelled_rows(counts, labels, all_keys=all_keys)
    return sorted((Bar(r["label"], r["count"]) for r in rows), key=lambda b: -b.value)


def _definitions() -> list[Definition]:
    """The written definitions of the figures shown (definitions.yaml), as a reader of the page needs them."""
    figures = load_definitions().figures
    shown = [*SHOWN_DEFINITIONS, "monthly", "by_category", "by_village"]
    return [Definition(figures[k].label, _sentence(figures[k])) for k in shown]


def _sentence(figure: Any) -> str:
    text = without_codes(figure.numerator)
    if figure.denominator != "无。":
        text += f"分母：{without_codes(figure.denominator)}"
    return text + f"日期：{without_codes(figure.date)}"
