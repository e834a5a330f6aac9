"""更正 over HTTP: the supervisor's form on the case page (Chinese errors, the history shows both values) and
``POST /api/v1/cases/{id}/corrections`` (structured errors, nothing half-written), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from factories import Town, drive, happy_path, register
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from test_web_pages import app, data_dir, signed_in, version_of  # noqa: F401 - the page fixtures

from mediation_flow.store.tables import CASES, EVENTS


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": "test-pass-1"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_supervisor_corrects_from_the_case_page(signed_in: Any, town: Town, engine: Engine) -> None:  # noqa: F811
    case_id = register(engine, town)
    mediator = signed_in("mediator")
    assert 'data-trigger="correct"' not in mediator.get(f"/cases/{case_id}").text
    supervisor = signed_in("supervisor")
    assert 'data-trigger="correct"' in supervisor.get(f"/cases/{case_id}").text
    form = supervisor.get(f"/cases/{case_id}/do/correct", **{"HX-Request": "true"})
    assert "更正内容" in form.text and "更正理由" in form.text
    assert "申请人 张三" in form.text and "登记（" in form.text  # which party, which step: by name, not by number
    assert 'name="effective_at"' not in form.text  # a correction is recorded now, by the one who makes it
    refused = supervisor.post(
        f"/cases/{case_id}/do/correct",
        {"expected_version": "1", "what": "category", "value": "不存在的类型", "reason": "核对台账"},
        htmx=True,
    )
    assert refused.status_code == 422 and "没有“不存在的类型”这一纠纷类型" in refused.text
    assert "不存在的类型" in refused.text  # what was typed is kept
    missing = supervisor.post(
        f"/cases/{case_id}/do/correct", {"expected_version": "1", "what": "category", "value": "婚姻家庭"}, htmx=True
    )
    assert missing.status_code == 422 and "请填写“更正理由”" in missing.text
    assert version_of(engine, case_id) == 1
    done = supervisor.post(
        f"/cases/{case_id}/do/correct",
        {"expected_version": "1", "what": "category", "value": "婚姻家庭", "reason": "核对台账"},
        htmx=True,
    )
    assert done.status_code == 200 and "已完成：更正" in done.text
    page = supervisor.get(f"/cases/{case_id}").text
    assert "原为" in page and "邻里" in page and "婚姻家庭" in page and "核对台账" in page
    with engine.connect() as conn:
        assert conn.execute(select(CASES.c.category).where(CASES.c.id == case_id)).scalar() == "marriage_family"


def test_the_api_corrects_and_refuses_with_structured_errors(app: Any, town: Town, engine: Engine) -> None:  # noqa: F811
    case_id = register(engine, town)
    client = TestClient(app)
    supervisor, mediator = _token(client, "supervisor"), _token(client, "mediator")
    url = f"/api/v1/cases/{case_id}/corrections"
    body = {"expected_version": 1, "what": "party_phone", "party": 1, "value": "13900001111", "reason": "电话号码记错"}
    assert client.post(url, json=body, headers=mediator).status_code == 403
    bad = client.post(url, json={**body, "value": "12345"}, headers=supervisor)
    assert bad.status_code == 422 and bad.json()["error"]["message"]
    assert client.post(url, json={**body, "reason": ""}, headers=supervisor).status_code == 422
    assert client.post(url, json={**body, "expected_version": 5}, headers=supervisor).status_code == 409
    assert version_of(engine, case_id) == 1
    done = client.post(url, json=body, headers=supervisor)
    assert done.status_code == 200, done.text
    assert done.json()["version"] == 2
    assert done.json()["parties"][0]["phone"] != "13900001111"  # masked in the answer, as after any step
    full = client.get(f"/api/v1/cases/{case_id}?identity=full", headers=supervisor).json()
    assert full["parties"][0]["phone"] == "13900001111"
    with engine.connect() as conn:
        data = conn.execute(select(EVENTS.c.data).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == 2)).scalar()
    assert data["was"] == "13812345678" and data["value"] == "13900001111" and data["reason"] == "电话号码记错"


def test_the_agreement_printout_appears_with_the_agreement_without_a_reload(
    signed_in: Any,  # noqa: F811
    town: Town,
    engine: Engine,
) -> None:
    """Issue 17 point 8: 打印调解协议书 is offered in the same answer that records the agreement (out of band)."""
    case_id = register(engine, town)
    drive(engine, case_id, town["mediator"], happy_path()[:3])
    mediator = signed_in("mediator")
    assert "打印调解协议书" not in mediator.get(f"/cases/{case_id}").text
    response = mediator.post(
        f"/cases/{case_id}/do/reach_agreement",
        {"expected_version": str(version_of(engine, case_id)), **happy_path()[3][1]},
        htmx=True,
    )
    assert response.status_code == 200, response.text[:300]
    assert 'id="case-attachments" aria-labelledby="h-files" hx-swap-oob="true"' in response.text
    assert "打印调解协议书" in response.text
