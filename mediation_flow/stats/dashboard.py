"""The supervisor dashboard of a user's jurisdiction subtree, counted by the database.

Two kinds of figure:
- 当前 (now): the subtree's open cases by state and by level, overdue, in mediation, open and ever escalated,
  summed from the maintained counts (:mod:`~mediation_flow.stats.dashboard_current`): right at every moment.
- 年度 (the chosen year): figures of the annual report, counted by the report's own rules over the report's own
  scope, so each number equals the report's for the same jurisdiction, year and moment (``as_of``, shown on the
  page); their written definitions come from ``definitions.yaml``. They are read from kept sums
  (:mod:`~mediation_flow.store.year_sums`): what each case contributes to each year's figures
  (:mod:`~mediation_flow.stats.dashboard_cases`, the statements of :mod:`~mediation_flow.stats.dashboard_sql`
  grouped by case), summed per place, the cases written since counted again before every read, so a subtree's
  year costs a few hundred rows whatever its size. A moment in the past (some event recorded after it) is
  counted afresh (``dashboard_sql.area_years``).

The figures read are kept in the process per database, subtree and year while they still count every committed
event of it (``year_sums.still_counted``: nothing queued to be counted again, the subtree's mark unmoved): a step,
a registration or a correction (更正) in the subtree is in the next view, as in the report. The page says the moment
they were counted to, and a report asked for with that moment (every drill-down link carries it) gives the same
numbers. The page's whole board (:func:`dashboard_of`) is kept too, while nothing is written and until its year
figures are a minute old. Unchanged figures older than :data:`KEEP_SECONDS` are still shown while one background
thread reads them again (which moves the moment shown); older than :data:`STALE_SECONDS` the view waits for it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, func, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.display.labels import without_codes
from mediation_flow.places.jurisdictions import Place, get_by_id
from mediation_flow.places.reference import reference_labels
from mediation_flow.stats.dashboard_cases import contributions, rules_key
from mediation_flow.stats.dashboard_current import current, state_labels
from mediation_flow.stats.dashboard_sql import AreaYear, area_years, from_sums, merged
from mediation_flow.stats.definitions import figures_at, load_definitions, settings
from mediation_flow.stats.figures import month_labels, rate, village_labels
from mediation_flow.stats.scope import Scope, year_scope
from mediation_flow.store import clock
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import COUNTERS
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.unchanged import KeptWhileUnchanged
from mediation_flow.store.year_sums import mark, refreshed, still_counted
from mediation_flow.vocabulary import Level

KEEP_SECONDS = 60.0  # how long a year's counted figures are shown before they are counted again
STALE_SECONDS = 900.0  # how long older figures may be shown while they are counted again behind the page
MAX_KEPT = 256
_KEPT: dict[
    tuple[str, str, int], tuple[float, Scope, dict[str, AreaYear], int]
] = {}  # (database, path, year) → (counted when, scope, figures, the subtree's year_sums.mark)
_LOCKS: dict[tuple[str, str, int], threading.Lock] = {}
_LOCK = threading.Lock()
SHOWN_DEFINITIONS = [
    "taken_in", "resolved", "mediation_concluded", "success_rate", "closed_resolved", "on_time_rate", "escalations",
]  # fmt: skip


class Bar(NamedTuple):
    label: str
    value: int
    key: str = ""  # what the drill-down takes back (a state, level, category, child code or month)


class MonthBar(NamedTuple):
    label: str
    taken_in: int
    resolved: int
    key: str = ""


class PathRow(NamedTuple):
    """三调 of one path (警调, 访调, 诉调): referred in, of them answered / still open; referred out, answered."""

    key: str
    label: str
    values: dict[str, int]


@dataclass(frozen=True)
class Definition:
    label: str
    text: str


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard page shows, labels included."""

    place_name: str
    place_code: str
    today: date
    as_of: datetime
    # 当前
    open_total: int
    overdue_total: int
    in_mediation: int
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
    on_time: int
    on_time_judged: int
    on_time_rate: float | None
    escalations: int
    referral_in: int
    referral_out: int
    repeat_disputes: int
    conversions: int
    sandiao: list[PathRow]
    monthly: list[MonthBar]
    by_category: list[Bar]
    by_village: list[Bar]
    escalations_by_level: list[Bar]
    by_place_label: str  # by_village's heading at the scope's level (按村（社区）, 按乡镇（街道）, 按网格, …)
    definitions: list[Definition]
    common_rules: list[str]


# The page's dashboards, kept while nothing is written (store.unchanged) and at most until their year figures
# would be counted again (``as_of`` + KEEP_SECONDS): a view past that moment reaches ``year_figures``, which counts
# them again behind the page as it always did. The day is in the key (the 当前 counts change with it).
_BOARDS: KeptWhileUnchanged[Dashboard] = KeptWhileUnchanged(size=MAX_KEPT)


