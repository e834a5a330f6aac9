"""Issue 14, finding 12 (the smaller items), on SQLite and PostgreSQL: no Swagger UI (it needed inline script
and a CDN); personal-data answers are ``no-store``; ``GET /notices`` writes nothing (marking read is a POST);
lowering a risk grade is the supervisor's. (The .part clean-up and file modes: test_security_uploads; IDs
typed into free text: test_security_personal.)"""

from __future__ import annotations

from typing import Any

import pytest
from factories import drive, register
from security_helpers import api_login, client_for, own_data_dir
from sqlalchemy import func, select
from test_web_pages import Browser

from mediation_flow.errors import GuardFailed
from mediation_flow.store.tables import NOTICES_SEEN


@pytest.fixture
def web(engine: Any, town: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with own_data_dir(tmp_path, monkeypatch), client_for(engine) as client:
        yield client


def test_no_swagger_ui_and_the_schema_under_the_strict_policy(web: Any) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert web.get(path).status_code == 404, path
    schema = web.get("/openapi.json")
    assert schema.status_code == 200 and "script-src 'self';" in schema.headers["content-security-policy"] + ";"


def test_personal_data_answers_are_not_stored_by_caches(web: Any, engine: Any, town: Any) -> None:
    case_id = register(engine, town)
    answer = web.get(f"/api/v1/cases/{case_id}", headers=api_login(web, "mediator"))
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    browser = Browser(web.app)
    assert browser.login("mediator").status_code == 303
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/print/registration.docx"):
        assert "no-store" in browser.get(path).headers["cache-control"], path
    assert "no-store" not in web.get("/static/app.css").headers.get("cache-control", "")


def test_opening_the_inbox_writes_nothing_marking_read_is_a_post(web: Any, engine: Any, town: Any) -> None:
    case_id = register(engine, town)
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])
    browser = Browser(web.app)
    assert browser.login("mediator").status_code == 303

    def seen_rows() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(NOTICES_SEEN)).scalar() or 0)

    for _ in range(2):
        assert ">新<" in browser.get("/notices").text
    assert seen_rows() == 0
    assert browser.post("/notices/seen", {}, token=False).status_code == 403  # a POST needs the CSRF token
    assert browser.post("/notices/seen", {}).status_code == 303
    assert seen_rows() == 1 and ">新<" not in browser.get("/notices").text


def test_a_mediator_cannot_lower_a_risk_grade_a_supervisor_can(engine: Any, town: Any) -> None:
    case_id = register(engine, town)
    lower = [("set_risk", {"grade": "blue", "reason": "已平息"})]
    raised = drive(engine, case_id, town["mediator"], [("set_risk", {"grade": "red", "reason": "扬言报复"})])
    with pytest.raises(GuardFailed, match="降低风险等级须由司法所人员办理"):
        drive(engine, case_id, town["mediator"], lower, version=raised.version)
    assert drive(engine, case_id, town["supervisor"], lower, version=raised.version).version == raised.version + 1
