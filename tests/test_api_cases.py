"""The JSON API: intake, transitions and their error statuses; bad input never writes anything."""

from __future__ import annotations

import pytest
from factories import PASSWORD, intake
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mediation_flow.store.models import Case, CaseEvent, Party
from web.app import create_app


@pytest.fixture
def client(engine, town):
    with TestClient(create_app(engine)) as c:
        yield c


def login(client, username):
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def counts(engine):
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t.__table__)).scalar() for t in (Case, CaseEvent, Party)
        )


def test_intake_and_full_transition_cycle(client, engine):
    headers = login(client, "grid_worker")
    created = client.post("/api/v1/cases", json=intake(), headers=headers)
    assert created.status_code == 201, created.text
    case = created.json()
    assert (case["state"], case["version"], case["level"]) == ("registered", 1, "grid")
    assert case["parties"][0]["id_number"] == "1101**********002X"  # a grid worker sees it masked
    mediator = login(client, "mediator")
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=mediator).json()
    assert detail["parties"][0]["id_number"] == "1101**********002X"  # masked for everyone by default (最小必要)
    full = client.get(f"/api/v1/cases/{case['id']}?identity=full", headers=mediator).json()
    assert full["parties"][0]["id_number"] == "11010519491231002X"  # asked for: in full
    assert {t["trigger"] for t in detail["available_triggers"]} >= {"accept", "reject", "refer"}
    moved = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        json={"trigger": "accept", "expected_version": 1, "data": {"rights_notified": True}},
        headers=mediator,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["state"], moved.json()["version"]) == ("accepted", 2)
    stale = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        json={"trigger": "start_mediation", "expected_version": 1, "data": {"all_parties_consent": True}},
        headers=mediator,
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    assert stale.json()["error"]["current_version"] == 2
    illegal = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        json={"trigger": "close_resolved", "expected_version": 2},
        headers=mediator,
    )
    assert illegal.status_code == 422
    assert "start_mediation" in illegal.json()["error"]["allowed"]
    forbidden = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        json={"trigger": "start_mediation", "expected_version": 2, "data": {"all_parties_consent": True}},
        headers=login(client, "grid_worker"),
    )
    assert forbidden.status_code == 403
    hidden = client.get(f"/api/v1/cases/{case['id']}", headers=login(client, "other_village_mediator"))
    assert hidden.status_code == 404
    assert client.get(f"/api/v1/cases/{case['id']}").status_code == 401


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        (intake(category="dragons"), "category", "纠纷类型"),
        (intake(title="x" * 20_000), "title", "200"),
        (intake(summary=""), "summary", "纠纷简要情况"),
        ({k: v for k, v in intake().items() if k != "parties"}, "parties", "当事人"),
        (intake(parties=[{"name": "王五", "id_number": "110105194912310021"}]), "parties.0", "校验位"),
        (intake(parties=[{"name": "王五", "phone": "12345"}]), "parties.0", "电话"),
        (intake(amount="12.345"), "amount", "两位小数"),
        (intake(jurisdiction_code="500101001002001"), "jurisdiction_code", "本辖区"),
    ],
)
def test_bad_intake_is_422_with_a_clear_message_and_writes_nothing(client, engine, payload, field, fragment):
    headers = login(client, "grid_worker")
    before = counts(engine)
    response = client.post("/api/v1/cases", json=payload, headers=headers)
    assert response.status_code == 422, response.text
    errors = response.json()["error"]["errors"]
    assert any(e["field"] == field and fragment in e["message"] for e in errors), errors
    assert counts(engine) == before


def test_malformed_json_and_missing_transition_data(client, engine):
    headers = login(client, "grid_worker")
    before = counts(engine)
    broken = client.post(
        "/api/v1/cases", content=b'{"title": "x",', headers={**headers, "Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "invalid_request"
    assert counts(engine) == before
    case_id = client.post("/api/v1/cases", json=intake(), headers=headers).json()["id"]
    mediator = login(client, "mediator")
    before = counts(engine)
    missing = client.post(
        f"/api/v1/cases/{case_id}/transitions", json={"trigger": "reject", "expected_version": 1}, headers=mediator
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["errors"] == [{"field": "reason", "message": "请填写“不予受理理由”"}]
    assert counts(engine) == before


def test_wrong_password_is_401_with_chinese_message(client):
    response = client.post("/api/v1/auth/token", data={"username": "mediator", "password": "nope-1234"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "用户名或密码错误"


def test_reference_endpoints(client):
    headers = login(client, "supervisor")
    tree = client.get("/api/v1/jurisdictions", headers=headers).json()
    township = tree[0]["children"][0]
    assert township["name"] == "青龙镇" and "龙井村" in [v["name"] for v in township["children"]]
    workflows = {w["name"]: w for w in client.get("/api/v1/workflows", headers=headers).json()}
    base = workflows["people_mediation"]
    assert base["version"] == 1 and base["states"]["resolved"]["final"] is True
    assert "accept" in base["triggers"] and "mediation" in base["clocks"]


def test_a_ticked_joint_unit_without_its_name_is_a_422_naming_the_field(client, engine):
    """一庭两所 over the API: 派出所 ticked among the joint units and no station named is refused as structured data
    (the field and a Chinese message), nothing written; named, the step is taken."""
    case_id = client.post("/api/v1/cases", json=intake(), headers=login(client, "grid_worker")).json()["id"]
    mediator = login(client, "mediator")
    url = f"/api/v1/cases/{case_id}/transitions"
    accept = {"trigger": "accept", "expected_version": 1, "data": {"rights_notified": True}}
    assert client.post(url, json=accept, headers=mediator).status_code == 200
    data = {"all_parties_consent": True, "joint_agencies": ["police_station"], "joint_officer": "赵勇"}
    before = counts(engine)
    refused = client.post(
        url, json={"trigger": "start_mediation", "expected_version": 2, "data": data}, headers=mediator
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "invalid_data"
    assert refused.json()["error"]["errors"] == [
        {"field": "joint_police", "message": "联合调解单位（一庭两所）勾选“派出所”时，请选择“参加联合调解的派出所”"}
    ]
    assert counts(engine) == before
    named = {**data, "joint_police": "qinglong_police"}
    taken = client.post(
        url, json={"trigger": "start_mediation", "expected_version": 2, "data": named}, headers=mediator
    )
    assert taken.status_code == 200, taken.text
