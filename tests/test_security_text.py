"""Issue 14, findings 5 and 10 (and the input half of 1): one text-input policy for every input, the same on
SQLite and PostgreSQL. A NUL byte — which PostgreSQL cannot store — or another control character anywhere
(sign-in form, JSON field, page form, query parameter) is a 422 with a Chinese message, never a 500; what a
paste produces (U+000B, CR) is normalised. Numbers and dates at the edges of what Python or the database
holds are 422s too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from factories import intake, local_today, register
from hypothesis import given
from hypothesis import strategies as st
from security_helpers import api_login, client_for, own_data_dir
from sqlalchemy import select
from test_web_pages import Browser

from mediation_flow.store.tables import CASES, PARTIES
from mediation_flow.textinput import TextRefused, clean_text, first_refused, normalise, refusal, scrub

NUL = "a\x00b"
YEAR = local_today().year
TOWNSHIP = "500101001"


@pytest.fixture
def web(engine: Any, town: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with own_data_dir(tmp_path, monkeypatch), client_for(engine) as client:
        yield client


def _refused(response: Any) -> None:
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert "不允许的" in response.text


# --- the policy itself --------------------------------------------------------------------------------------


def test_paste_breaks_become_newlines_and_one_line_fields_get_spaces() -> None:
    assert normalise("第一行\x0b第二行\r\n第三行\r第四行\u2028五") == "第一行\n第二行\n第三行\n第四行\n五"
    assert clean_text(" 张三\x0b李四\t王五 ", multiline=False) == "张三 李四 王五"
    assert clean_text("甲\n乙", max_length=3) == "甲\n乙"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x9b", "\ud800", "\ufffe", "\u202e", "\u2066"])
def test_control_surrogate_and_override_characters_are_refused(char: str) -> None:
    assert refusal(f"张{char}三") is not None
    with pytest.raises(TextRefused, match="不允许的"):
        clean_text(f"张{char}三", label="姓名")
    assert scrub(f"张{char}三") == "张三"


def test_length_counts_after_normalising() -> None:
    with pytest.raises(TextRefused, match="不能超过3个字"):
        clean_text("甲乙丙丁", label="名称", max_length=3)
    assert first_refused({"k": ["ok", "x" * 10]}, limit=5) is not None


@given(st.text())
def test_scrubbed_text_is_always_accepted_and_stable(text: str) -> None:
    cleaned = scrub(text)
    assert refusal(cleaned) is None
    assert scrub(cleaned) == cleaned


# --- over HTTP, on both back ends ---------------------------------------------------------------------------


def test_a_nul_in_the_sign_in_form_is_a_422_before_any_query(web: Any) -> None:
    """POST /api/v1/auth/token with username=a%00b, not signed in: PostgreSQL used to answer 500."""
    response = web.post("/api/v1/auth/token", content=b"username=a%00b&password=x", headers=_FORM)
    _refused(response)
    assert response.json()["error"]["code"] == "invalid_data"
    assert "空字符" in response.json()["error"]["message"]
    assert web.post("/api/v1/auth/token", data={"username": "supervisor", "password": "wrong"}).status_code == 401


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/cases", {"village": NUL}),
        ("/api/v1/cases", {"state": ["registered", NUL]}),
        ("/api/v1/queues/overdue", {"village": NUL}),
        ("/api/v1/reports/annual", {"year": YEAR, "jurisdiction": NUL}),
        ("/api/v1/reports/annual/cases", {"year": YEAR, "jurisdiction": TOWNSHIP, "figure": "closed", "key": NUL}),
        ("/api/v1/reports/annual/download", {"year": YEAR, "jurisdiction": TOWNSHIP, "as_of": "2024\x00"}),
        ("/api/v1/workflows/a%00b/diagram", {}),
    ],
)
def test_a_nul_in_a_query_or_path_is_a_422(web: Any, path: str, params: dict[str, Any]) -> None:
    _refused(web.get(path, params=params, headers=api_login(web, "supervisor")))


def test_a_nul_or_a_lone_surrogate_in_a_json_field_is_a_422_and_nothing_is_written(web: Any, engine: Any) -> None:
    headers = {**api_login(web, "grid_worker"), "Content-Type": "application/json"}
    for title in ("标题\x00", "标题\ud800"):
        body = json.dumps(intake(title=title)).encode()  # \u0000 and \ud800 as JSON escapes
        _refused(web.post("/api/v1/cases", content=body, headers=headers))
    party = {"role": "applicant", "name": "张\x00三"}
    _refused(web.post("/api/v1/cases", json=intake(parties=[party]), headers=headers))
    with engine.connect() as conn:
        assert conn.execute(select(CASES.c.id)).first() is None


def test_a_nul_in_a_transition_note_or_field_is_a_422(web: Any, engine: Any, town: Any) -> None:
    case_id = register(engine, town)
    headers = api_login(web, "mediator")
    url = f"/api/v1/cases/{case_id}/transitions"
    body = {"trigger": "accept", "expected_version": 1, "data": {"rights_notified": True}}
    _refused(web.post(url, json={**body, "note": "备注\x00"}, headers=headers))
    note = {"trigger": "add_note", "expected_version": 1, "data": {"text": "记录\x00"}}
    _refused(web.post(url, json=note, headers=headers))
    accepted = web.post(url, json={**body, "note": "第一行\x0b第二行"}, headers=headers)
    assert accepted.status_code == 200, accepted.text
    events = web.get(f"/api/v1/cases/{case_id}", headers=headers).json()["events"]
    assert events[-1]["note"] == "第一行\n第二行"


def test_pasted_line_breaks_are_normalised_at_intake(web: Any, engine: Any) -> None:
    headers = api_login(web, "grid_worker")
    party = {"role": "applicant", "name": "张三\x0b", "address": "青龙镇\x0b一组"}
    created = web.post(
        "/api/v1/cases",
        json=intake(title="相邻\x0b通行纠纷", summary="第一段\x0b第二段\r\n第三段", parties=[party]),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    with engine.connect() as conn:
        title, summary = conn.execute(select(CASES.c.title, CASES.c.summary)).one()
        name, address = conn.execute(select(PARTIES.c.name, PARTIES.c.address)).one()
    assert (title, summary) == ("相邻 通行纠纷", "第一段\n第二段\n第三段")
    assert (name, address) == ("张三", "青龙镇 一组")


def test_pages_refuse_a_nul_in_forms_and_queries_with_a_chinese_page(engine: Any, town: Any, web: Any) -> None:
    browser = Browser(web.app)
    login = browser.client.post("/login", data={"username": NUL, "password": "x", "csrf_token": browser.csrf})
    _refused(login)
    assert "<html" in login.text and "空字符" in login.text
    assert browser.login("supervisor").status_code == 303
    for url in ("/cases?q=a%00b", "/queue?village=a%00b", "/reports?jurisdiction=a%00b", "/queue?mediator=a%00b"):
        page = browser.get(url)
        _refused(page)
        assert "空字符" in page.text
    form = browser.post("/register", {"title": "标题\x00", "summary": "x"})
    _refused(form)


# --- finding 10: numbers and dates bounded at the edge -------------------------------------------------------


def test_huge_numbers_and_edge_dates_are_422s_not_500s(web: Any, engine: Any, town: Any) -> None:
    grid, supervisor = api_login(web, "grid_worker"), api_login(web, "supervisor")
    for amount in ("1e999999999", "-1e999999999", "sNaN", 1e308):
        response = web.post("/api/v1/cases", json=intake(amount=amount), headers=grid)
        assert response.status_code == 422, (amount, response.text)
    for as_of in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T00:00:00+00:00"):
        params = {"year": YEAR, "jurisdiction": TOWNSHIP, "as_of": as_of}
        for path in ("/api/v1/reports/annual", "/api/v1/reports/annual/download"):
            response = web.get(path, params=params, headers=supervisor)
            assert response.status_code == 422, (path, as_of, response.text)
    response = web.post(
        "/api/v1/cases", json={**intake(), "effective_at": "0001-01-01T00:00:00+14:00"}, headers=supervisor
    )
    assert response.status_code == 422, response.text
    case_id = register(engine, town)
    for mediator_id in (2**63, 2**64 + 5, -(2**63) - 1):
        body = {"trigger": "assign", "expected_version": 1, "data": {"mediator_id": mediator_id}}
        response = web.post(f"/api/v1/cases/{case_id}/transitions", json=body, headers=supervisor)
        assert response.status_code == 422, (mediator_id, response.text)
    response = web.get("/api/v1/queues/overdue", params={"today": "9999-12-31"}, headers=supervisor)
    assert response.status_code == 422, response.text
    for mediator_id in (2**31, 2**41, 2**63):  # past the integer column: PostgreSQL refused the bound value (500)
        response = web.get("/api/v1/cases", params={"mediator_id": mediator_id}, headers=supervisor)
        assert response.status_code == 422, (mediator_id, response.text)
    response = web.get("/api/v1/cases", params={"mediator_id": 2**31 - 1}, headers=supervisor)
    assert response.status_code == 200, response.text
    browser = Browser(web.app)
    assert browser.login("supervisor").status_code == 303
    for mediator in ("99999999999999999999999", "²", "٣"):
        assert browser.get(f"/queue?mediator={mediator}").status_code == 200, mediator
