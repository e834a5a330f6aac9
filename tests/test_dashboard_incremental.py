"""The dashboard's kept year sums (``store.year_sums``: per-case contributions by the report's rules, their sums
per place moved by each case's difference) after any sequence of writes (Hypothesis), on SQLite and PostgreSQL:
registrations and steps back-dated into the year before, escalations, referrals, corrections (更正) of the
category, the village and a step's time. After every step, for the county, the township and a village, this
year and the year before, each child place's kept figures equal a fresh count (``dashboard_sql.area_years`` as of
the same moment), and the county's and the township's annual reports (their parts' tallies kept until their
year changes) equal a fresh count of this year and the year before; at the end the dashboard equals the annual
report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import drive, happy_path, intake, make_town
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select, update
from test_counters import VALID

from mediation_flow.accounts.admin_log import administer
from mediation_flow.accounts.policy import CONSOLE
from mediation_flow.accounts.users import actor_for, add_user
from mediation_flow.cases.engine import apply_trigger, available_triggers
from mediation_flow.cases.intake import register_case
from mediation_flow.errors import DomainError
from mediation_flow.places import changes
from mediation_flow.places.jurisdictions import get_by_code
from mediation_flow.stats.county_report import county_report
from mediation_flow.stats.dashboard import Dashboard, clear_cache, dashboard
from mediation_flow.stats.dashboard_cases import contributions, rules_key
from mediation_flow.stats.dashboard_sql import AreaYear, area_years, from_sums
from mediation_flow.stats.figures import Figures, compute_figures
from mediation_flow.stats.scope import year_scope
from mediation_flow.stats.service import annual_report
from mediation_flow.store.clock import LOCAL_TZ
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import CASE_FIGURES, CASES, EVENTS, FIGURE_STATE
from mediation_flow.store.year_sums import refreshed
from mediation_flow.vocabulary import Role
from mediation_flow.workflow.registry import REGISTRY

DATES = ("session_date", "signed_on", "visited_on", "applied_on", "ruled_on", "occurred_on")
CATEGORIES = ["neighbourhood", "contract", "marriage_family"]
SOURCES = ["initiative", "police", "court", "petition"]


def normal(area: AreaYear) -> dict[str, Any]:
    """An area's figures without the zeros (a fresh count lists a child whose events all count 0)."""

    def nonzero(counts: dict[str, int]) -> dict[str, int]:
        return {str(k): int(n) for k, n in counts.items() if n}

    found = {
        "values": nonzero(area.values),
        "monthly": {name: nonzero(months) for name, months in area.monthly.items() if nonzero(months)},
        "by_category": nonzero(area.by_category),
        "levels": nonzero(area.escalations_by_level),
        "sandiao": {figure: nonzero(paths) for figure, paths in area.sandiao.items() if nonzero(paths)},
        "conversions": area.conversions,
    }
    return {k: v for k, v in found.items() if v}


def assert_as_reported(figures: Figures, board: Dashboard) -> None:
    """The dashboard's year figures are the report's (as test_dashboard.assert_same compares them, less its
    check that the monthly agreements add up to the year's: a random walk may reach agreement twice in a year)."""
    v, b = figures.values, figures.breakdowns
    shown = ("taken_in", "resolved", "mediation_concluded", "success_rate", "closed_resolved", "escalations",
             "on_time", "on_time_judged", "on_time_rate", "referral_in", "referral_out", "repeat_disputes",
             "conversions")  # fmt: skip
    assert {k: getattr(board, k) for k in shown} == {k: v[k] for k in shown}
    assert [(m.label, m.taken_in) for m in board.monthly] == [(r["label"], r["count"]) for r in b["monthly_taken_in"]]
    assert [m.resolved for m in board.monthly] == [r["count"] for r in b["monthly_resolved"]]
    assert {(x.label, x.value) for x in board.by_category} == {(r["label"], r["count"]) for r in b["by_category"]}
    assert {(x.key, x.value) for x in board.escalations_by_level} == {
        (r["key"], r["count"]) for r in b["escalations"] if r["count"]
    }
    for row in board.sandiao:
        assert all(n == figures.count(figure, row.key) for figure, n in row.values.items()), row


