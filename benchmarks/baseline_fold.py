"""BASELINE for benchmarks/bench_dashboard.py, as it was before issue 15: the dashboard's folded state.

A :class:`Tally` holds, for one jurisdiction subtree and year, the sets behind every number the dashboard
shows: the case ids counted per figure of the year and per breakdown key (category, child place, month), the
ids of the escalation events (counted per event), the subtree's open cases (state, level, due date) and the
cases ever escalated — and a watermark: the event id up to which every event has been read.

Counting afresh (:func:`build`) reads the year's events of the figures' triggers once. A later view
(:func:`fold`) reads only the events with a higher id, with the same conditions evaluated in SQL as flags
per figure, and unions them into the sets; set union is idempotent, so an event read twice changes nothing.
The watermark advances only to an id below which nothing can still commit (see :func:`read_version`);
otherwise it stays and the same events are read again next time.

What can change without a new event, and how it is handled:
- a case's category and place: written only at registration (``cases.intake``); no effect of the engine
  updates them (``workflow.rules`` sets mediator, level, venue, risk grade; ``ledger.bulk`` the same), so
  the keys read with an event stay right;
- a case's state, level and due date: changed only by a transition, which writes an event; the fold re-reads
  the rows of the cases its new events belong to;
- the day: decides 超期 only, computed at each view from the open cases' due dates;
- the moment counted to (``as_of``, now): an event recorded after it is not counted and holds the
  watermark below its id, so it is read again once its time has come;
- the database replaced (a restore): the watermark event's recorded time is read with every version; if it
  differs or the latest id fell below the watermark, the state is counted afresh.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, case, func, literal, select, text

from mediation_flow.places.subtree import in_subtree
from mediation_flow.stats.figures import SOURCE, event_conditions, figure_rules, grouped_conditions, trigger_is
from mediation_flow.stats.onepass import run
from mediation_flow.stats.scope import Scope
from mediation_flow.store.tables import CASES, EVENTS

# The year's figures kept as case sets (keys of figures.figure_rules); escalations are kept as event ids.
YEAR_FIGURES = ["taken_in", "resolved", "mediation_concluded", "closed_resolved"]
# Breakdown → the figure whose cases it splits (``figures.group_keys``): case sets per month (a case may reach
# agreement in two months); the splits by a case's own category and place are counted once per case taken in
# (a case has one of each, never changed: see above), which keeps no second copy of the taken-in set.
BREAKDOWNS = {"monthly_taken_in": "taken_in", "monthly_resolved": "resolved"}
SPLITS = ["by_category", "by_village"]
MAX_FOLDED = 20_000  # more new events than this: counting afresh costs about as much
# The fold's statement per (dialect, subtree, period), built once (as_of and the watermark are bound at each view).
_FOLDS: dict[tuple[str, str, date, date], Any] = {}
MAX_STATEMENTS = 256


class Version(NamedTuple):
    """The latest event id; whether an id at or below it may still commit; the watermark event's time."""

    latest: int
    unsettled: bool
    mark_time: Any


