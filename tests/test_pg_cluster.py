"""Tests for the throwaway PostgreSQL cluster helper (tests/pg_cluster.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from pg_cluster import (
    EXTERNAL_URL_ENV,
    PgCluster,
    PgUnavailable,
    find_pg_bin,
    pg_required,
)


def _unavailable(reason: object) -> NoReturn:
    """Fail when PostgreSQL is required (CI), else skip, with ``reason``."""
    if pg_required():
        pytest.fail(f"PostgreSQL is required here but unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def _start_or_skip() -> PgCluster:
    """Start a cluster; skip (or fail, when PostgreSQL is required) if impossible."""
    try:
        return PgCluster.start()
    except PgUnavailable as exc:
        _unavailable(exc)


@pytest.fixture
def no_external_pg(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests exercise the local-cluster code path, whatever the environment says."""
    monkeypatch.delenv(EXTERNAL_URL_ENV, raising=False)


@pytest.fixture
def cluster(no_external_pg: None) -> Iterator[PgCluster]:
    """A fresh local cluster, stopped afterwards."""
    pg = _start_or_skip()
    try:
        yield pg
    finally:
        pg.stop()


def _pid_gone(pid: int) -> bool:
    """True if the process no longer exists or is a zombie awaiting reaping by PID 1."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


def _wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _select(url: str, sql: str) -> tuple[object, ...]:
    """Run one query through SQLAlchemy + psycopg and return the first row."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(sql)).one()
            return tuple(row)
    finally:
        engine.dispose()


def test_cluster_lifecycle(no_external_pg: None) -> None:
    """Start, create two databases, query them, stop: directory and postmaster gone."""
    t0 = time.perf_counter()
    pg = _start_or_skip()
    started = time.perf_counter() - t0
    try:
        assert pg.base_dir is not None and pg.base_dir.is_dir()
        assert str(pg.base_dir).startswith("/tmp/mfpg")
        assert len(f"{pg.socket_dir}/.s.PGSQL.{pg.port}") <= 107
        assert (pg.socket_dir / f".s.PGSQL.{pg.port}").exists()
        assert pg.url() == (f"postgresql+psycopg://postgres@/postgres?host={pg.socket_dir}&port={pg.port}")
        pid = pg.postmaster_pid
        assert pid is not None and not _pid_gone(pid)

        urls = [pg.create_database("mf_one"), pg.create_database("mf_two")]
        assert urls == [pg.url("mf_one"), pg.url("mf_two")]
        for name, url in zip(("mf_one", "mf_two"), urls, strict=True):
            version, db, user, fsync, max_conn, addrs = _select(
                url,
                "select version(), current_database(), current_user, "
                "current_setting('fsync'), current_setting('max_connections'), "
                "current_setting('listen_addresses')",
            )
            m = re.match(r"PostgreSQL (\d+)", str(version))
            assert m, version
            assert int(m.group(1)) >= 13, version
            assert (db, user) == (name, "postgres")
            assert (fsync, max_conn, addrs) == ("on", "200", "")  # socket only

        # create_database drops an existing database first (even with a session open).
        engine = sa.create_engine(urls[0])
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("create table t (x int)"))
            with engine.connect():  # an open session must not block the re-create
                assert pg.create_database("mf_one") == urls[0]
        finally:
            engine.dispose()
        (n,) = _select(urls[0], "select count(*) from pg_tables where tablename = 't'")
        assert n == 0
    finally:
        t1 = time.perf_counter()
        pg.stop()
        stopped = time.perf_counter() - t1
    print(f"\nPgCluster start {started:.2f}s, stop {stopped:.2f}s")

    assert not pg.base_dir.exists()
    assert _wait_until(lambda: _pid_gone(pid), timeout=10)
    pg.stop()  # idempotent
    with pytest.raises(RuntimeError):
        pg.create_database("too_late")


