"""Registration once per Idempotency-Key (issue 16): a replay answers with the same case and creates nothing,
the same key with another body is refused, the recorded time is accepted back to the outbox's age, and two
workers racing with one key make one case and two equal answers — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import pytest
import test_api_cases
from factories import PASSWORD, intake
from server_harness import Server
from sqlalchemy import func, select
from test_api_cases import login

from mediation_flow.store import clock
from mediation_flow.store.models import Case, CaseEvent, IntakeKey, Party

client = test_api_cases.client  # the API client fixture


def counts(engine):
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t.__table__)).scalar()
            for t in (Case, CaseEvent, Party, IntakeKey)
        )


def test_a_replay_answers_the_same_and_creates_nothing(client, engine):
    headers = {**login(client, "grid_worker"), "Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/api/v1/cases", json=intake(), headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    before = counts(engine)
    again = client.post("/api/v1/cases", json=intake(), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert counts(engine) == before == (1, 1, 2, 1)


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(client, engine):
    headers = {**login(client, "grid_worker"), "Idempotency-Key": "k-1"}
    assert client.post("/api/v1/cases", json=intake(), headers=headers).status_code == 201
    before = counts(engine)
    other = client.post("/api/v1/cases", json=intake(title="另一起纠纷"), headers=headers)
    assert other.status_code == 422
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "另一份内容不同的登记" in error["message"]
    assert counts(engine) == before


def test_keys_belong_to_their_user(client, engine):
    one = client.post("/api/v1/cases", json=intake(), headers={**login(client, "grid_worker"), "Idempotency-Key": "k"})
    two = client.post("/api/v1/cases", json=intake(), headers={**login(client, "mediator"), "Idempotency-Key": "k"})
    assert (one.status_code, two.status_code) == (201, 201)
    assert one.json()["id"] != two.json()["id"]
    assert counts(engine)[0] == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "a b", "x" * 301])
def test_a_malformed_key_is_a_structured_error(client, engine, key):
    response = client.post(
        "/api/v1/cases", json=intake(), headers={**login(client, "grid_worker"), "Idempotency-Key": key}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("invalid_data", "invalid_request")
    assert counts(engine) == (0, 0, 0, 0)


def test_the_time_recorded_on_the_phone_counts_back_to_the_outbox_age(client, engine):
    headers = login(client, "grid_worker")
    now = clock.utcnow()
    three_days = (now - timedelta(days=3)).replace(microsecond=0)
    kept = client.post(
        "/api/v1/cases",
        json=intake(effective_at=three_days.isoformat()),
        headers={**headers, "Idempotency-Key": "outbox-1"},
    )
    assert kept.status_code == 201, kept.text
    assert clock.ensure_aware(datetime.fromisoformat(kept.json()["registered_at"])) == three_days
    too_old = client.post(
        "/api/v1/cases",
        json=intake(effective_at=(now - timedelta(days=8)).isoformat()),
        headers={**headers, "Idempotency-Key": "outbox-2"},
    )
    assert too_old.status_code == 422
    assert "离线登记保存超过7天" in too_old.json()["error"]["errors"][0]["message"]
    future = client.post(
        "/api/v1/cases",
        json=intake(effective_at=(now + timedelta(minutes=10)).isoformat()),
        headers={**headers, "Idempotency-Key": "outbox-3"},
    )
    assert future.status_code == 422
    assert future.json()["error"]["errors"][0]["message"] == "登记时间不能晚于当前时间"
    without_key = client.post("/api/v1/cases", json=intake(effective_at=three_days.isoformat()), headers=headers)
    assert without_key.status_code == 403  # back-dating without an outbox stays with supervisors
    assert counts(engine)[0] == 1


def test_the_page_form_honours_the_key(engine, town, tmp_path, monkeypatch):
    from test_web_pages import Browser

    from mediation_flow.store.config import get_settings
    from web.app import create_app

    monkeypatch.setenv("MEDIATION_FLOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    browser = Browser(create_app(engine))
    assert browser.login("grid_worker").status_code == 303
    form = {
        "title": "网页离线登记",
        "category": "neighbourhood",
        "source": "initiative",
        "summary": "两户因院坝通道争执。",
        "people_involved": "2",
        "parties.0.role": "applicant",
        "parties.0.name": "张三",
        "csrf_token": browser.csrf,
    }
    headers = {"Idempotency-Key": "page-form-1"}
    first = browser.client.post("/register", data=form, headers=headers)
    again = browser.client.post("/register", data=form, headers=headers)
    get_settings.cache_clear()
    assert (first.status_code, again.status_code) == (303, 303)
    assert first.headers["location"] == again.headers["location"]
    assert counts(engine)[0] == 1


@pytest.mark.slow
def test_two_workers_racing_with_one_key_make_one_case(engine, town, db_url, tmp_path):
    clients = 8
    with Server(db_url, tmp_path, workers=2) as server:
        token = httpx.post(
            f"{server.base_url}/api/v1/auth/token", data={"username": "grid_worker", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        barrier = threading.Barrier(clients)

        def send(_: int) -> httpx.Response:
            with httpx.Client(base_url=server.base_url, timeout=60) as client:
                barrier.wait(timeout=60)
                return client.post("/api/v1/cases", json=intake(title="离线登记同步"), headers=headers)

        with ThreadPoolExecutor(clients) as pool:
            answers = list(pool.map(send, range(clients)))
    assert [a.status_code for a in answers] == [201] * clients, [a.text for a in answers][:2]
    bodies = [a.json() for a in answers]
    assert all(b == bodies[0] for b in bodies)
    assert sum(1 for a in answers if a.headers.get("Idempotent-Replayed") != "true") == 1
    with engine.connect() as conn:
        titles = list(conn.execute(select(Case.__table__.c.title)).scalars())
    assert titles == ["离线登记同步"]
