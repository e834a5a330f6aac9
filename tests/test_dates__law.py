"""Dates that follow the law (issue 13, point 6): no session, signing or ruling date in the future (Beijing
time) or before the case began; 履行期限 not before signing; the 申请司法确认 window counts 30 days from the
signing date typed (人民调解法 第三十三条), not from the day the agreement was entered. A refused date is a
field-level Chinese message, a structured 422 in the API, and no write. Both back ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from factories import PASSWORD, drive, intake
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.views import case_view
from mediation_flow.display.formats import cn_date
from mediation_flow.errors import InvalidData
from mediation_flow.store import clock
from mediation_flow.store.models import Case, CaseEvent
from mediation_flow.workflow.deadlines import clock_views
from mediation_flow.workflow.registry import REGISTRY
from mediation_flow.workflow.workdays import default_calendar
from web.app import create_app

CASES, EVENTS = Case.__table__, CaseEvent.__table__
AGREEMENT = {"form": "oral", "facts": "双方因通行发生争执", "terms": "甲方让出通道一米"}


def today() -> date:
    return clock.local_date(clock.utcnow())


def mediating_case(engine: Any, town: Any, *, began_days_ago: int = 0) -> tuple[int, int]:
    """A case registered ``began_days_ago`` days ago (a supervisor's 补录), now in mediation: (id, version)."""
    began = clock.utcnow() - timedelta(days=began_days_ago)
    case_id = register_case(engine, actor=town["supervisor"], intake=intake(), effective_at=began)
    steps = [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True}),
    ]
    return case_id, drive(engine, case_id, town["supervisor"], steps).version


def refused(town: Any, engine: Any, case_id: int, version: int, trigger: str, data: dict[str, Any]) -> dict[str, str]:
    """Fire as the mediator, expect InvalidData: the field → message map; the case and its events unchanged."""
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(EVENTS).where(EVENTS.c.case_id == case_id)).scalar()
    with pytest.raises(InvalidData) as caught:
        apply_trigger(engine, case_id=case_id, actor=town["mediator"], trigger=trigger,
                      expected_version=version, data=data)  # fmt: skip
    with engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(EVENTS).where(EVENTS.c.case_id == case_id)).scalar()
        stored = conn.execute(select(CASES.c.version).where(CASES.c.id == case_id)).scalar()
    assert (after, stored) == (before, version), "a refused date writes nothing"
    return {e["field"]: e["message"] for e in caught.value.errors}


def test_a_session_date_in_the_future_is_refused(engine, town):
    case_id, version = mediating_case(engine, town)
    tomorrow = (today() + timedelta(days=1)).isoformat()
    errors = refused(town, engine, case_id, version, "record_session", {"session_date": tomorrow, "content": "调解"})
    assert errors == {"session_date": f"“调解日期”不能晚于今天（{cn_date(today())}，北京时间）"}
    ok = {"session_date": today().isoformat(), "content": "调解"}
    assert drive(engine, case_id, town["mediator"], [("record_session", ok)], version=version).version == version + 1


def test_a_session_date_before_the_case_began_is_refused(engine, town):
    case_id, version = mediating_case(engine, town, began_days_ago=5)
    began = today() - timedelta(days=5)
    early = (began - timedelta(days=1)).isoformat()
    errors = refused(town, engine, case_id, version, "record_session", {"session_date": early, "content": "调解"})
    assert errors == {"session_date": f"“调解日期”不能早于案件登记日期（{cn_date(began)}）"}
    same_day = {"session_date": began.isoformat(), "content": "调解"}
    assert drive(engine, case_id, town["mediator"], [("record_session", same_day)], version=version).state


def test_a_signing_date_in_the_future_or_before_the_case_is_refused(engine, town):
    case_id, version = mediating_case(engine, town, began_days_ago=3)
    future = {**AGREEMENT, "signed_on": (today() + timedelta(days=2)).isoformat()}
    assert "不能晚于今天" in refused(town, engine, case_id, version, "reach_agreement", future)["signed_on"]
    early = {**AGREEMENT, "signed_on": (today() - timedelta(days=4)).isoformat()}
    assert "不能早于案件登记日期" in refused(town, engine, case_id, version, "reach_agreement", early)["signed_on"]


def test_a_performance_deadline_before_the_signing_date_is_refused(engine, town):
    case_id, version = mediating_case(engine, town, began_days_ago=10)
    signed = today() - timedelta(days=2)
    data = {
        **AGREEMENT,
        "signed_on": signed.isoformat(),
        "performance_deadline": (signed - timedelta(days=1)).isoformat(),
    }
    errors = refused(town, engine, case_id, version, "reach_agreement", data)
    assert errors == {"performance_deadline": f"“履行期限”不能早于“签字（生效）日期”（{cn_date(signed)}）"}
    ahead = {**data, "performance_deadline": (today() + timedelta(days=60)).isoformat()}  # a plan may lie ahead
    assert drive(engine, case_id, town["mediator"], [("reach_agreement", ahead)], version=version).state == "agreed"