def dashboard_of(engine: Engine, actor: Actor, *, today: date, year: int | None = None) -> Dashboard:
    """The dashboard as the page shows it now (its own read connection)."""
    now = clock.utcnow()
    with reads(engine) as conn:

        def work_out() -> tuple[Dashboard, datetime]:
            board = dashboard(conn, actor, today=today, year=year)
            return board, board.as_of + timedelta(seconds=KEEP_SECONDS)

        return _BOARDS.get_until(conn, (actor, today, year), now, work_out)


def dashboard(
    conn: Connection, actor: Actor, *, today: date, year: int | None = None, as_of: datetime | None = None
) -> Dashboard:
    """The dashboard of ``actor``'s subtree: open cases as of ``today``; ``year``'s figures (default: the
    latest year with registered cases) as the annual report counts them, as of ``as_of`` (default: now, or
    the moment kept figures were counted to, at most :data:`KEEP_SECONDS` ago)."""
    place = scope_place(conn, actor)
    years = case_years(conn, place)
    year = year or (years[0] if years else today.year)
    scope, children = year_figures(conn, place, year, as_of)
    now = current(conn, place.path, today, by_child=False).get("", None)
    return _board(conn, place, years, scope, today, children, now)


def year_figures(
    conn: Connection, place: Place, year: int, as_of: datetime | None
) -> tuple[Scope, dict[str, AreaYear]]:
    """The year's figures of each child of ``place`` (by child path) as of ``as_of`` (counted now), or, with
    ``as_of`` None, as kept while they still count every committed event (see the module), else counted now."""
    if as_of is not None:
        return _counted_as_of(conn, place, year, as_of)
    key = (conn.engine.url.render_as_string(), place.path, year)
    with _LOCK:
        lock = _LOCKS.setdefault(key, threading.Lock())
    kept = _current(conn, key, place, year, STALE_SECONDS)
    if kept is not None:
        if time.monotonic() - kept[0] >= KEEP_SECONDS and lock.acquire(blocking=False):
            threading.Thread(target=_recount_behind, args=(conn.engine, key, place, year, lock), daemon=True).start()
        return kept[1], kept[2]
    with lock:  # one count per place and year at a time; the others wait for it and share it
        kept = _current(conn, key, place, year, KEEP_SECONDS)
        if kept is not None:
            return kept[1], kept[2]
        return _count_and_keep(conn, key, place, year)


def _current(
    conn: Connection, key: tuple[str, str, int], place: Place, year: int, within: float
) -> tuple[float, Scope, dict[str, AreaYear], int] | None:
    """The figures kept for ``key`` if counted less than ``within`` seconds ago and still counting every event."""
    kept = _KEPT.get(key)
    if kept is None or time.monotonic() - kept[0] >= within or not still_counted(conn, place.path, year, kept[3]):
        return None
    return kept


def count_kept_figures(engine: Engine) -> None:
    """Bring the kept year sums up to date now: after an upgrade or a change of the figure settings every case is
    counted again (half a minute at 100,000 cases), which would otherwise fall on the first dashboard view."""
    refreshed(engine, "/", clock.local_date(clock.utcnow()).year, contributions, rules_key())


def _counted_as_of(conn: Connection, place: Place, year: int, as_of: datetime) -> tuple[Scope, dict[str, AreaYear]]:
    """The kept sums when they count exactly the events recorded by ``as_of`` (none recorded later), else the
    fresh count (a moment in the past)."""
    scope = year_scope(conn, code=place.code, year=year, as_of=as_of)
    sums = refreshed(conn.engine, place.path, year, contributions, rules_key())
    if sums.recorded_until is None or sums.recorded_until <= scope.as_of:
        return scope, from_sums(sums.rows)
    return scope, area_years(conn, scope, by_child=True)


def _count_and_keep(
    conn: Connection, key: tuple[str, str, int], place: Place, year: int
) -> tuple[Scope, dict[str, AreaYear]]:
    sums = refreshed(conn.engine, place.path, year, contributions, rules_key())
    scope = year_scope(conn, code=place.code, year=year, as_of=sums.as_of)
    children = from_sums(sums.rows)
    with _LOCK:
        _KEPT.pop(key, None)
        _KEPT[key] = (time.monotonic(), scope, children, mark(sums.rows))
        while len(_KEPT) > MAX_KEPT:
            _KEPT.pop(next(iter(_KEPT)))
    return scope, children


