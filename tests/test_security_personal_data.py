"""Personal data attacked: full ID numbers and phones reach only mediators and supervisors, and only when
they ask for them (最小必要, issue 15: the case page and the API show parties masked to everyone by default and
write nothing; 查看完整信息 / ``?identity=full`` shows them in full and is in the access log, as printouts are);
lists never carry them, and only supervisors read the log. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from factories import PASSWORD, REFER_TO_POLICE, drive, register
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from mediation_flow.accounts.users import actor_for
from mediation_flow.store.config import get_settings
from mediation_flow.store.models import AccessLog, User
from web.app import create_app

FULL_ID, MASKED_ID = "11010519491231002X", "1101**********002X"
FULL_PHONE, MASKED_PHONE = "13812345678", "138****5678"
FRAGMENT = {"HX-Request": "true"}


@pytest.fixture
def world(engine, town, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    case_id = register(engine, town, "grid_worker")
    return create_app(engine), engine, case_id


def refer_to_police(engine, case_id: int) -> None:
    """Refer the case to 青龙派出所, so that its user (``liaison``) sees it, masked as a grid worker does."""
    with engine.connect() as conn:
        supervisor = actor_for(conn, conn.execute(select(User.id).where(User.username == "supervisor")).scalar_one())
    drive(engine, case_id, supervisor, [("refer", REFER_TO_POLICE)])


def api_headers(client: TestClient, username: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def page_client(app, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    signed = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 303
    return client


def log_rows(engine) -> list[tuple[int, int, str]]:
    table = AccessLog.__table__
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table.c.user_id, table.c.case_id, table.c.detail))]


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the app sends through ``engine`` meanwhile (the server runs in this process)."""
    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


WRITES = {"INSERT", "UPDATE", "DELETE"}


def test_the_default_views_are_masked_for_everyone_and_write_nothing(world):
    app, engine, case_id = world
    refer_to_police(engine, case_id)
    with TestClient(app) as client:
        headers = {role: api_headers(client, role) for role in ("supervisor", "mediator", "grid_worker", "liaison")}
        pages = {role: page_client(app, role) for role in headers}
        with statements(engine) as sent:
            for role in headers:
                answer = client.get(f"/api/v1/cases/{case_id}", headers=headers[role])
                assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
                party = answer.json()["parties"][0]
                assert (party["id_number"], party["phone"]) == (MASKED_ID, MASKED_PHONE), role
                html = pages[role].get(f"/cases/{case_id}").text
                assert FULL_ID not in html and FULL_PHONE not in html and MASKED_ID in html, role
                assert ("data-identity-reveal" in html) == (role in ("supervisor", "mediator")), role
                assert "查看完整信息" in html if role in ("supervisor", "mediator") else "查看完整信息" not in html
        assert sent and not WRITES & set(sent), sorted(set(sent))  # no access-log row, no write transaction
    assert log_rows(engine) == []


def test_asking_in_full_is_logged_once_and_never_cached(world):
    app, engine, case_id = world
    pages = page_client(app, "mediator")
    for _ in range(2):  # 查看完整信息 twice within minutes: one entry
        card = pages.get(f"/cases/{case_id}/parties/full", headers=FRAGMENT)
        assert card.status_code == 200 and card.headers["cache-control"] == "no-store"
        assert FULL_ID in card.text and FULL_PHONE in card.text and 'id="case-parties"' in card.text
        assert "<html" not in card.text and "收起" in card.text and "data-identity-reveal" not in card.text
    assert [r[2] for r in log_rows(engine)] == ["page：身份证号1个，电话1个"]
    whole = pages.get(f"/cases/{case_id}/parties/full")  # without script: the page, its card in full
    assert whole.status_code == 200 and "<html" in whole.text and FULL_ID in whole.text
    folded = pages.get(f"/cases/{case_id}/part/parties", headers=FRAGMENT)  # 收起
    assert folded.status_code == 200 and FULL_ID not in folded.text and MASKED_ID in folded.text
    with TestClient(app) as client:
        supervisor = api_headers(client, "supervisor")
        for _ in range(2):
            full = client.get(f"/api/v1/cases/{case_id}", params={"identity": "full"}, headers=supervisor)
            assert full.status_code == 200 and full.headers["cache-control"] == "no-store"
            party = full.json()["parties"][0]
            assert (party["id_number"], party["phone"]) == (FULL_ID, FULL_PHONE)
        bad = client.get(f"/api/v1/cases/{case_id}", params={"identity": "all"}, headers=supervisor)
        assert bad.status_code == 422 and bad.json()["error"]["code"]
    details = sorted(r[2] for r in log_rows(engine))
    assert details == ["api：身份证号1个，电话1个", "page：身份证号1个，电话1个"]
    assert len(log_rows(engine)) == 2


