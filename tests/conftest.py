"""Shared fixtures: a real database on each back end (SQLite file, throwaway PostgreSQL cluster)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from factories import Town, make_town
from pg_cluster import PgCluster, PgUnavailable, pg_required
from sqlalchemy import Engine

from mediation_flow.store import clock
from mediation_flow.store.db import SERVER_LOG, make_engine
from mediation_flow.store.migrate import upgrade

BACKENDS = ["sqlite", "postgresql"]

# The apps the tests create in-process log through pytest's capture (``caplog``, "Captured log" of a failing
# test), not through the app's own stderr writer: its thread wrote JSON lines between tests, into pytest's
# output. A real server (``server_harness.Server``) still writes them, to its log file.
os.environ["MEDIATION_FLOW_LOG_STDERR"] = "false"


class _Heard(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_HEARD = _Heard()
SERVER_LOG.addHandler(_HEARD)


@pytest.fixture(autouse=True)
def no_postgresql_warning() -> Iterator[None]:
    """Every test fails if PostgreSQL warned one of its connections (store.db logs it): e.g. a ``SET LOCAL`` run
    outside a transaction, which the server ignores with a warning only."""
    _HEARD.messages.clear()
    yield
    heard, _HEARD.messages[:] = list(_HEARD.messages), []
    assert not heard, f"PostgreSQL warned: {heard[:3]}"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        cluster = PgCluster.start()
    except PgUnavailable as exc:
        if pg_required():
            pytest.fail(f"PostgreSQL is required here (CI) but unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield cluster
    cluster.stop()


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: object) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/test.db"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """A fresh, empty database on each back end."""
    return _url(request.param, request, tmp_path)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database (reference data and workflow versions loaded) on each back end."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def twin(engine: Engine, request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """A second fresh, migrated database on the same back end as ``engine`` (to compare two ways of writing)."""
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path}/twin.db"
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"t_{uuid.uuid4().hex[:16]}")
    other = make_engine(url)
    upgrade(other)
    yield other
    other.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: object) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path}/test.db")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_engine(pg_cluster: PgCluster) -> Iterator[Engine]:
    """A migrated PostgreSQL database, for what only PostgreSQL has (a server closing a connection, snapshots)."""
    eng = make_engine(pg_cluster.create_database(f"t_{uuid.uuid4().hex[:16]}"))
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def town(engine: Engine) -> Town:
    """The demo township's tree and one user per role (plus users of another village)."""
    return make_town(engine)


@pytest.fixture
def moment(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The clock (``clock.utcnow``): noon tomorrow, local time; the test moves it by setting ``moment[0]``."""
    noon = datetime.combine(clock.local_date(clock.utcnow()) + timedelta(days=1), time(12), tzinfo=clock.LOCAL_TZ)
    now = [noon]
    monkeypatch.setattr(clock, "utcnow", lambda: now[0])
    yield now