def kept_and_fresh(engine: Engine, code: str, year: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the kept sums per child, a fresh count per child as of the moment they count to), zeros left out."""
    with engine.connect() as conn:
        place = get_by_code(conn, code)
    sums = refreshed(engine, place.path, year, contributions, rules_key())
    with engine.connect() as conn:
        fresh = area_years(conn, year_scope(conn, code=code, year=year, as_of=sums.as_of), by_child=True)

    def shown(areas: dict[str, AreaYear]) -> dict[str, Any]:
        return {child: normal(area) for child, area in areas.items() if normal(area)}

    return shown(from_sums(sums.rows)), shown(fresh)


@pytest.mark.timeout(900)  # a fresh count of three places after every step, on a shared machine
def test_kept_year_sums_equal_a_fresh_count_after_any_writes(engine: Engine) -> None:
    town = make_town(engine)
    places = town.places
    with write_transaction(engine) as conn:
        county_id = add_user(conn, username="county_sup", password="county-2026-pass", role=Role.SUPERVISOR,
                             jurisdiction_code=places.county.code)  # fmt: skip
        county = actor_for(conn, county_id)
    assert county is not None
    supervisor, mediator = town["supervisor"], town["mediator"]
    where = [places.grids[0].code, places.grids[3].code, places.villages[2].code, places.township.code]
    villages = [places.villages[0].code, places.villages[1].code, places.grids[1].code]
    valid = {**VALID, "assign": {"mediator_id": mediator.id}}
    now = datetime.now(UTC)
    year = now.astimezone(LOCAL_TZ).year
    checked = [(places.county.code, year), (places.township.code, year - 1), (places.villages[0].code, year)]
    seen: set[str] = set()

    def last_moment(case_id: int) -> datetime:
        with engine.connect() as conn:
            last = conn.execute(select(func.max(EVENTS.c.effective_at)).where(EVENTS.c.case_id == case_id)).scalar()
        assert last is not None
        return max(last, datetime(year - 1, 1, 1, 2, tzinfo=UTC))

    class Machine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            clear_cache()
            # One case taken to an agreement now, step by step, in every example: the random walk below reaches
            # 达成协议 only by chance (its guards read dates that move with the clock), so the agreement figures
            # are covered by construction; corrections and later steps may still touch this case.
            agreed = register_case(engine, actor=supervisor, intake=intake(jurisdiction_code=where[0]))
            drive(engine, agreed, supervisor, [("assign", {"mediator_id": mediator.id}), *happy_path()[:4]])
            self.cases: list[int] = [agreed]

        @rule(place=st.sampled_from(where), days_back=st.integers(0, 500), source=st.sampled_from(SOURCES))
        def register(self, place: str, days_back: int, source: str) -> None:
            if len(self.cases) >= 3:  # a few cases, taken deep
                return
            at = max(datetime.now(UTC) - timedelta(days=days_back), datetime(year - 1, 1, 1, 1, tzinfo=UTC))
            data = intake(jurisdiction_code=place, title=f"张{len(self.cases)}与李四相邻通行纠纷", source=source,
                          category=CATEGORIES[days_back % len(CATEGORIES)])  # fmt: skip
            try:
                self.cases.append(register_case(engine, actor=supervisor, intake=data, effective_at=at))
            except DomainError:  # a referral source asks for more than this intake gives
                return
            seen.add(f"register:{source}")

        @rule(data=st.data(), back=st.floats(0.0, 1.0))
        def advance(self, data: st.DataObject, back: float) -> None:
            """A step, dated anywhere between the case's last step and now (back-dated, possibly last year)."""
            if not self.cases:
                return
            case_id = data.draw(st.sampled_from(self.cases))
            with engine.connect() as conn:
                row = conn.execute(select(CASES).where(CASES.c.id == case_id)).mappings().one()
                workflow = REGISTRY.get(conn, row["workflow_name"], row["workflow_version"])
            options = [o.trigger for o in available_triggers(workflow, row["state"], supervisor) if o.trigger in valid]
            if not options:
                return
            forward = [t for t, _ in happy_path() if t in options]
            if row["mediator_id"] is None and "assign" in options:
                forward = ["assign"]
            trigger = data.draw(st.sampled_from(options + forward * 12))
            last = last_moment(case_id)
            moment = last + (datetime.now(UTC) - last) * back + timedelta(seconds=1)
            day = moment.astimezone(LOCAL_TZ).date().isoformat()
            values = {k: (day if k in DATES else v) for k, v in valid[trigger].items()}
            moment = min(moment, datetime.now(UTC))
            try:
                apply_trigger(engine, case_id=case_id, actor=supervisor, trigger=trigger,
                              expected_version=row["version"], data=values, effective_at=moment)  # fmt: skip
            except DomainError:
                return
            seen.add(trigger)

        @rule(data=st.data(), what=st.sampled_from(["category", "village", "event_time"]))
        def correct(self, data: st.DataObject, what: str) -> None:
            """更正: the category, the village, or the time of an earlier step (possibly into the year before)."""
            if not self.cases:
                return
            case_id = data.draw(st.sampled_from(self.cases))
            with engine.connect() as conn:
                version = conn.execute(select(CASES.c.version).where(CASES.c.id == case_id)).scalar_one()
                own = (EVENTS.c.case_id == case_id, EVENTS.c.trigger != "correct")
                steps = conn.execute(
                    select(EVENTS.c.seq, EVENTS.c.effective_at).where(*own).order_by(EVENTS.c.seq)
                ).all()
            fix: dict[str, Any] = {"what": what}
            if what == "category":
                fix["value"] = data.draw(st.sampled_from(CATEGORIES))
            elif what == "village":
                fix["value"] = data.draw(st.sampled_from(villages))
            else:
                seq, moment = data.draw(st.sampled_from(steps))
                moved = moment - timedelta(days=data.draw(st.integers(-3, 200)), hours=1)
                fix |= {"event": seq, "value": moved.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")}
            try:
                apply_trigger(engine, case_id=case_id, actor=supervisor, trigger="correct", expected_version=version,
                              data={"reason": "与纸质台账核对后更正", **fix})  # fmt: skip
            except DomainError:
                return
            seen.add(f"correct:{what}")

        @invariant()
        def kept_sums_equal_a_fresh_count(self) -> None:
            for code, in_year in checked:
                kept, fresh = kept_and_fresh(engine, code, in_year)
                assert kept == fresh, (code, in_year)

        @invariant()
        def reports_equal_a_fresh_count(self) -> None:
            """The county's and the township's reports, their parts' tallies kept (stats.kept_figures) until the
            same writes move their marks."""
            for in_year in (year - 1, year):
                county_figures = county_report(engine, actor=None, code=places.county.code, year=in_year).figures
                township_figures = annual_report(engine, actor=None, code=places.township.code, year=in_year).figures
                for figures in (county_figures, township_figures):
                    with engine.connect() as conn:
                        scope = year_scope(conn, code=figures.scope.place.code, year=in_year, as_of=figures.scope.as_of)
                        assert figures.to_dict() == compute_figures(conn, scope).to_dict(), (scope.place.name, in_year)

        def teardown(self) -> None:
            if not getattr(self, "cases", None):
                return
            as_of = datetime.now(UTC)
            for actor, code in ((supervisor, places.township.code), (county, places.county.code)):
                for in_year in (year - 1, year):
                    with engine.connect() as conn:
                        board = dashboard(conn, actor, today=as_of.date(), year=in_year, as_of=as_of)
                        figures = compute_figures(conn, year_scope(conn, code=code, year=in_year, as_of=as_of))
                    assert_as_reported(figures, board)

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=6,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        ),
    )
    assert {"correct:category", "correct:village"} <= seen, seen