@dataclass
class Tally:
    """The counted sets of one subtree and year (see the module's docstring)."""

    watermark: int
    mark_time: Any
    cases: dict[str, set[int]] = field(default_factory=lambda: {k: set() for k in YEAR_FIGURES})
    escalations: set[int] = field(default_factory=set)  # event ids
    groups: dict[str, dict[str, set[int]]] = field(default_factory=lambda: {k: defaultdict(set) for k in BREAKDOWNS})
    splits: dict[str, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in SPLITS})
    open_cases: dict[int, tuple[str, str, date | None]] = field(default_factory=dict)  # case → state, level, due
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)  # open cases by (state, level)
    dues: Counter[date | None] = field(default_factory=Counter)  # open cases by due date (None counts 0)
    escalated: set[int] = field(default_factory=set)  # cases of the subtree with an escalate event, ever
    values: dict[tuple[str, str, date | None], tuple[str, str, date | None]] = field(default_factory=dict)
    seen: int = -1  # the latest id at the last view (a view at the same version reads nothing)
    rows_read: int = 0  # events read by the last build or fold (for tests and the benchmark)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def put(self, case_id: int, row: tuple[str, str, date | None] | None) -> None:
        """Case ``case_id`` is open as ``row`` (state, level, due date), or not open (None)."""
        old = self.open_cases.pop(case_id, None)
        if old is not None:
            self.pairs[old[:2]] -= 1
            self.dues[old[2]] -= old[2] is not None
        if row is not None:
            # one object per distinct row: tens of thousands of open cases share a few hundred
            self.open_cases[case_id] = row = self.values.setdefault(row, row)
            self.pairs[row[:2]] += 1
            self.dues[row[2]] += row[2] is not None

    def members(self) -> int:
        """How many ids the tally holds: its memory, ~80 bytes each (258,109 ids for a 63,653-case year: 20 MB)."""
        sets: list[Any] = [*self.cases.values(), *(s for g in self.groups.values() for s in g.values())]
        return sum(map(len, sets)) + len(self.escalations) + len(self.open_cases) + len(self.escalated)

    def counts(self) -> dict[str, int]:
        return {**{k: len(v) for k, v in self.cases.items()}, "escalations": len(self.escalations)}

    def breakdown(self, name: str) -> dict[str, int]:
        if name in self.splits:
            return {key: n for key, n in self.splits[name].items() if n}
        return {key: len(ids) for key, ids in self.groups[name].items() if ids}

    def current(self, today: date) -> tuple[Counter[tuple[str, str]], int, int]:
        """Open cases by (state, level); how many are overdue on ``today``; how many were ever escalated."""
        overdue = sum(n for due, n in self.dues.items() if due is not None and due < today)
        return +self.pairs, overdue, sum(1 for c in self.escalated if c in self.open_cases)


def read_version(conn: Connection, watermark: int) -> Version:
    """The latest event id, in one statement (one snapshot) with whether it is *unsettled* and the recorded
    time of event ``watermark``.

    On SQLite writers take turns, so ids commit in order: every id up to the latest is settled. On
    PostgreSQL a transaction holding a lower id may commit after a higher one: while the snapshot lists a
    writing transaction in flight, or this connection's own transaction has written, the latest id is
    unsettled (a transaction starting later takes ids above it)."""
    latest = select(func.coalesce(func.max(EVENTS.c.id), 0)).scalar_subquery()
    mark = select(EVENTS.c.recorded_at).where(EVENTS.c.id == watermark).scalar_subquery()
    if conn.dialect.name != "postgresql":
        top, mark_time = conn.execute(select(latest, mark)).one()
        return Version(int(top), False, mark_time)
    busy = text(
        "(EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot()))"
        " OR pg_current_xact_id_if_assigned() IS NOT NULL)"
    )
    top, unsettled, mark_time = conn.execute(select(latest, busy, mark)).one()
    return Version(int(top), bool(unsettled), mark_time)


def _event_columns(scope: Scope, dialect: str, as_of: Any) -> list[Any]:
    """Per event: id, case, recorded after ``as_of``, a flag per figure (the report's conditions, in the
    period), then the breakdowns' keys (month; category, child place)."""
    cond = event_conditions(scope, in_case=True)
    effective = and_(EVENTS.c.effective_at >= scope.start_utc, EVENTS.c.effective_at < scope.end_utc)
    counted = and_(effective, EVENTS.c.recorded_at <= as_of)
    flags = [case((and_(counted, cond[k]), literal(1)), else_=literal(0)) for k in [*YEAR_FIGURES, "escalated"]]
    late = case((and_(effective, EVENTS.c.recorded_at > as_of), literal(1)), else_=literal(0))
    keys = grouped_conditions(scope, dialect)
    return [EVENTS.c.id, EVENTS.c.case_id, late, *flags, *(keys[name][1] for name in [*BREAKDOWNS, *SPLITS])]


def _add(tally: Tally, rows: Any) -> int | None:
    """Union the rows of :func:`_event_columns` into the sets; the lowest id recorded too late, if any."""
    figures = list(tally.cases.values())
    taken_in = tally.cases["taken_in"]
    groups = [(tally.groups[name], YEAR_FIGURES.index(figure)) for name, figure in BREAKDOWNS.items()]
    n_figures = len(YEAR_FIGURES)
    first_split = 4 + n_figures + len(groups)
    splits = [(tally.splits[name], first_split + i) for i, name in enumerate(SPLITS)]
    too_late: int | None = None
    n = 0
    for row in rows:
        n += 1
        event_id, case_id, late = row[0], row[1], row[2]
        flags = row[3 : 4 + n_figures]
        if late and (too_late is None or event_id < too_late):
            too_late = event_id
        if flags[0] and case_id not in taken_in:
            for counts, index in splits:
                if row[index] is not None:
                    counts[str(row[index])] += 1
        for ids, flag in zip(figures, flags, strict=False):
            if flag:
                ids.add(case_id)
        if flags[n_figures]:
            tally.escalations.add(event_id)
        for (keyed, figure), key in zip(groups, row[4 + n_figures : 4 + n_figures + len(groups)], strict=True):
            if flags[figure] and key is not None:
                keyed[str(key)].add(case_id)
    tally.rows_read = n
    return too_late


