"""The supervisor dashboard counts the annual report's figures by the report's rules: over the demo township's
2023–2026 (every workflow and path), for the township and for one village, on SQLite and PostgreSQL, its year
figures, monthly series and breakdowns equal the report's — and a new event shows at once, cache or not."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from factories import HAPPY_PATH, intake
from sqlalchemy import Engine, func, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import actor_for, add_user
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.demo import load_demo
from mediation_flow.stats.dashboard import Dashboard, clear_cache, dashboard, kept_tally
from mediation_flow.stats.figures import Figures, compute_figures
from mediation_flow.stats.scope import EVENTS, year_scope
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


def test_a_new_case_shows_at_once_even_after_a_cached_answer(demo: Engine) -> None:
    actor = township_supervisor(demo)
    with demo.connect() as conn:
        first = dashboard(conn, actor, today=TODAY, year=2026)
    with demo.connect() as conn:
        again = dashboard(conn, actor, today=TODAY, year=2026)
    assert (again.taken_in, again.open_total) == (first.taken_in, first.open_total)
    register_case(demo, actor=actor, intake=intake(title="赵一与钱二相邻通行纠纷"))
    with demo.connect() as conn:
        after = dashboard(conn, actor, today=TODAY, year=datetime.now(UTC).year)
    with demo.connect() as conn:
        figures = compute_figures(conn, year_scope(conn, code="500101001", year=after.year))
    assert after.open_total == first.open_total + 1
    assert after.taken_in == figures.values["taken_in"]


def test_the_page_shows_the_definitions_in_chinese_only(demo: Engine) -> None:
    actor = township_supervisor(demo)
    with demo.connect() as conn:
        board = dashboard(conn, actor, today=TODAY, year=2025)
    texts = [d.label + d.text for d in board.definitions] + board.common_rules
    assert any("达成调解协议" in t for t in texts) and any("北京时间" in t for t in texts)
    assert not [t for t in texts if re.search(r"[A-Za-z_]", t)]
    assert board.children_name == "村（社区）"


def fresh_report_and_board(engine: Engine, actor: Actor, year: int) -> tuple[Figures, Dashboard, Dashboard]:
    """The kept (folded) dashboard, then — as of the same moment, nothing written in between — the report and
    the dashboard counted afresh."""
    with engine.connect() as conn:
        folded = dashboard(conn, actor, today=TODAY, year=year)
    figures, fresh = report_and_board(engine, actor, "500101001", year)
    return figures, folded, fresh


def assert_folded_right(engine: Engine, actor: Actor, year: int) -> Dashboard:
    figures, folded, fresh = fresh_report_and_board(engine, actor, year)
    assert replace(folded, as_of=fresh.as_of) == fresh
    assert_same(figures, folded)
    return folded


def test_after_each_write_the_folded_dashboard_equals_a_fresh_count_and_the_report(demo: Engine) -> None:
    actor = township_supervisor(demo)
    year = datetime.now(UTC).year
    first = assert_folded_right(demo, actor, year)  # counted afresh, then kept
    with demo.connect() as conn:
        tally = kept_tally(conn, actor, year)
    case_id = register_case(demo, actor=actor, intake=intake(title="赵一与钱二相邻通行纠纷"))
    after = assert_folded_right(demo, actor, year)
    assert (after.taken_in, after.open_total) == (first.taken_in + 1, first.open_total + 1)
    with demo.connect() as conn:
        mediator = conn.execute(select(USERS.c.id).where(USERS.c.username == "tiaojie")).scalar_one()
    version = 1
    for trigger, data in [("assign", {"mediator_id": mediator}), *HAPPY_PATH[:4]]:  # … reach_agreement
        version = apply_trigger(
            demo, case_id=case_id, actor=actor, trigger=trigger, expected_version=version, data=dict(data)
        ).version
        after = assert_folded_right(demo, actor, year)
    assert (after.resolved, after.mediation_concluded) == (first.resolved + 1, first.mediation_concluded + 1)
    other = register_case(demo, actor=actor, intake=intake(title="孙三与周四宅基地纠纷"))
    apply_trigger(demo, case_id=other, actor=actor, trigger="escalate", expected_version=1, data={"reason": "涉及多村"})
    after = assert_folded_right(demo, actor, year)
    assert (after.escalations, after.escalated_open) == (first.escalations + 1, first.escalated_open + 1)
    # A case registered back-dated into an earlier month of the year: its month's bar, not the current one.
    back = datetime(year, 1, 20, 2, tzinfo=UTC)
    register_case(demo, actor=actor, intake=intake(title="吴五与郑六债务纠纷"), effective_at=back)
    after = assert_folded_right(demo, actor, year)
    assert after.monthly[0].taken_in == first.monthly[0].taken_in + 1
    with demo.connect() as conn:
        assert tally is not None and kept_tally(conn, actor, year) is tally  # every step folded, none recounted


def test_a_fold_reads_only_the_events_written_since(demo: Engine) -> None:
    actor = township_supervisor(demo)
    year = datetime.now(UTC).year
    with demo.connect() as conn:
        dashboard(conn, actor, today=TODAY, year=year)
        tally = kept_tally(conn, actor, year)
    assert tally is not None and tally.rows_read > 0
    before = tally.watermark
    case_id = register_case(demo, actor=actor, intake=intake(title="赵一与钱二相邻通行纠纷"))
    apply_trigger(
        demo, case_id=case_id, actor=actor, trigger="accept", expected_version=1, data={"rights_notified": True}
    )
    with demo.connect() as conn:
        dashboard(conn, actor, today=TODAY, year=year)
        latest = conn.execute(select(func.max(EVENTS.c.id))).scalar_one()
        new = conn.execute(select(EVENTS.c.id).where(EVENTS.c.id > before).order_by(EVENTS.c.id)).scalars().all()
        assert kept_tally(conn, actor, year) is tally  # the same tally, folded into: not counted afresh
    assert len(new) == 2 and tally.rows_read == 2  # the register and accept events, nothing else
    assert tally.watermark == latest == new[-1]
    with demo.connect() as conn:
        dashboard(conn, actor, today=TODAY, year=year)
    assert tally.rows_read == 2 and tally.watermark == latest  # nothing new: nothing read


def test_an_event_recorded_after_the_moment_counted_holds_the_watermark(demo: Engine) -> None:
    """An event whose recorded time is still ahead (a clock running ahead) is not counted yet, and is read
    again once its time has come — as the report counts it."""
    actor = township_supervisor(demo)
    year = datetime.now(UTC).year
    with demo.connect() as conn:
        dashboard(conn, actor, today=TODAY, year=year)
        tally = kept_tally(conn, actor, year)
    assert tally is not None
    before = tally.watermark
    ahead = datetime.now(UTC) + timedelta(seconds=3)
    register_case(demo, actor=actor, intake=intake(title="赵一与钱二相邻通行纠纷"), now=ahead)
    early = assert_folded_right(demo, actor, year)
    assert tally.watermark == before
    while datetime.now(UTC) <= ahead:
        time.sleep(0.2)
    later = assert_folded_right(demo, actor, year)
    assert later.taken_in == early.taken_in + 1 and tally.watermark > before
