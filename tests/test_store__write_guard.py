"""Every write the app makes on SQLite is in a transaction begun IMMEDIATE (write_transaction or the driver
transaction), over a representative flow: migrations and reference data, the demo township's bulk load, sign-in
(failed and good: the throttle's and the session's rows), intake through the API, a transition path, the case
read in full by a supervisor (the access log's grouped rows), the case page and the notices. A transaction begun
DEFERRED that reads and then writes fails at once with "database is locked" whenever another connection writes
(issue 15: bench_engine's textbook contender). The guard (tests/write_guard.py) watches SQLite's own statement
trace; the last step shows it catches such a write."""

from __future__ import annotations

from factories import PASSWORD, happy_path, intake, make_town
from fastapi.testclient import TestClient
from sqlalchemy import text
from test_web_pages import Browser
from write_guard import guarded

from mediation_flow.demo import load_demo
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from web.app import create_app


def _login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_every_app_write_on_sqlite_begins_immediate(tmp_path) -> None:
    with guarded() as guard:
        demo = make_engine(f"sqlite:///{tmp_path}/demo.db")
        upgrade(demo)
        load_demo(demo, cases=12)
        demo.dispose()

        engine = make_engine(f"sqlite:///{tmp_path}/app.db")
        upgrade(engine)
        make_town(engine)
        with TestClient(create_app(engine)) as client:
            refused = client.post("/api/v1/auth/token", data={"username": "mediator", "password": "wrong"})
            assert refused.status_code == 401
            grid = _login(client, "grid_worker")
            created = client.post("/api/v1/cases", json=intake(), headers={**grid, "Idempotency-Key": "k-1"})
            assert created.status_code == 201, created.text
            case_id = created.json()["id"]
            mediator = _login(client, "mediator")
            version = 1
            for trigger, data in happy_path():
                moved = client.post(
                    f"/api/v1/cases/{case_id}/transitions",
                    json={"trigger": trigger, "expected_version": version, "data": data},
                    headers=mediator,
                )
                assert moved.status_code == 200, moved.text
                version = moved.json()["version"]
            supervisor = _login(client, "supervisor")
            assert client.get(f"/api/v1/cases/{case_id}", headers=supervisor).status_code == 200
        browser = Browser(create_app(engine))  # the pages, signed in through the login form
        assert browser.login("supervisor").status_code == 303
        for page in (f"/cases/{case_id}", "/notices", "/queue", "/dashboard"):
            assert browser.get(page).status_code == 200, page
        app_writes = guard.writes
        assert guard.violations == [], guard.summary()
        assert app_writes > 100  # the flow did write, and the guard saw it

        with engine.connect() as conn:  # the guard catches a DEFERRED read-then-write
            conn.execute(text("SELECT count(*) FROM dispute_case")).scalar()
            conn.execute(text("UPDATE dispute_case SET summary = summary WHERE id = :id"), {"id": case_id})
            conn.commit()
        assert [(v.mode, v.statement.split()[0]) for v in guard.violations] == [("DEFERRED", "UPDATE")]
        engine.dispose()
