"""The county view (县司法局, 依法治县办): every township of a county side by side, sortable, each number with
the cases behind it, and the townships' registrations by month.

A row per township: caseload (taken in during the year), open, in mediation and overdue now, the on-time rate
with its denominator, escalations by the level escalated to, 三调 referrals in and out per path, conversions
and repeat disputes. The year's figures are the annual report's (one SQL aggregate over the county grouped by
township: :mod:`~mediation_flow.stats.dashboard_sql`), the 当前 ones the maintained counts
(:mod:`~mediation_flow.stats.dashboard_current`). Who sees which township: ``accounts.policy.townships_in_view``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from mediation_flow.accounts.policy import Actor, Permission, can_see, require, townships_in_view
from mediation_flow.errors import InvalidData, NotFound, PermissionDenied
from mediation_flow.places.jurisdictions import Place, ancestors, get_by_code, get_by_id, townships_of
from mediation_flow.stats.dashboard import KEEP_SECONDS, case_years, year_figures
from mediation_flow.stats.dashboard_current import Current, current
from mediation_flow.stats.dashboard_sql import AreaYear, merged
from mediation_flow.stats.definitions import settings
from mediation_flow.stats.figures import month_labels, rate
from mediation_flow.store import clock
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.unchanged import KeptWhileUnchanged
from mediation_flow.vocabulary import Level

ESCALATION_LEVELS = [Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY]


@dataclass(frozen=True)
class Column:
    """A sortable column: its key (the ``sort`` parameter), heading, and the figure its number drills into
    (``year``: a figure of the report, ``now``: a 当前 figure; ``key`` the breakdown key, if any)."""

    key: str
    heading: str
    kind: str
    figure: str
    figure_key: str | None = None


def columns() -> list[Column]:
    """The county table's columns, in order (the 三调 paths and levels from definitions.yaml and the vocabulary)."""
    paths = settings()["handoff"]["paths"]
    found = [
        Column("taken_in", "受理", "year", "taken_in"),
        Column("open", "办理中", "now", "open"),
        Column("in_mediation", "调解中（含中止）", "now", "in_mediation"),
        Column("overdue", "超期", "now", "overdue"),
        Column("on_time_rate", "按期调结率", "rate", "on_time"),
    ]
    found += [Column(f"escalated_{lv.value}", f"提级至{lv.label}级", "year", "escalations", lv.value) for lv in
              ESCALATION_LEVELS]  # fmt: skip
    found += [Column(f"in_{p}", f"{label}转入", "year", "referral_in", p) for p, label in paths.items()]
    found += [Column(f"out_{p}", f"{label}转出", "year", "referral_out_agency", p) for p, label in paths.items()]
    found += [
        Column("conversions", "转化", "year", "conversions"),
        Column("repeat", "重复纠纷", "year", "repeat_disputes"),
    ]
    return found


@dataclass(frozen=True)
class TownshipRow:
    code: str
    name: str
    values: dict[str, Any]  # column key → number (the rate: a float or None)
    on_time: int
    on_time_judged: int
    monthly: list[int]  # taken in per month of the year


@dataclass(frozen=True)
class CountyView:
    county: Place
    year: int
    years: list[int]
    today: date
    as_of: datetime
    columns: list[Column]
    rows: list[TownshipRow]
    total: TownshipRow | None  # the county's own row (only for those who see the county)
    sort: str
    descending: bool
    months: list[tuple[str, str]]  # (key, label) of each month of the year


def county_of(conn: Connection, actor: Actor, code: str | None) -> Place:
    """The county asked for (``code``), else the one the user's jurisdiction lies in (an admin: the first)."""
    if code:
        try:
            place = get_by_code(conn, code)
        except NotFound:
            raise NotFound("辖区不存在或不在您的管辖范围内", code=code[:32]) from None
        if place.level != "county":
            raise InvalidData([{"field": "county", "message": "请选择县（区）"}])
        if not (can_see(actor, place.path) or any(can_see(actor, t.path) for t in townships_of(conn, place))):
            raise NotFound("辖区不存在或不在您的管辖范围内", code=code[:32])
        return place
    if actor.jurisdiction_id is not None:
        mine = get_by_id(conn, actor.jurisdiction_id)
        county = next((p for p in ancestors(conn, mine) if p.level == "county"), None)
        if county is None:
            raise NotFound("您的辖区不属于任何县（区）")
        return county
    first = conn.execute(select(JUR.c.code).where(JUR.c.level == "county").order_by(JUR.c.code).limit(1)).scalar()
    if first is None:
        raise NotFound("还没有县（区）")
    return get_by_code(conn, str(first))


