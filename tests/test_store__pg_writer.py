"""The kept PostgreSQL writer (store/fast.py): no pre-ping round trip, and a backend killed under it
(``pg_terminate_backend`` from another connection) never half-writes. Killed while idle, the next transition
gets a fresh connection and succeeds; killed mid-transition, that transition fails with the structured
``StoreUnavailable`` (HTTP 503, a Chinese message), nothing of it is written, and the next one succeeds."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from factories import happy_path, make_town, register
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from mediation_flow.cases.engine import apply_trigger
from mediation_flow.errors import StoreUnavailable
from mediation_flow.store.db import make_engine
from mediation_flow.store.fast import _WRITERS
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.tables import CASES, EVENTS
from web.app import create_app

SLOW_EVENT = """
CREATE FUNCTION slow_event() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER slow_event BEFORE INSERT ON case_event FOR EACH ROW EXECUTE FUNCTION slow_event();
"""


@pytest.fixture
def pg(pg_cluster):  # type: ignore[no-untyped-def]
    url = pg_cluster.create_database(f"t_{uuid.uuid4().hex[:16]}")
    engine = make_engine(url)
    upgrade(engine)
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    yield engine, admin
    engine.dispose()
    admin.dispose()


def _consistent(engine: Engine, case_id: int) -> tuple[int, int]:
    """(the case's version, its number of events), which must always be equal."""
    with engine.connect() as conn:
        version = conn.execute(select(CASES.c.version).where(CASES.c.id == case_id)).scalar_one()
        events = conn.execute(select(func.count()).where(EVENTS.c.case_id == case_id)).scalar_one()
    assert version == events
    return version, events


def _fire(engine: Engine, town, case_id: int, version: int):  # type: ignore[no-untyped-def]
    trigger, data = happy_path()[version - 1]
    return apply_trigger(
        engine, case_id=case_id, actor=town["mediator"], trigger=trigger, expected_version=version, data=data
    )


def _kept_pid(engine: Engine) -> int:
    (kept,) = _WRITERS[engine].idle
    return int(kept.info.backend_pid)


def _terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar() is True
        for _ in range(200):
            if not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"), {"p": pid}).scalar():
                return
            time.sleep(0.02)
    raise AssertionError(f"backend {pid} still there")


def test_the_writer_is_kept_and_has_no_pre_ping(pg) -> None:
    engine, _admin = pg
    town = make_town(engine)
    case_id = register(engine, town)
    _fire(engine, town, case_id, 1)
    pid = _kept_pid(engine)
    _fire(engine, town, case_id, 2)
    assert _kept_pid(engine) == pid  # the same warm connection, not a pool checkout (which would pre-ping)
    assert _consistent(engine, case_id) == (3, 3)


def test_a_backend_killed_while_idle_is_replaced_and_the_next_transition_succeeds(pg) -> None:
    engine, admin = pg
    town = make_town(engine)
    case_id = register(engine, town)
    _fire(engine, town, case_id, 1)
    pid = _kept_pid(engine)
    _terminate(admin, pid)
    result = _fire(engine, town, case_id, 2)
    assert result.version == 3
    assert _kept_pid(engine) != pid
    assert _consistent(engine, case_id) == (3, 3)


def _kill_when_sleeping(admin: Engine, killed: list[int]) -> None:
    with admin.connect() as conn:
        for _ in range(500):
            pid = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep'")).scalar()
            if pid is not None:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
                killed.append(pid)
                return
            time.sleep(0.02)


def test_a_backend_killed_mid_transition_fails_it_cleanly_and_writes_nothing(pg) -> None:
    engine, admin = pg
    town = make_town(engine)
    case_id = register(engine, town)
    _fire(engine, town, case_id, 1)
    with admin.connect() as conn:
        conn.execute(text(SLOW_EVENT))
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when_sleeping, args=(admin, killed))
    killer.start()
    with pytest.raises(StoreUnavailable) as failed:
        _fire(engine, town, case_id, 2)  # the UPDATE of the case runs, then its event's INSERT sleeps: killed
    killer.join()
    assert killed
    assert failed.value.as_dict() == {"code": "store_unavailable", "message": "数据库连接中断，本次操作未保存，请重试"}
    assert _consistent(engine, case_id) == (2, 2)  # neither the case row's update nor the event
    with admin.connect() as conn:
        conn.execute(text("DROP TRIGGER slow_event ON case_event"))
    assert _fire(engine, town, case_id, 2).version == 3
    assert _consistent(engine, case_id) == (3, 3)


def test_the_api_answers_a_lost_connection_with_a_structured_503(pg, tmp_path, monkeypatch) -> None:
    from factories import PASSWORD

    from mediation_flow.store.config import get_settings

    engine, admin = pg
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    town = make_town(engine)
    case_id = register(engine, town)
    client = TestClient(create_app(engine))
    token = client.post("/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    with admin.connect() as conn:
        conn.execute(text(SLOW_EVENT))
    killed: list[int] = []
    killer = threading.Thread(target=_kill_when_sleeping, args=(admin, killed))
    killer.start()
    trigger, data = happy_path()[0]
    body = {"trigger": trigger, "expected_version": 1, "data": data}
    answer = client.post(f"/api/v1/cases/{case_id}/transitions", json=body, headers=headers)
    killer.join()
    assert killed
    assert answer.status_code == 503
    assert answer.json()["error"] == {"code": "store_unavailable", "message": "数据库连接中断，本次操作未保存，请重试"}
    assert _consistent(engine, case_id) == (1, 1)
    with admin.connect() as conn:
        conn.execute(text("DROP TRIGGER slow_event ON case_event"))
    assert client.post(f"/api/v1/cases/{case_id}/transitions", json=body, headers=headers).status_code == 200
    assert _consistent(engine, case_id) == (2, 2)
