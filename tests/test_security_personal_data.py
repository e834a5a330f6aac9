"""Personal data attacked: full ID numbers and phones reach only mediators and supervisors, every such
view is in the access log (API, page, printout), lists never carry them, and only supervisors read the log."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from factories import PASSWORD, REFER_TO_POLICE, drive, make_town, register
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mediation_flow.accounts.users import actor_for
from mediation_flow.store.config import get_settings
from mediation_flow.store.models import AccessLog, User
from web.app import create_app

FULL_ID, MASKED_ID = "11010519491231002X", "1101**********002X"
FULL_PHONE, MASKED_PHONE = "13812345678", "138****5678"


@pytest.fixture
def world(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    town = make_town(sqlite_engine)
    case_id = register(sqlite_engine, town, "grid_worker")
    return create_app(sqlite_engine), sqlite_engine, case_id


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


def test_full_identity_only_for_mediators_and_supervisors_and_every_view_is_logged(world):
    app, engine, case_id = world
    refer_to_police(engine, case_id)
    with TestClient(app) as client:
        for role, full in [("grid_worker", False), ("liaison", False), ("admin", False), ("mediator", True)]:
            party = client.get(f"/api/v1/cases/{case_id}", headers=api_headers(client, role)).json()["parties"][0]
            assert (party["id_number"], party["phone"]) == (
                (FULL_ID, FULL_PHONE) if full else (MASKED_ID, MASKED_PHONE)
            )
        mediator = api_headers(client, "mediator")
        client.get(f"/api/v1/cases/{case_id}", headers=mediator)  # a second look within minutes: one entry
    rows = log_rows(engine)
    assert len(rows) == 1 and rows[0][1] == case_id and rows[0][2] == "api：身份证号1个，电话1个"

    masked_page = page_client(app, "grid_worker").get(f"/cases/{case_id}").text
    assert FULL_ID not in masked_page and MASKED_ID in masked_page and FULL_PHONE not in masked_page
    assert len(log_rows(engine)) == 1
    supervisor = page_client(app, "supervisor")
    assert FULL_ID in supervisor.get(f"/cases/{case_id}").text
    docx = supervisor.get(f"/cases/{case_id}/print/registration.docx")
    assert docx.status_code == 200
    assert FULL_ID in zipfile.ZipFile(io.BytesIO(docx.content)).read("word/document.xml").decode()
    details = sorted(r[2].split("：")[0] for r in log_rows(engine))
    assert details == ["api", "page", "print:registration"]


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
        client.get(f"/api/v1/cases/{case_id}", headers=api_headers(client, "village_mediator"))
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
    """Data minimisation: the POST answer never carries full identity (the client has it); GET still does, logged."""
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
        assert (party["id_number"], party["phone"]) == (FULL_ID, FULL_PHONE)
    assert [r[2] for r in log_rows(engine)] == ["api：身份证号1个，电话1个"]