def build(conn: Connection, scope: Scope, open_states: list[str], version: Version) -> Tally:
    """The tally counted afresh: the year's events of the figures' triggers (every one up to the version's
    latest id, maybe a few later ones: harmless, they are read again by the next fold), the open cases, the
    escalated cases."""
    tally = Tally(watermark=version.latest, mark_time=_recorded_at(conn, version.latest), seen=version.latest)
    triggers = sorted({t for k in [*YEAR_FIGURES, "escalated"] for t in figure_rules()[k][0]})
    effective = and_(EVENTS.c.effective_at >= scope.start_utc, EVENTS.c.effective_at < scope.end_utc)
    where = and_(effective, scope.in_subtree(), trigger_is(scope, *triggers))
    statement = select(*_event_columns(scope, conn.dialect.name, scope.as_of)).select_from(SOURCE).where(where)
    too_late = _add(tally, run(conn, statement))
    if too_late is not None and too_late <= tally.watermark:
        tally.watermark, tally.seen = too_late - 1, -1
        tally.mark_time = _recorded_at(conn, tally.watermark)
    is_open = and_(CASES.c.state.in_(open_states), scope.in_subtree())
    rows = conn.execute(select(CASES.c.id, CASES.c.state, CASES.c.level, CASES.c.due_date).where(is_open))
    for case_id, state, level, due in rows:
        tally.put(case_id, (state, level, due))
    escalated = event_conditions(scope, in_case=True)["escalated"]  # few events: from the trigger's index
    rows = conn.execute(select(EVENTS.c.case_id).distinct().select_from(SOURCE).where(escalated, scope.in_subtree()))
    tally.escalated = {r[0] for r in rows}
    return tally


def fold(conn: Connection, tally: Tally, scope: Scope, open_states: set[str], version: Version) -> bool:
    """Bring ``tally`` up to ``version`` by reading only the events above its watermark; False when there
    are too many of them to fold (count afresh instead). Call with ``tally.lock`` held."""
    if version.latest - tally.watermark > MAX_FOLDED:
        return False
    key = (conn.dialect.name, scope.place.path, scope.start, scope.end)
    statement = _FOLDS.get(key)
    if statement is None:
        escalate = trigger_is(scope, *figure_rules()["escalated"][0], in_case=True)
        columns = _event_columns(scope, conn.dialect.name, bindparam("as_of"))
        columns += [escalate, CASES.c.state, CASES.c.level, CASES.c.due_date]
        # The subtree test as LIKE, which SQLite's planner cannot answer from the path index: it must start
        # from the events above the watermark (a range of the primary key) and look their cases up.
        in_subtree_ = in_subtree(CASES.c.jurisdiction_path, scope.place.path, use_index=False)
        where = and_(EVENTS.c.id > bindparam("watermark"), in_subtree_)
        statement = select(*columns).select_from(SOURCE).where(where)
        if len(_FOLDS) >= MAX_STATEMENTS:
            _FOLDS.clear()
        _FOLDS[key] = statement
    rows = conn.execute(statement, {"as_of": scope.as_of, "watermark": tally.watermark}).all()
    too_late = _add(tally, rows)
    for row in rows:  # the cases' rows as they are now: every change to them came with one of these events
        case_id, state, level, due = row[1], row[-3], row[-2], row[-1]
        tally.put(case_id, (state, level, due) if state in open_states else None)
        if row[-4]:
            tally.escalated.add(case_id)
    if not version.unsettled:
        tally.watermark = version.latest if too_late is None else min(version.latest, too_late - 1)
        tally.mark_time = _recorded_at(conn, tally.watermark)
    tally.seen = -1 if version.unsettled or too_late is not None else version.latest
    return True


def _recorded_at(conn: Connection, event_id: int) -> Any:
    return conn.execute(select(EVENTS.c.recorded_at).where(EVENTS.c.id == event_id)).scalar_one_or_none()
