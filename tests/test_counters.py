"""The maintained counts and the dashboard after any sequence of transitions (Hypothesis), on SQLite and
PostgreSQL: every ``case_count`` row equals a fresh count of the case rows, every queue total read from them
(overdue, due soon; the area, a village, a level) a fresh count of the cases, and every dashboard figure — of the
township, of the county (two townships) and of a village — equals the annual report's for the same scope, year
and moment, its 当前 figures a fresh count of the open cases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from factories import happy_path, intake, local_today, make_town, today_iso
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select
from test_dashboard import assert_same

from mediation_flow.accounts.users import actor_for, add_user
from mediation_flow.cases.engine import apply_trigger, available_triggers
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.queues import QueueFilters, due_soon_until, queue_ids
from mediation_flow.errors import DomainError
from mediation_flow.places.jurisdictions import add_jurisdiction
from mediation_flow.stats.dashboard import clear_cache, dashboard
from mediation_flow.stats.dashboard_current import open_states
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.scope import year_scope
from mediation_flow.store.counters import NO_DUE
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import CASE_COUNTS, CASES
from mediation_flow.vocabulary import Role
from mediation_flow.workflow.registry import REGISTRY

DATES = ("session_date", "signed_on", "visited_on", "applied_on", "ruled_on")  # today's, within the case's life
VALID: dict[str, dict[str, Any]] = {t: {k: "" if k in DATES else v for k, v in d.items()} for t, d in happy_path()} | {
    "reject": {"reason": "已由法院受理"},
    "suspend": {"reason": "等待鉴定"},
    "resume": {},
    "extend": {"days": 10, "parties_consent": True, "reason": "双方同意"},
    "fail": {"reason": "分歧大", "routes_informed": True},
    "refer": {"target": "court", "agency": "qinglong_tribunal", "reason": "当事人要求"},
    "close": {"outcome": "已告知诉讼途径"},
    "withdraw": {"reason": "自行和解"},
    "escalate": {"reason": "涉及多户"},
    "mark_conversion": {"type": "petition", "occurred_on": "", "detail": "当事人上访"},
    "confirmation_rejected": {"reason": "协议内容违法"},
    "apply_confirmation": {"court": "示例县人民法院", "applied_on": ""},
}


def counted(engine: Engine) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """(the maintained counts, a fresh count of the case rows), by (state, place, level, due date)."""
    with engine.connect() as conn:
        kept = conn.execute(
            select(CASE_COUNTS.c.state, CASE_COUNTS.c.jurisdiction_id, CASE_COUNTS.c.level, CASE_COUNTS.c.due_date,
                   CASE_COUNTS.c.n).where(CASE_COUNTS.c.n != 0)
        ).all()  # fmt: skip
        due = func.coalesce(CASES.c.due_date, NO_DUE)
        keys = [CASES.c.state, CASES.c.jurisdiction_id, CASES.c.level, due]
        fresh = conn.execute(select(*keys, func.count()).group_by(*keys)).all()

    def as_counter(rows: Any) -> Counter[tuple[Any, ...]]:
        return Counter({(s, j, lv, str(d)): int(n) for s, j, lv, d, n in rows})

    return as_counter(kept), as_counter(fresh)


def test_counts_and_dashboard_after_random_transitions(engine: Engine) -> None:
    town = make_town(engine)
    places = town.places
    with write_transaction(engine) as conn:
        other = add_jurisdiction(conn, code="500101002", name="白马镇", level="township", parent_id=places.county.id)
        village = add_jurisdiction(conn, code="500101002001", name="白马村", level="village", parent_id=other.id)
        county_id = add_user(conn, username="county_sup", password="county-2026-pass", role=Role.SUPERVISOR,
                             jurisdiction_code=places.county.code)  # fmt: skip
        county = actor_for(conn, county_id)
    assert county is not None
    where = [places.grids[0].code, places.grids[3].code, places.villages[2].code, places.township.code, village.code]
    supervisor, mediator = town["supervisor"], town["mediator"]
    VALID["assign"] = {"mediator_id": mediator.id}
    year = datetime.now(UTC).year
    seen: set[str] = set()

    class Machine(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            self.cases: list[int] = []
            clear_cache()

        @rule(
            place=st.sampled_from(where), days_back=st.integers(0, 40), source=st.sampled_from(["initiative", "police"])
        )
        def register(self, place: str, days_back: int, source: str) -> None:
            if len(self.cases) >= 2:  # a few cases, taken deep, rather than many new ones
                return
            at = datetime.now(UTC) - timedelta(days=days_back)
            at = max(at, datetime(year, 1, 1, 1, tzinfo=UTC))
            data = intake(jurisdiction_code=place, title=f"张{len(self.cases)}与李四相邻通行纠纷", source=source)
            actor = county if place == village.code else supervisor
            self.cases.append(register_case(engine, actor=actor, intake=data, effective_at=at))

        @rule(data=st.data())
        def advance(self, data: st.DataObject) -> None:
            if not self.cases:
                return
            case_id = data.draw(st.sampled_from(self.cases))
            with engine.connect() as conn:
                row = conn.execute(select(CASES).where(CASES.c.id == case_id)).mappings().one()
                workflow = REGISTRY.get(conn, row["workflow_name"], row["workflow_version"])
            actor = county if row["jurisdiction_path"].startswith(f"{places.county.path}") and row[
                "jurisdiction_id"] == village.id else supervisor  # fmt: skip
            options = [o.trigger for o in available_triggers(workflow, row["state"], actor) if o.trigger in VALID]
            if not options:
                return
            forward = [t for t, _ in happy_path() if t in options]
            if row["mediator_id"] is None and "assign" in options:
                forward = ["assign"]  # mediation needs a mediator
            trigger = data.draw(st.sampled_from(options + forward * 12))  # mostly forward: the walk goes deep
            today = today_iso()
            values = {k: (today if v == "" else v) for k, v in VALID[trigger].items()}
            try:
                apply_trigger(engine, case_id=case_id, actor=actor, trigger=trigger, expected_version=row["version"],
                              data=values)  # fmt: skip
            except DomainError:
                return
            seen.add(trigger)

        @invariant()
        def counts_equal_a_fresh_count(self) -> None:
            kept, fresh = counted(engine)
            assert kept == fresh

        @invariant()
        def queue_totals_equal_a_fresh_count(self) -> None:
            today = local_today()
            until = due_soon_until(today, 2)
            paths = {v.code: v.path for v in (places.villages[0], places.villages[2], village)}
            wanted = [QueueFilters(), QueueFilters(level="township"), *(QueueFilters(village=c) for c in paths)]
            with engine.connect() as conn:
                rows = conn.execute(select(CASES.c.jurisdiction_path, CASES.c.level, CASES.c.due_date)).all()
                for actor in (supervisor, county):
                    for kind in ("overdue", "due_soon"):
                        for f in wanted:
                            _ids, total, _until = queue_ids(conn, actor, kind, today=today, filters=f)
                            fresh = [
                                r for r in rows
                                if r.due_date is not None
                                and (r.due_date < today if kind == "overdue" else today <= r.due_date <= until)
                                and r.jurisdiction_path.startswith(actor.scope_path or "/")
                                and r.jurisdiction_path.startswith(paths.get(f.village or "", "/"))
                                and f.level in (None, r.level)
                            ]  # fmt: skip
                            assert total == len(fresh), (actor.username, kind, f)

        def teardown(self) -> None:
            """After the random sequence: every dashboard figure equals the report's, 当前 a fresh count."""
            if not getattr(self, "cases", None):
                return
            as_of = datetime.now(UTC)
            today = as_of.date()
            for actor, code in ((supervisor, places.township.code), (county, places.county.code)):
                with engine.connect() as conn:
                    board = dashboard(conn, actor, today=today, year=year, as_of=as_of)
                    figures = compute_figures(conn, year_scope(conn, code=code, year=year, as_of=as_of))
                    assert_same(figures, board)
                    states = open_states(conn)
                    subtree = CASES.c.jurisdiction_path.like(figures.scope.place.path + "%")
                    rows = conn.execute(select(CASES.c.state, CASES.c.due_date).where(subtree)).all()
                open_rows = [r for r in rows if r.state in states]
                assert board.open_total == len(open_rows)
                assert board.overdue_total == sum(1 for r in open_rows if r.due_date and r.due_date < today)
                assert {b.key: b.value for b in board.by_state} == dict(Counter(r.state for r in open_rows))

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=12,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        ),
    )
    assert {"accept", "start_mediation", "reach_agreement"} <= seen, seen  # the walk went deep enough to matter
