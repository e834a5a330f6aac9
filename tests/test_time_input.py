"""Time as people type it: without an offset it is Beijing time (Asia/Shanghai), everywhere; dates before
2000-01-01 or after tomorrow are refused with a clear message (422), and no date input ever gives a 5xx."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories import PASSWORD, intake, register
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediation_flow.store import clock
from web.app import create_app


@pytest.fixture
def client(sqlite_engine):
    from factories import make_town

    make_town(sqlite_engine)
    with TestClient(create_app(sqlite_engine)) as c:
        yield c


def supervisor(client):
    response = client.post("/api/v1/auth/token", data={"username": "supervisor", "password": PASSWORD})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_time_without_offset_at_20_00_on_31_december_lands_in_that_year(client):
    created = client.post(
        "/api/v1/cases", headers=supervisor(client), json={**intake(), "effective_at": "2023-12-31T20:00:00"}
    )
    assert created.status_code == 201, created.text
    case = created.json()
    assert "（2023）" in case["number"]
    assert datetime.fromisoformat(case["registered_at"]).astimezone(UTC) == datetime(2023, 12, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00", "1999-12-31T23:00:00+08:00", "2999-01-01T00:00:00"])
def test_a_date_in_year_0001_or_2999_is_refused_with_a_clear_message(client, moment):
    refused = client.post("/api/v1/cases", headers=supervisor(client), json={**intake(), "effective_at": moment})
    assert refused.status_code == 422, refused.text
    assert "2000年1月1日至明天" in refused.text


def test_a_transition_and_a_report_read_offset_less_times_as_beijing_time(client, sqlite_engine):
    headers = supervisor(client)
    case_id = client.post(
        "/api/v1/cases", headers=headers, json={**intake(), "effective_at": "2023-12-30T09:00:00"}
    ).json()["id"]
    far = client.post(
        f"/api/v1/cases/{case_id}/transitions",
        headers=headers,
        json={
            "trigger": "accept",
            "expected_version": 1,
            "data": {"rights_notified": True},
            "effective_at": "0001-01-01",
        },
    )
    assert far.status_code == 422 and "2000年1月1日至明天" in far.text
    accepted = client.post(
        f"/api/v1/cases/{case_id}/transitions",
        headers=headers,
        json={
            "trigger": "accept",
            "expected_version": 1,
            "data": {"rights_notified": True},
            "effective_at": "2023-12-31T23:30:00",
        },
    )
    assert accepted.status_code == 200, accepted.text
    params = {"year": "2023", "jurisdiction": "500101001"}
    before = client.get("/api/v1/reports/annual", headers=headers, params={**params, "as_of": "2000-01-01T00:00:00"})
    assert before.status_code == 200 and before.json()["figures"]["taken_in"] == 0
    bad = client.get("/api/v1/reports/annual", headers=headers, params={**params, "as_of": "0001-01-01T00:00:00"})
    assert bad.status_code == 422


def test_the_core_reads_a_naive_time_as_beijing_time_and_refuses_far_dates(sqlite_engine):
    from factories import make_town

    from mediation_flow.errors import InvalidData

    town = make_town(sqlite_engine)
    case_id = register(sqlite_engine, town, "supervisor", effective_at=datetime(2023, 12, 31, 20, 0))
    with sqlite_engine.connect() as conn:
        from sqlalchemy import select

        from mediation_flow.store.tables import CASES

        row = conn.execute(select(CASES.c.year, CASES.c.registered_at).where(CASES.c.id == case_id)).one()
    assert row.year == 2023 and clock.ensure_aware(row.registered_at) == datetime(2023, 12, 31, 12, tzinfo=UTC)
    with pytest.raises(InvalidData):
        register(sqlite_engine, town, "supervisor", effective_at=datetime(1, 1, 1))


moments = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(datetime.isoformat),
    st.dates().map(lambda d: d.isoformat()),
    st.text(max_size=40),
    st.integers(),
    st.none(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=moments)
def test_no_date_input_gives_a_server_error(client, moment):
    headers = supervisor(client)
    response = client.post("/api/v1/cases", headers=headers, json={**intake(), "effective_at": moment})
    assert response.status_code in (201, 422), (moment, response.status_code, response.text[:200])
    report = client.get(
        "/api/v1/reports/annual",
        headers=headers,
        params={"year": "2023", "jurisdiction": "500101001", "as_of": str(moment)[:40]},
    )
    assert report.status_code in (200, 422), (moment, report.status_code)