def test_a_place_moved_without_an_event_moves_its_cases_figures(engine: Engine) -> None:
    """A grid moved to another village rewrites its cases' place without an event: the trigger on the case row
    queues them, and the kept figures follow (the village it left counts them no more)."""
    town = make_town(engine)
    places = town.places
    register_case(engine, actor=town["supervisor"], intake=intake(jurisdiction_code=places.grids[0].code))
    year = datetime.now(UTC).astimezone(LOCAL_TZ).year
    kept, fresh = kept_and_fresh(engine, places.township.code, year)
    assert kept == fresh and kept[places.villages[0].path]["values"]["taken_in"] == 1
    grid, village = places.grids[0].code, places.villages[1].code
    administer(engine, CONSOLE, lambda conn, a: changes.move_place(conn, a, code=grid, parent_code=village))
    kept, fresh = kept_and_fresh(engine, places.township.code, year)
    assert kept == fresh and places.villages[0].path not in kept
    assert kept[places.villages[1].path]["values"]["taken_in"] == 1


def test_new_rules_count_every_case_again_and_a_past_moment_is_counted_afresh(engine: Engine) -> None:
    """Contributions counted under other rules (a new release) are all counted again; a moment before the last
    event recorded is counted afresh, as the report counts it."""
    town = make_town(engine)
    first = register_case(engine, actor=town["supervisor"], intake=intake())
    year = datetime.now(UTC).astimezone(LOCAL_TZ).year
    code = town.places.township.code
    kept, fresh = kept_and_fresh(engine, code, year)
    with write_transaction(engine) as conn:  # as a release with other figure rules would find them
        conn.execute(update(CASE_FIGURES).values(n=5))
        conn.execute(update(FIGURE_STATE).values(rules="an older release"))
    assert kept_and_fresh(engine, code, year) == (kept, fresh)
    between = datetime.now(UTC)
    register_case(engine, actor=town["supervisor"], intake=intake(title="孙三与李四宅基地纠纷"))
    with engine.connect() as conn:
        board = dashboard(conn, town["supervisor"], today=between.date(), year=year, as_of=between)
        figures = compute_figures(conn, year_scope(conn, code=code, year=year, as_of=between))
    assert_as_reported(figures, board)
    assert board.taken_in == 1 == figures.values["taken_in"] and first