def test_roles_that_see_identities_masked_get_them_by_no_route(world):
    app, engine, case_id = world
    refer_to_police(engine, case_id)
    with TestClient(app) as client:
        for role in ("grid_worker", "liaison", "admin"):
            refused = client.get(f"/api/v1/cases/{case_id}?identity=full", headers=api_headers(client, role))
            assert refused.status_code == 403, (role, refused.text)
            assert refused.json()["error"]["code"] == "permission_denied" and FULL_ID not in refused.text
            pages = page_client(app, role)
            for headers in (FRAGMENT, {}):
                card = pages.get(f"/cases/{case_id}/parties/full", headers=headers)
                assert card.status_code == 403, (role, card.status_code)
                assert FULL_ID not in card.text and FULL_PHONE not in card.text and "查看完整信息" not in card.text
            for path in ("", "/part/parties", "/print/registration.docx"):
                shown = pages.get(f"/cases/{case_id}{path}")
                assert FULL_ID.encode() not in shown.content and FULL_PHONE.encode() not in shown.content, path
        outsider = client.get(
            f"/api/v1/cases/{case_id}?identity=full", headers=api_headers(client, "other_grid_worker")
        )
        assert outsider.status_code == 404 and outsider.json()["error"]["code"] == "case_not_found"
    assert page_client(app, "other_village_mediator").get(f"/cases/{case_id}/parties/full").status_code == 404
    assert log_rows(engine) == []


def test_printouts_stay_in_full_for_mediators_and_are_logged_on_their_own_channel(world):
    app, engine, case_id = world
    supervisor = page_client(app, "supervisor")
    assert FULL_ID not in supervisor.get(f"/cases/{case_id}").text
    docx = supervisor.get(f"/cases/{case_id}/print/registration.docx")
    assert docx.status_code == 200
    assert FULL_ID in zipfile.ZipFile(io.BytesIO(docx.content)).read("word/document.xml").decode()
    assert [r[2].split("：")[0] for r in log_rows(engine)] == ["print:registration"]


def test_lists_never_carry_full_identity(world):
    app, engine, case_id = world
    refer_to_police(engine, case_id)
    with TestClient(app) as client:
        for role in ("supervisor", "mediator", "village_mediator", "grid_worker", "liaison", "admin"):
            listed = client.get("/api/v1/cases?page_size=200", headers=api_headers(client, role))
            assert listed.status_code == 200 and case_id in [c["id"] for c in listed.json()["items"]]
            assert FULL_ID not in listed.text and FULL_PHONE not in listed.text
    for role in ("supervisor", "mediator", "grid_worker"):
        pages = page_client(app, role)
        for path in ("/cases", "/my", "/grid", "/queue"):
            html = pages.get(path).text
            assert FULL_ID not in html and FULL_PHONE not in html, (role, path)
    assert log_rows(engine) == []


def test_only_supervisors_read_the_access_log(world):
    app, engine, case_id = world
    with TestClient(app) as client:
        client.get(f"/api/v1/cases/{case_id}?identity=full", headers=api_headers(client, "village_mediator"))
        entries = client.get(f"/api/v1/cases/{case_id}/access-log", headers=api_headers(client, "supervisor"))
        assert entries.status_code == 200
        assert [(e["username"], e["action"]) for e in entries.json()] == [("village_mediator", "view_identity")]
        own = client.get(f"/api/v1/cases/{case_id}/access-log", headers=api_headers(client, "mediator"))
        assert own.status_code == 403
        hidden = client.get(f"/api/v1/cases/{case_id}/access-log", headers=api_headers(client, "other_grid_worker"))
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "case_not_found"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AccessLog.__table__)).scalar() == 1


def test_transition_answer_masks_parties_and_logs_nothing(world):
    """Data minimisation: the POST answer never carries full identity (the client has it); asked for, GET does."""
    app, engine, case_id = world
    with TestClient(app) as client:
        mediator = api_headers(client, "mediator")
        moved = client.post(
            f"/api/v1/cases/{case_id}/transitions",
            json={"trigger": "accept", "expected_version": 1, "data": {"rights_notified": True}},
            headers=mediator,
        )
        assert moved.status_code == 200, moved.text
        assert (moved.json()["state"], moved.json()["version"]) == ("accepted", 2)
        party = moved.json()["parties"][0]
        assert (party["id_number"], party["phone"]) == (MASKED_ID, MASKED_PHONE)
        assert FULL_ID not in moved.text and FULL_PHONE not in moved.text
        assert log_rows(engine) == []
        party = client.get(f"/api/v1/cases/{case_id}", headers=mediator).json()["parties"][0]
        assert (party["id_number"], party["phone"]) == (MASKED_ID, MASKED_PHONE)
        assert log_rows(engine) == []
        party = client.get(f"/api/v1/cases/{case_id}?identity=full", headers=mediator).json()["parties"][0]
        assert (party["id_number"], party["phone"]) == (FULL_ID, FULL_PHONE)
    assert [r[2] for r in log_rows(engine)] == ["api：身份证号1个，电话1个"]