def test_context_manager_and_encoding(no_external_pg: None) -> None:
    """``with`` stops the cluster; the cluster is UTF8 with a C / C.UTF-8 locale."""
    with _start_or_skip() as pg:
        encoding, collate = _select(
            pg.url(),
            "select pg_encoding_to_char(encoding), datcollate from pg_database where datname = current_database()",
        )
        assert encoding == "UTF8"
        assert collate in ("C.UTF-8", "C.utf8", "C")
        base = pg.base_dir
        pid = pg.postmaster_pid
    assert base is not None and pid is not None
    assert not base.exists()
    assert _wait_until(lambda: _pid_gone(pid), timeout=10)


def test_create_database_rejects_admin_db(cluster: PgCluster) -> None:
    """Recreating the database we administer from would fail confusingly: refuse it."""
    for name in ("postgres", "template1", "", "x" * 64):
        with pytest.raises(ValueError):
            cluster.create_database(name)


def test_external_url(cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """With MEDIATION_FLOW_TEST_PG_URL set, start() uses that server and stop() leaves it alone."""
    monkeypatch.setenv(EXTERNAL_URL_ENV, cluster.url().replace("+psycopg", ""))
    ext = PgCluster.start()
    assert ext.external and ext.base_dir is None
    url = ext.create_database("mf_ext")
    assert url.startswith("postgresql+psycopg://") and "/mf_ext?" in url
    (db,) = _select(url, "select current_database()")
    assert db == "mf_ext"
    ext.stop()
    ext.stop()
    # The real server is untouched and still has the database.
    (n,) = _select(cluster.url(), "select count(*) from pg_database where datname = 'mf_ext'")
    assert n == 1
    assert cluster.postmaster_pid is not None


_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests_dir!r})
    from pg_cluster import PgCluster
    pg = PgCluster.start()
    print(pg.base_dir, pg.postmaster_pid, flush=True)
    if sys.argv[1] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no finally
    # "exit": leave without stop(); the atexit hook must clean up
    """
)


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_no_orphan_after_crash(no_external_pg: None, how: str) -> None:
    """A process that exits (atexit) or is SIGKILLed (watchdog) leaves no postgres behind."""
    missing = [n for n in ("initdb", "pg_ctl") if find_pg_bin(n) is None]
    if missing:
        _unavailable(f"{', '.join(missing)} not found")
    code = _CHILD.format(tests_dir=str(Path(__file__).resolve().parent))
    env = {k: v for k, v in os.environ.items() if k != EXTERNAL_URL_ENV}
    proc = subprocess.run([sys.executable, "-c", code, how], capture_output=True, text=True, timeout=120, env=env)
    assert proc.stdout.strip(), proc.stderr
    base, pid_s = proc.stdout.split()
    pid = int(pid_s)
    assert _wait_until(lambda: _pid_gone(pid), timeout=20), f"postmaster {pid} survived ({how})"
    assert _wait_until(lambda: not Path(base).exists(), timeout=10), f"{base} left behind"


def test_find_pg_bin() -> None:
    """find_pg_bin finds the server programs here, and None for nonsense."""
    assert find_pg_bin("definitely-not-a-pg-program") is None
    initdb = find_pg_bin("initdb")
    if initdb is None:
        _unavailable("initdb not found")
    assert initdb is not None and os.access(initdb, os.X_OK)


@pytest.mark.parametrize(
    ("ci", "require", "expected"),
    [
        (None, None, False),
        ("true", None, True),
        ("TRUE", None, True),
        ("1", None, True),
        ("false", None, False),
        ("0", None, False),
        (None, "1", True),
        (None, "0", False),
        ("false", "1", True),
    ],
)
def test_pg_required(monkeypatch: pytest.MonkeyPatch, ci: str | None, require: str | None, expected: bool) -> None:
    """CI=true/1 or MEDIATION_FLOW_REQUIRE_PG=1 make PostgreSQL mandatory."""
    for name, value in (("CI", ci), ("MEDIATION_FLOW_REQUIRE_PG", require)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert pg_required() is expected


def test_missing_binaries_raise_pg_unavailable(no_external_pg: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without binaries, start() raises PgUnavailable with a helpful message."""
    import pg_cluster

    monkeypatch.setattr(pg_cluster, "find_pg_bin", lambda name: None)
    with pytest.raises(PgUnavailable, match="binaries not found"):
        PgCluster.start()
