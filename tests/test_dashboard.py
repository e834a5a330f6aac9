"""The supervisor dashboard counts the annual report's figures by the report's rules: over the demo township's
2023–2026 (every workflow and path), for the township and for one village, on SQLite and PostgreSQL, its year
figures, monthly series and breakdowns equal the report's as of the moment they were counted to, and 当前 (from the
maintained counts) shows a new case at once."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from factories import intake
from sqlalchemy import Engine, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import actor_for, add_user
from mediation_flow.cases.intake import register_case
from mediation_flow.demo import load_demo
from mediation_flow.stats import dashboard as dashboard_module
from mediation_flow.stats.dashboard import Dashboard, clear_cache, dashboard
from mediation_flow.stats.figures import Figures, compute_figures
from mediation_flow.stats.scope import year_scope
from mediation_flow.store.db import write_transaction
from mediation_flow.store.models import Jurisdiction, User
from mediation_flow.vocabulary import Role

NOW = datetime(2026, 3, 10, 9, 15, tzinfo=UTC)
TODAY = date(2026, 3, 10)
YEARS = [2023, 2024, 2025, 2026]
JUR, USERS = Jurisdiction.__table__, User.__table__


@pytest.fixture
def demo(engine: Engine) -> Engine:
    load_demo(engine, cases=240, now=NOW, chunk=80)
    clear_cache()
    return engine


def supervisor_of(engine: Engine, code: str) -> Actor:
    with write_transaction(engine) as conn:
        user_id = add_user(
            conn, username=f"s{code}", password="village-2026-pass", role=Role.SUPERVISOR, jurisdiction_code=code
        )
        actor = actor_for(conn, user_id)
    assert actor is not None
    return actor


def township_supervisor(engine: Engine) -> Actor:
    with engine.connect() as conn:
        user_id = conn.execute(select(USERS.c.id).where(USERS.c.username == "sifasuo")).scalar_one()
        actor = actor_for(conn, user_id)
    assert actor is not None
    return actor


def report_and_board(engine: Engine, actor: Actor, code: str, year: int) -> tuple[Figures, Dashboard]:
    as_of = datetime.now(UTC)
    with engine.connect() as conn:
        figures = compute_figures(conn, year_scope(conn, code=code, year=year, as_of=as_of))
    with engine.connect() as conn:
        board = dashboard(conn, actor, today=TODAY, year=year, as_of=as_of)
    return figures, board


def assert_same(figures: Figures, board: Dashboard) -> None:
    v, b = figures.values, figures.breakdowns
    assert (board.taken_in, board.resolved, board.mediation_concluded) == (
        v["taken_in"],
        v["resolved"],
        v["mediation_concluded"],
    )
    assert (board.success_rate, board.closed_resolved, board.escalations) == (
        v["success_rate"],
        v["closed_resolved"],
        v["escalations"],
    )
    assert [m.label for m in board.monthly] == [r["label"] for r in b["monthly_taken_in"]]
    assert [m.taken_in for m in board.monthly] == [r["count"] for r in b["monthly_taken_in"]]
    assert [m.resolved for m in board.monthly] == [r["count"] for r in b["monthly_resolved"]]
    assert sum(m.taken_in for m in board.monthly) == v["taken_in"]
    assert sum(m.resolved for m in board.monthly) == v["resolved"]  # 达成协议 by month adds up to the year's
    assert {(x.label, x.value) for x in board.by_category} == {(r["label"], r["count"]) for r in b["by_category"]}
    assert {(x.label, x.value) for x in board.by_village} == {
        (r["label"], r["count"]) for r in b["by_village"] if r["count"]
    }
    assert (board.on_time, board.on_time_judged, board.on_time_rate) == (
        v["on_time"],
        v["on_time_judged"],
        v["on_time_rate"],
    )
    assert (board.referral_in, board.referral_out, board.repeat_disputes, board.conversions) == (
        v["referral_in"],
        v["referral_out"],
        v["repeat_disputes"],
        v["conversions"],
    )
    assert {(x.key, x.value) for x in board.escalations_by_level} == {
        (r["key"], r["count"]) for r in b["escalations"] if r["count"]
    }
    for row in board.sandiao:  # 三调 per path: referred in, and each state at the period's end
        assert row.values["referral_in"] == figures.count("referral_in", row.key)
        for figure in ("referral_in_answered", "referral_in_returned", "referral_in_open", "referral_out_agency",
                       "referral_out_answered", "referral_out_returned", "referral_out_open"):  # fmt: skip
            assert row.values[figure] == figures.count(figure, row.key), (figure, row.key)


def test_township_and_village_figures_equal_the_report(demo: Engine) -> None:
    with demo.connect() as conn:
        township, village = conn.execute(
            select(JUR.c.code).where(JUR.c.code.in_(["500101001", "500101001001"])).order_by(JUR.c.code)
        ).scalars()
    scopes = [(township, township_supervisor(demo)), (village, supervisor_of(demo, village))]
    seen_resolved = 0
    for code, actor in scopes:
        for year in YEARS:
            figures, board = report_and_board(demo, actor, code, year)
            assert_same(figures, board)
            seen_resolved += board.resolved
        assert board.years[-1] == 2023 and board.years[0] == 2026
    assert seen_resolved > 0  # the demo has agreements in the compared years: the sums were not all zero


def test_open_cases_by_state_and_level_add_up(demo: Engine) -> None:
    actor = township_supervisor(demo)
    with demo.connect() as conn:
        board = dashboard(conn, actor, today=TODAY)
    assert board.year == 2026 and board.open_total > 0
    assert sum(b.value for b in board.by_state) == board.open_total == sum(b.value for b in board.by_level)
    assert 0 <= board.overdue_total <= board.open_total and 0 <= board.escalated_open <= board.open_total
    later = None
    with demo.connect() as conn:
        later = dashboard(conn, actor, today=TODAY + timedelta(days=120))
    assert later.overdue_total > board.overdue_total  # the deadlines of the recent open cases pass


def test_the_page_shows_the_definitions_in_chinese_only(demo: Engine) -> None:
    actor = township_supervisor(demo)
    with demo.connect() as conn:
        board = dashboard(conn, actor, today=TODAY, year=2025)
    texts = [d.label + d.text for d in board.definitions] + board.common_rules
    assert any("达成调解协议" in t for t in texts) and any("北京时间" in t for t in texts)
    assert not [t for t in texts if re.search(r"[A-Za-z_]", t)]
    assert board.by_place_label == "按村（社区）"


def test_a_new_case_shows_in_the_year_figures_at_once(demo: Engine) -> None:
    """Kept figures are shown while nothing in the subtree's year changed; a new case is in the next view (counted
    again, a later moment), as in the report of that moment."""
    actor = township_supervisor(demo)
    year = datetime.now(UTC).year
    with demo.connect() as conn:
        kept = dashboard(conn, actor, today=TODAY, year=year)
    with demo.connect() as conn:  # a view of its own, as each request's
        again = dashboard(conn, actor, today=TODAY, year=year)
    assert (again.as_of, again.taken_in) == (kept.as_of, kept.taken_in)  # nothing written: kept
    register_case(demo, actor=actor, intake=intake(title="赵一与钱二相邻通行纠纷"))
    with demo.connect() as conn:
        again = dashboard(conn, actor, today=TODAY, year=year)
    assert again.taken_in == kept.taken_in + 1 and again.as_of > kept.as_of
    assert again.open_total == kept.open_total + 1  # 当前 from the maintained counts: at once
    figures, later = report_and_board(demo, actor, "500101001", year)
    assert later.taken_in == kept.taken_in + 1
    assert_same(figures, later)


def test_unchanged_figures_past_the_minute_are_shown_while_counted_again_behind_the_page(
    demo: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past :data:`KEEP_SECONDS` unchanged figures are shown at once and one background count moves the moment
    of the next view; past :data:`STALE_SECONDS` the view waits for the count; a change is counted at once."""
    actor = township_supervisor(demo)
    year = datetime.now(UTC).year
    with demo.connect() as conn:
        kept = dashboard(conn, actor, today=TODAY, year=year)
    monkeypatch.setattr(dashboard_module, "KEEP_SECONDS", 0.0)
    with demo.connect() as conn:
        shown = dashboard(conn, actor, today=TODAY, year=year)
    assert (shown.as_of, shown.taken_in) == (kept.as_of, kept.taken_in)  # not waited for
    deadline = time.monotonic() + 60
    while shown.as_of == kept.as_of and time.monotonic() < deadline:
        time.sleep(0.2)
        with demo.connect() as conn:
            shown = dashboard(conn, actor, today=TODAY, year=year)
    assert shown.taken_in == kept.taken_in and shown.as_of > kept.as_of
    register_case(demo, actor=actor, intake=intake(title="孙三与李四宅基地纠纷"))
    with demo.connect() as conn:
        counted = dashboard(conn, actor, today=TODAY, year=year)
    assert counted.taken_in == kept.taken_in + 1  # a change: counted before the view, not behind it
    _, board = report_and_board(demo, actor, "500101001", year)
    assert board.taken_in == counted.taken_in
    monkeypatch.setattr(dashboard_module, "STALE_SECONDS", 0.0)
    with demo.connect() as conn:
        waited = dashboard(conn, actor, today=TODAY, year=year)
    assert waited.taken_in == counted.taken_in and waited.as_of > counted.as_of