def test_a_ruling_date_in_the_future_is_refused(engine, town):
    case_id, version = mediating_case(engine, town, began_days_ago=10)
    steps = [("reach_agreement", {**AGREEMENT, "signed_on": today().isoformat()}),
             ("apply_confirmation", {"court": "青龙人民法庭", "applied_on": today().isoformat()})]  # fmt: skip
    version = drive(engine, case_id, town["mediator"], steps, version=version).version
    future = {"ruling_number": "（2026）示0101民特1号", "ruled_on": (today() + timedelta(days=1)).isoformat()}
    assert "不能晚于今天" in refused(town, engine, case_id, version, "confirmation_granted", future)["ruled_on"]


def test_the_confirmation_window_counts_from_the_signing_date_not_the_entry(engine, town):
    """An agreement signed on 3 June 2025 and entered on 23 June (20 days later) has 10 of its 30 days left
    that day, due 3 July (人民调解法 第三十三条); counted from the entry it would have had 30."""
    supervisor, signed, entered = town["supervisor"], date(2025, 6, 3), datetime(2025, 6, 23, 2, 0, tzinfo=UTC)
    case_id = register_case(
        engine, actor=supervisor, intake=intake(), effective_at=datetime(2025, 5, 28, 2, tzinfo=UTC)
    )
    steps = [("assign", {"mediator_id": town["mediator"].id}), ("accept", {"rights_notified": True}),
             ("start_mediation", {"all_parties_consent": True}),
             ("reach_agreement", {**AGREEMENT, "signed_on": signed.isoformat()})]  # fmt: skip
    drive(engine, case_id, supervisor, steps, moments=[entered - timedelta(days=20)] * 3 + [entered])
    with engine.connect() as conn:
        row = conn.execute(select(CASES.c.clocks, CASES.c.workflow_name)).one()
        workflow = REGISTRY.current(conn, row.workflow_name)
    window = next(
        c for c in clock_views(workflow.spec, row.clocks, today=entered.date()) if c.name == "confirmation_window"
    )
    assert row.clocks["confirmation_window"]["started"] == "2025-06-03"
    assert (window.due, window.days_left, window.unit, window.status) == (
        date(2025, 7, 3),
        10,
        "calendar_days",
        "on_time",
    )


def test_a_late_entered_agreement_past_its_window_is_overdue_at_once(engine, town):
    case_id, version = mediating_case(engine, town, began_days_ago=40)
    signed = today() - timedelta(days=35)  # its 30 days (moved to the next working day at most) are past
    drive(engine, case_id, town["mediator"], [("reach_agreement", {**AGREEMENT, "signed_on": signed.isoformat()})],
          version=version)  # fmt: skip
    window = next(c for c in case_view(engine, town["mediator"], case_id, channel=None).clocks
                  if c.name == "confirmation_window")  # fmt: skip
    assert window.status == "overdue" and window.due == default_calendar().calendar_deadline(signed, 30)


# --- the API: a structured 422 naming the field; any date text never gives a 5xx ----------------------


@pytest.fixture
def api(sqlite_engine):
    from factories import make_town

    town = make_town(sqlite_engine)
    with TestClient(create_app(sqlite_engine)) as client:
        token = client.post("/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        case_id, version = mediating_case(sqlite_engine, town)
        yield client, case_id, version


def test_the_api_answers_a_future_date_with_a_structured_422(api):
    client, case_id, version = api
    tomorrow = (today() + timedelta(days=1)).isoformat()
    body = {
        "trigger": "record_session",
        "expected_version": version,
        "data": {"session_date": tomorrow, "content": "调解"},
    }
    answer = client.post(f"/api/v1/cases/{case_id}/transitions", json=body)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_data"
    assert error["errors"] == [
        {"field": "session_date", "message": f"“调解日期”不能晚于今天（{cn_date(today())}，北京时间）"}
    ]
    assert client.get(f"/api/v1/cases/{case_id}").json()["version"] == version


DATE_TEXT = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(session=DATE_TEXT, signed=DATE_TEXT, deadline=DATE_TEXT)
def test_no_date_input_gives_a_server_error(api, session, signed, deadline):
    client, case_id, _ = api
    version = client.get(f"/api/v1/cases/{case_id}").json()["version"]
    for trigger, data in (
        ("record_session", {"session_date": session, "content": "调解"}),
        ("reach_agreement", {**AGREEMENT, "signed_on": signed, "performance_deadline": deadline}),
    ):
        answer = client.post(
            f"/api/v1/cases/{case_id}/transitions",
            json={"trigger": trigger, "expected_version": version, "data": data},
        )
        assert answer.status_code in (200, 409, 422), answer.text
        if answer.status_code == 200:
            version = answer.json()["version"]


def test_registration_time_is_the_case_start_in_beijing_time(engine, town):
    """Registered at 20:00 UTC is 04:00 the next day in Beijing: that next day is when the case began."""
    now = clock.utcnow()
    began = datetime(now.year, now.month, now.day, 20, 0, tzinfo=UTC) - timedelta(days=3)
    case_id = register_case(engine, actor=town["supervisor"], intake=intake(), effective_at=began)
    steps = [("assign", {"mediator_id": town["mediator"].id}), ("accept", {"rights_notified": True}),
             ("start_mediation", {"all_parties_consent": True})]  # fmt: skip
    version = drive(engine, case_id, town["supervisor"], steps).version
    utc_day = began.date().isoformat()
    errors = refused(town, engine, case_id, version, "record_session", {"session_date": utc_day, "content": "调解"})
    assert errors == {"session_date": f"“调解日期”不能早于案件登记日期（{cn_date(began.date() + timedelta(days=1))}）"}