def _recount_behind(engine: Engine, key: tuple[str, str, int], place: Place, year: int, lock: threading.Lock) -> None:
    """Read kept figures again on a connection of its own (``lock`` held by the caller for this thread); the
    views meanwhile show the kept ones. A failure leaves them kept; the next view past the minute tries again."""
    try:
        with engine.connect() as conn:  # a thread of its own, outside any request
            _count_and_keep(conn, key, place, year)
    except Exception:  # a background count must not die silently, nor take the page with it
        logging.getLogger(__name__).exception("年度数字后台重新统计失败")
    finally:
        lock.release()


def clear_cache() -> None:
    with _LOCK:
        _KEPT.clear()


def _board(
    conn: Connection,
    place: Place,
    years: list[int],
    scope: Scope,
    today: date,
    children: dict[str, AreaYear],
    now: Any,
) -> Dashboard:
    reference = reference_labels(conn)
    year = merged(children)
    v = year.value
    villages = {path: area.value("taken_in") for path, area in children.items()}
    labels, codes = village_labels(conn, scope, villages), child_codes_of(conn, scope)
    labels_of_states = state_labels(conn)
    return Dashboard(
        place_name=place.name,
        place_code=place.code,
        today=today,
        as_of=scope.as_of,
        open_total=now.open_total if now else 0,
        overdue_total=now.overdue if now else 0,
        in_mediation=now.in_mediation if now else 0,
        escalated_open=now.escalated_open if now else 0,
        by_state=[
            Bar(labels_of_states[s], now.by_state[s], s) for s in labels_of_states if now and now.by_state.get(s)
        ],
        by_level=[
            Bar(f"{lv.label}级", now.by_level[lv.value], lv.value) for lv in Level if now and now.by_level.get(lv.value)
        ],
        year=scope.year,
        years=years or [scope.year],
        taken_in=v("taken_in"),
        resolved=v("resolved"),
        mediation_concluded=v("mediation_concluded"),
        success_rate=rate(v("resolved"), v("mediation_concluded")),
        closed_resolved=v("closed_resolved"),
        on_time=v("on_time"),
        on_time_judged=v("on_time_judged"),
        on_time_rate=rate(v("on_time"), v("on_time_judged")),
        escalations=v("escalations"),
        referral_in=v("referral_in"),
        referral_out=v("referral_out"),
        repeat_disputes=v("repeat_disputes"),
        conversions=year.conversions,
        sandiao=path_rows(year),
        monthly=[
            MonthBar(label, year.monthly["taken_in"].get(key, 0), year.monthly["resolved"].get(key, 0), key)
            for key, label in month_labels(scope).items()
        ],
        by_category=_bars(year.by_category, reference.get("category", {})),
        by_village=sorted(
            (Bar(labels.get(p, p), n, codes.get(p, "")) for p, n in villages.items() if n), key=lambda b: -b.value
        ),
        escalations_by_level=[
            Bar(f"{lv.label}级", year.escalations_by_level.get(lv.value, 0), lv.value)
            for lv in Level
            if year.escalations_by_level.get(lv.value)
        ],
        by_place_label=figures_at(place.level)["by_village"].label,
        definitions=_definitions(place.level),
        common_rules=[without_codes(load_definitions().common[k]) for k in ("period", "scope", "as_of", "unit")],
    )


def path_rows(year: AreaYear) -> list[PathRow]:
    """The 三调 figures per path, in the order of definitions.yaml."""
    paths = settings()["handoff"]["paths"]
    return [
        PathRow(p, label, {f: year.sandiao.get(f, {}).get(p, 0) for f in year.sandiao}) for p, label in paths.items()
    ]


def child_codes_of(conn: Connection, scope: Scope) -> dict[str, str]:
    rows = conn.execute(select(JUR.c.path, JUR.c.code).where(JUR.c.parent_id == scope.place.id))
    return {scope.place.path: scope.place.code, **{path: code for path, code in rows}}


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


def _bars(counts: dict[str, int], labels: dict[str, str]) -> list[Bar]:
    return sorted((Bar(labels.get(k, k), n, k) for k, n in counts.items() if n), key=lambda b: -b.value)


def _definitions(level: str) -> list[Definition]:
    """The written definitions of the figures shown (definitions.yaml), as a reader of the page needs them."""
    figures = figures_at(level)
    shown = [*SHOWN_DEFINITIONS, "monthly", "by_category", "by_village"]
    return [Definition(figures[k].label, _sentence(figures[k])) for k in shown]


def _sentence(figure: Any) -> str:
    text = without_codes(figure.numerator)
    if figure.denominator != "无。":
        text += f"分母：{without_codes(figure.denominator)}"
    return text + f"日期：{without_codes(figure.date)}"
