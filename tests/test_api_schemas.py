"""The case schemas: the API's intake body is the core's intake parser (same inputs accepted, same field errors),
and the OpenAPI document shows the intake body and every trigger's fields."""

from __future__ import annotations

import pytest
from factories import PASSWORD, intake
from fastapi.testclient import TestClient

from mediation_flow.cases.intake import parse_intake
from mediation_flow.cases.schemas import CaseCreate, workflow_file_specs
from mediation_flow.display.errors import translate
from mediation_flow.errors import InvalidData
from web.app import create_app

BAD_INTAKES = [
    {k: v for k, v in intake().items() if k != "title"},
    intake(title="x" * 201),
    intake(summary=""),
    intake(summary="   "),
    {k: v for k, v in intake().items() if k != "parties"},
    intake(parties=[]),
    intake(parties=[{"name": "王五", "id_number": "110105194912310021"}]),
    intake(parties=[{"name": "王五", "phone": "12345"}]),
    intake(parties=[{"name": "王五", "role": "boss"}]),
    intake(parties=[{"name": "", "kind": "robot"}]),
    intake(amount="12.345"),
    intake(amount="十二元"),
    intake(people_involved=0),
    intake(people_involved="many"),
    intake(risk_hints=["dragons"]),
    intake(colour="blue"),
    intake(attributes=["not", "a", "mapping"]),
    [1, 2, 3],
]


def core_errors(payload):
    with pytest.raises(InvalidData) as info:
        parse_intake(payload)
    return sorted((e["field"], e["message"]) for e in info.value.errors)


@pytest.fixture
def client(engine, town):
    with TestClient(create_app(engine)) as c:
        token = c.post("/api/v1/auth/token", data={"username": "grid_worker", "password": PASSWORD}).json()
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield c


@pytest.mark.parametrize("payload", BAD_INTAKES, ids=range(len(BAD_INTAKES)))
def test_the_api_and_the_core_reject_the_same_intake_with_the_same_field_errors(client, payload):
    response = client.post("/api/v1/cases", json=payload)
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "invalid_request" and body["message"] == "提交的数据有误"
    assert sorted((e["field"], e["message"]) for e in body["errors"]) == core_errors(payload)
    assert all("“" in e["message"] or e["message"] == "未知字段" for e in body["errors"])  # names the field


def test_the_schema_accepts_what_the_core_accepts():
    for payload in (intake(), intake(amount="1,200.50元", people_involved="3"), intake(effective_at=None)):
        core = {k: v for k, v in payload.items() if k != "effective_at"}
        assert CaseCreate.model_validate(payload).intake() == parse_intake(core)


def test_a_bad_registration_time_names_the_field(client):
    response = client.post("/api/v1/cases", json=intake(effective_at="yesterday"))
    assert response.status_code == 422
    assert response.json()["error"]["errors"] == [
        {
            "field": "effective_at",
            "message": "“发生时间”：时间格式不正确（ISO 8601），"
            "如 2023-12-31T20:00:00（北京时间）或 2023-12-31T20:00:00+08:00",
        }
    ]


def test_translate_names_the_field_with_the_glossary_or_the_workflow_label():
    errors = [
        {"type": "missing", "loc": ("body", "parties", 0, "name"), "msg": "Field required"},
        {"type": "string_too_long", "loc": ("query", "q"), "msg": "", "ctx": {"max_length": 20}},
        {"type": "json_invalid", "loc": ("body", 7), "msg": "JSON decode error"},
        {"type": "bool_parsing", "loc": ("data", "consent"), "msg": ""},
    ]
    assert translate(errors, {"consent": "当事人同意"}) == [
        {"field": "parties.0.name", "message": "请填写“姓名”"},
        {"field": "q", "message": "“q”不能超过20个字"},
        {"field": "7", "message": "JSON 格式错误"},
        {"field": "data.consent", "message": "“当事人同意”应为是或否"},
    ]


def test_openapi_documents_the_intake_body_and_every_triggers_fields(client):
    doc = client.get("/openapi.json").json()
    body = doc["paths"]["/api/v1/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    intake_schema = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert set(intake_schema["required"]) == {"title", "category", "summary", "parties"}
    assert {"amount", "people_involved", "effective_at", "jurisdiction_code"} <= set(intake_schema["properties"])
    assert intake_schema["properties"]["title"]["maxLength"] == 200
    transitions = doc["paths"]["/api/v1/cases/{case_id}/transitions"]["post"]["requestBody"]
    branches = {
        b["properties"]["trigger"]["const"]: b for b in transitions["content"]["application/json"]["schema"]["oneOf"]
    }
    assert set(branches) == {t.trigger for spec in workflow_file_specs() for t in spec.transitions}
    reject = branches["reject"]["properties"]["data"]
    assert reject["required"] == ["reason"] and reject["properties"]["reason"]["title"] == "不予受理理由"
    assert reject["additionalProperties"] is False
    agreement = branches["reach_agreement"]["properties"]["data"]["properties"]
    assert agreement["signed_on"]["format"] == "date" and agreement["amount"]["type"] == "string"
    assert agreement["performance"]["description"] == "form 为 written 时必填"  # required_when, in words
    joint = branches["start_mediation"]["properties"]["data"]["properties"]  # a multichoice's box ticked: 含
    assert joint["joint_court"]["description"].endswith("joint_agencies 含 tribunal 时必填"), joint["joint_court"]
    assert branches["reach_agreement"]["required"] == ["trigger", "expected_version", "data"]
