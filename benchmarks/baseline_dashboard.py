"""BASELINE for benchmarks/bench_dashboard.py, as it was before the kept sums (issue 15, commit 9b0f8ec): the
year's figures counted afresh by SQL aggregates over the subtree's events (``dashboard_sql.area_years``) at every
count: what a first view after a restart waited for, and what each recount past the minute cost. The page is
put together by the same ``_board`` as today's, from the same 当前 counts, so only the year's count differs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from mediation_flow.accounts.policy import Actor
from mediation_flow.stats import dashboard as today
from mediation_flow.stats.dashboard_current import current
from mediation_flow.stats.dashboard_sql import area_years
from mediation_flow.stats.scope import year_scope


def dashboard(
    conn: Connection, actor: Actor, *, today_is: date, year: int, as_of: datetime | None = None
) -> today.Dashboard:
    """The dashboard with the year's figures counted afresh as of ``as_of`` (default now)."""
    place = today.scope_place(conn, actor)
    years = today.case_years(conn, place)
    scope = year_scope(conn, code=place.code, year=year, as_of=as_of)
    children = area_years(conn, scope, by_child=True)
    now = current(conn, place.path, today_is, by_child=False).get("", None)
    return today._board(conn, place, years, scope, today_is, children, now)
