"""The transition engine on both back ends: every refusal writes nothing, every move writes one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import drive, happy_path, register
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from mediation_flow.cases.checks import check_all
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.errors import (
    CaseNotFound,
    GuardFailed,
    InvalidData,
    InvalidEffectiveTime,
    PermissionDenied,
    StaleVersion,
    TriggerNotAllowed,
    UnknownTrigger,
)
from mediation_flow.store.models import Case, CaseEvent

CASES, EVENTS = Case.__table__, CaseEvent.__table__


def snapshot(engine, case_id):
    with engine.connect() as conn:
        row = conn.execute(select(CASES.c.state, CASES.c.version).where(CASES.c.id == case_id)).one()
        events = conn.execute(select(func.count()).where(EVENTS.c.case_id == case_id)).scalar()
    return row.state, row.version, events


def test_happy_path_writes_one_event_per_step(engine, town):
    case_id = register(engine, town)
    assert snapshot(engine, case_id) == ("registered", 1, 1)
    result = drive(engine, case_id, town["mediator"], happy_path())
    assert result.state == "resolved"
    assert snapshot(engine, case_id) == ("resolved", 1 + len(happy_path()), 1 + len(happy_path()))
    with engine.connect() as conn:
        triggers = [
            r.trigger
            for r in conn.execute(select(EVENTS.c.trigger).where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq))
        ]
    assert triggers == ["register"] + [t for t, _ in happy_path()]
    assert check_all(engine) == (1, [])


def test_case_numbers_are_per_township_and_year(engine, town):
    first = register(engine, town)
    second = register(engine, town)
    back = register(engine, town, actor="supervisor", effective_at=datetime(2023, 3, 1, 2, tzinfo=UTC))
    with engine.connect() as conn:
        numbers = dict(conn.execute(select(CASES.c.id, CASES.c.number)).all())
    year = datetime.now(UTC).year
    assert numbers[first] == f"（{year}）青龙人调字第001号"
    assert numbers[second] == f"（{year}）青龙人调字第002号"
    assert numbers[back] == "（2023）青龙人调字第001号"


def refused(engine, case_id, error, **kwargs):
    before = snapshot(engine, case_id)
    with pytest.raises(error) as info:
        apply_trigger(engine, case_id=case_id, **kwargs)
    assert snapshot(engine, case_id) == before, "a refused trigger must write nothing"
    return info.value


def test_refusals_are_typed_and_write_nothing(engine, town):
    case_id = register(engine, town)
    mediator = town["mediator"]
    err = refused(engine, case_id, UnknownTrigger, actor=mediator, trigger="explode", expected_version=1)
    assert err.code == "unknown_trigger"
    err = refused(engine, case_id, TriggerNotAllowed, actor=mediator, trigger="close_resolved", expected_version=1)
    assert "accept" in err.details["allowed"] and "close_resolved" not in err.details["allowed"]
    err = refused(
        engine,
        case_id,
        StaleVersion,
        actor=mediator,
        trigger="accept",
        expected_version=0,
        data={"rights_notified": True},
    )
    assert err.details["current_version"] == 1
    refused(
        engine,
        case_id,
        PermissionDenied,
        actor=town["grid_worker"],
        trigger="accept",
        expected_version=1,
        data={"rights_notified": True},
    )
    refused(
        engine,
        case_id,
        CaseNotFound,
        actor=town["other_village_mediator"],
        trigger="accept",
        expected_version=1,
        data={"rights_notified": True},
    )
    err = refused(engine, case_id, InvalidData, actor=mediator, trigger="reject", expected_version=1, data={})
    assert err.errors == [{"field": "reason", "message": "请填写“不予受理理由”"}]
    err = refused(
        engine,
        case_id,
        InvalidData,
        actor=mediator,
        trigger="reject",
        expected_version=1,
        data={"reason": "x" * 501, "bogus": 1},
    )
    assert {e["field"] for e in err.errors} == {"reason", "bogus"}
    err = refused(
        engine,
        case_id,
        GuardFailed,
        actor=mediator,
        trigger="accept",
        expected_version=1,
        data={"rights_notified": False},
    )
    assert "权利义务" in err.message


def test_failing_guard_leaves_state_unchanged_mid_flow(engine, town):
    case_id = register(engine, town)
    drive(engine, case_id, town["mediator"], happy_path()[:5])  # following_up, no visit yet
    refused(engine, case_id, GuardFailed, actor=town["mediator"], trigger="close_resolved", expected_version=6)
    assert snapshot(engine, case_id)[0] == "following_up"


def test_internal_triggers_keep_state_and_write_an_event(engine, town):
    case_id = register(engine, town)
    result = drive(engine, case_id, town["supervisor"], [("escalate", {"reason": "涉及多户"})])
    assert (result.state, result.version) == ("registered", 2)
    with engine.connect() as conn:
        level = conn.execute(select(CASES.c.level).where(CASES.c.id == case_id)).scalar()
        data = conn.execute(select(EVENTS.c.data).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == 2)).scalar()
    assert level == "village" and data["from_level"] == "grid" and data["to_level"] == "village"


def test_backdating_rules(engine, town):
    now = datetime.now(UTC)
    case_id = register(engine, town, actor="supervisor", effective_at=now - timedelta(days=10))
    refused(
        engine,
        case_id,
        PermissionDenied,
        actor=town["mediator"],
        trigger="accept",
        expected_version=1,
        data={"rights_notified": True},
        effective_at=now - timedelta(days=5),
    )
    refused(
        engine,
        case_id,
        InvalidEffectiveTime,
        actor=town["supervisor"],
        trigger="accept",
        expected_version=1,
        data={"rights_notified": True},
        effective_at=now + timedelta(days=1),
    )
    refused(
        engine,
        case_id,
        InvalidEffectiveTime,
        actor=town["supervisor"],
        trigger="accept",
        expected_version=1,
        data={"rights_notified": True},
        effective_at=now - timedelta(days=11),
    )
    result = apply_trigger(
        engine,
        case_id=case_id,
        actor=town["supervisor"],
        trigger="accept",
        expected_version=1,
        data={"rights_notified": True},
        effective_at=now - timedelta(days=5),
    )
    with engine.connect() as conn:
        event = conn.execute(select(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == result.version)).one()
    assert event.effective_at < event.recorded_at - timedelta(days=4)


def test_events_cannot_be_updated_or_deleted(engine, town):
    case_id = register(engine, town)
    for statement in ("UPDATE case_event SET note = 'forged'", "DELETE FROM case_event"):
        with pytest.raises(DBAPIError) as info, engine.begin() as conn:
            conn.execute(text(statement))
        assert "append-only" in str(info.value)
    assert snapshot(engine, case_id) == ("registered", 1, 1)


def test_check_reports_a_tampered_state(engine, town):
    case_id = register(engine, town)
    with engine.begin() as conn:
        conn.execute(CASES.update().where(CASES.c.id == case_id).values(state="resolved"))
    checked, problems = check_all(engine)
    assert checked == 1 and len(problems) == 1 and "events say registered" in problems[0].problem


def test_accepting_mediator_takes_an_unassigned_case(engine, town):
    from sqlalchemy import select

    unassigned = register(engine, town)
    drive(engine, unassigned, town["mediator"], happy_path()[:1])
    assigned = register(engine, town)
    drive(engine, assigned, town["supervisor"], [("assign", {"mediator_id": town["village_mediator"].id})])
    drive(engine, assigned, town["mediator"], happy_path()[:1], version=2)
    with engine.connect() as conn:
        owners = dict(conn.execute(select(CASES.c.id, CASES.c.mediator_id)).all())
    assert owners == {unassigned: town["mediator"].id, assigned: town["village_mediator"].id}


def test_escalation_beyond_the_village_needs_the_supervisor(engine, town):
    case_id = register(engine, town)  # a grid case
    drive(engine, case_id, town["grid_worker"], [("escalate", {"reason": "涉及多户"})])  # grid → village
    err = refused(
        engine,
        case_id,
        GuardFailed,
        actor=town["mediator"],
        trigger="escalate",
        expected_version=2,
        data={"reason": "村里调不了"},
    )
    assert "司法所" in err.message
    result = drive(engine, case_id, town["supervisor"], [("escalate", {"reason": "村里调不了"})], version=2)
    with engine.connect() as conn:
        level = conn.execute(select(CASES.c.level).where(CASES.c.id == case_id)).scalar()
    assert (result.version, level) == (3, "township")