def county_view(
    engine: Engine,
    actor: Actor,
    *,
    today: date,
    code: str | None = None,
    year: int | None = None,
    sort: str = "taken_in",
    descending: bool = True,
) -> CountyView:
    """The townships of the county side by side for ``year`` (default: the latest with cases), sorted by the
    column ``sort`` (ties by township code)."""
    require(actor, Permission.READ_REPORTS)
    shown = columns()
    if sort not in {c.key for c in shown}:
        raise InvalidData([{"field": "sort", "message": "排序列无效"}])
    moment = clock.utcnow()
    with reads(engine) as conn:

        def work_out() -> tuple[CountyView, datetime]:
            view = _county_view(conn, actor, today, code, year, shown, sort, descending)
            return view, view.as_of + timedelta(seconds=KEEP_SECONDS)

        return _VIEWS.get_until(conn, (actor, today, code, year, sort, descending), moment, work_out)


# Views kept while nothing is written and at most until their year figures would be counted again, as the
# dashboards are (stats.dashboard): the same object comes back, so the page renders its body once
# (web.pages.common.rendered_once; 164 kB of HTML for 30 townships, ~35 ms of CPU a render).
_VIEWS: KeptWhileUnchanged[CountyView] = KeptWhileUnchanged(size=64)


def _county_view(
    conn: Connection,
    actor: Actor,
    today: date,
    code: str | None,
    year: int | None,
    shown: list[Column],
    sort: str,
    descending: bool,
) -> CountyView:
    county = county_of(conn, actor, code)
    years = case_years(conn, county)
    year = year or (years[0] if years else today.year)
    scope, figures = year_figures(conn, county, year, None)  # kept a minute, as the county's dashboard
    seen = townships_in_view(actor, townships_of(conn, county))
    if not seen:  # a village's or a grid's user: no township to show
        raise PermissionDenied("乡镇对比仅供乡镇（街道）及以上的账号查看")
    now = current(conn, county.path, today, by_child=True)
    months = list(month_labels(scope).items())
    rows = [_row(t.code, t.name, figures.get(t.path, AreaYear()), now.get(t.path, Current()), months) for t in seen]
    total = None
    if can_see(actor, county.path):
        whole_now = Current()
        for part in now.values():
            whole_now.open_total += part.open_total
            whole_now.overdue += part.overdue
            whole_now.in_mediation += part.in_mediation
        total = _row(county.code, f"{county.name}合计", merged(figures), whole_now, months)

    def order(row: TownshipRow) -> tuple[Any, ...]:
        value = row.values[sort]
        return (value is None, -(value or 0) if descending else (value or 0), row.code)

    return CountyView(county, year, years or [year], today, scope.as_of, shown, sorted(rows, key=order), total, sort,
                      descending, months)  # fmt: skip


def _row(code: str, name: str, year: AreaYear, now: Current, months: list[tuple[str, str]]) -> TownshipRow:
    v = year.value
    values: dict[str, Any] = {
        "taken_in": v("taken_in"),
        "open": now.open_total,
        "in_mediation": now.in_mediation,
        "overdue": now.overdue,
        "on_time_rate": rate(v("on_time"), v("on_time_judged")),
        "conversions": year.conversions,
        "repeat": v("repeat_disputes"),
    }
    for lv in ESCALATION_LEVELS:
        values[f"escalated_{lv.value}"] = year.escalations_by_level.get(lv.value, 0)
    for path in settings()["handoff"]["paths"]:
        values[f"in_{path}"] = year.sandiao.get("referral_in", {}).get(path, 0)
        values[f"out_{path}"] = year.sandiao.get("referral_out_agency", {}).get(path, 0)
    monthly = [year.monthly["taken_in"].get(key, 0) for key, _ in months]
    return TownshipRow(code, name, values, v("on_time"), v("on_time_judged"), monthly)
