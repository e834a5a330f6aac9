"""Hypothesis drives random triggers by random users; after every step the invariants must hold:
state == replay(events), version == number of events, and a refused trigger writes nothing."""

from __future__ import annotations

from typing import Any

from factories import happy_path, make_town, register
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from mediation_flow.cases.engine import apply_trigger, available_triggers, replay
from mediation_flow.errors import DomainError
from mediation_flow.store.models import Case, CaseEvent
from mediation_flow.workflow.registry import REGISTRY

CASES, EVENTS = Case.__table__, CaseEvent.__table__
DATED = {"record_session", "reach_agreement"}  # today's date, read when fired: the run may cross Beijing midnight
VALID: dict[str, dict[str, Any]] = {t: d for t, d in happy_path() if t not in DATED} | {
    "reject": {"reason": "已由法院受理"},
    "suspend": {"reason": "等待鉴定"},
    "resume": {},
    "extend": {"days": 10, "parties_consent": True, "reason": "双方同意"},
    "apply_confirmation": {"court": "示例县人民法院", "applied_on": "2023-10-15"},
    "confirmation_granted": {"ruling_number": "（2023）示民特1号", "ruled_on": "2023-10-20"},
    "confirmation_rejected": {"reason": "协议内容违法"},
    "fail": {"reason": "分歧大", "routes_informed": True},
    "refer": {"target": "court", "agency": "qinglong_tribunal", "reason": "当事人要求"},
    "close": {"outcome": "已告知诉讼途径"},
    "withdraw": {"reason": "自行和解"},
    "escalate": {"reason": "涉及多户"},
    "mark_conversion": {"type": "petition", "occurred_on": "2023-11-01", "detail": "当事人上访"},
    "add_note": {"text": "电话联系当事人"},
    "assign": {"mediator_id": None},  # filled with the mediator's id
}
TRIGGERS = sorted(VALID.keys() | DATED)


def valid(trigger: str) -> dict[str, Any]:
    """Valid data for ``trigger``; a dated step's date is today's, read now."""
    if trigger in DATED:
        return dict(next(data for name, data in happy_path() if name == trigger))
    return dict(VALID[trigger])


REACHED: set[str] = set()
GARBAGE = st.one_of(
    st.just({}),
    st.dictionaries(
        st.sampled_from(["reason", "days", "form", "bogus", "target"]),
        st.one_of(st.text(max_size=3), st.integers(-5, 50), st.booleans()),
        max_size=3,
    ),
)


def test_random_triggers_keep_the_invariants(engine):
    town = make_town(engine)
    VALID["assign"] = {"mediator_id": town["mediator"].id}
    users = ["supervisor", "mediator", "grid_worker", "other_village_mediator", "liaison"]

    class CaseMachine(RuleBasedStateMachine):
        @initialize()
        def new_case(self) -> None:
            self.case_id = register(engine, town)

        def observed(self) -> tuple[str, int, list[Any]]:
            with engine.connect() as conn:
                row = conn.execute(select(CASES.c.state, CASES.c.version).where(CASES.c.id == self.case_id)).one()
                events = list(
                    conn.execute(select(EVENTS).where(EVENTS.c.case_id == self.case_id).order_by(EVENTS.c.seq))
                )
            return row.state, row.version, events

        @rule(
            trigger=st.sampled_from(TRIGGERS),
            user=st.sampled_from(users),
            valid_data=st.booleans(),
            garbage=GARBAGE,
            stale=st.integers(0, 9),
        )
        def fire(self, trigger: str, user: str, valid_data: bool, garbage: dict[str, Any], stale: int) -> None:
            state, version, events = self.observed()
            data = valid(trigger) if valid_data else garbage
            expected = version if stale else version - 1
            try:
                result = apply_trigger(
                    engine,
                    case_id=self.case_id,
                    actor=town[user],
                    trigger=trigger,
                    expected_version=expected,
                    data=data,
                )
            except DomainError:
                assert self.observed() == (state, version, events), "a refused trigger wrote something"
                return
            assert result.version == version + 1
            after_state, after_version, after_events = self.observed()
            assert (after_state, after_version) == (result.state, result.version)
            assert len(after_events) == len(events) + 1 and after_events[-1].trigger == trigger
            REACHED.add(after_state)

        @rule(data=st.data(), user=st.sampled_from(["supervisor", "mediator"]))
        def advance(self, data: st.DataObject, user: str) -> None:
            """Mostly-valid moves along the workflow, so the walk reaches the deep states."""
            state = self.observed()[0]
            with engine.connect() as conn:
                workflow = REGISTRY.get(conn, "people_mediation", 1)
            options = [o.trigger for o in available_triggers(workflow, state, town[user]) if o.trigger in TRIGGERS]
            forward = [t for t, _ in happy_path() if t in options]
            if options:
                self.fire(data.draw(st.sampled_from(options + forward * 4)), user, True, {}, 1)

        @invariant()
        def state_is_the_replay_of_events(self) -> None:
            if not hasattr(self, "case_id"):
                return
            state, version, events = self.observed()
            with engine.connect() as conn:
                workflow = REGISTRY.get(conn, "people_mediation", 1)
            replayed = replay(workflow, events)
            assert replayed.problems == []
            assert (replayed.state, replayed.version) == (state, version)
            assert version == len(events)

    run_state_machine_as_test(
        CaseMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,  # the same walk every run: the depth assertion below cannot flake
        ),
    )
    # The walk must get past the first steps, or it proves little.
    assert {"accepted", "mediating", "agreed"} <= REACHED, REACHED
