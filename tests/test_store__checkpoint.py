"""WAL checkpoints off the request path (store/checkpoint.py): request connections never checkpoint, and the
checkpoint thread keeps the WAL under its bound — also after a burst, and once a long reader lets go."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from mediation_flow.store.checkpoint import CHECKPOINTER, Checkpointer, checkpoint_once, wal_bytes
from mediation_flow.store.db import make_engine
from mediation_flow.store.fast import driver_transaction

ROW = "x" * 1000


def _database(path: Path) -> sqlite3.Connection:
    """A WAL database written by a connection that never checkpoints (as the engine's are)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    return conn


def _write(conn: sqlite3.Connection, commits: int) -> None:
    for _ in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [(ROW,)] * 4)
        conn.execute("COMMIT")


def test_engine_connections_leave_checkpoints_to_the_thread(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/app.db")
    path = str((tmp_path / "app.db").resolve())
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    with driver_transaction(engine) as tx:
        tx.cursor.execute("PRAGMA wal_autocheckpoint")
        assert tx.cursor.fetchone()[0] == 0
    assert path in CHECKPOINTER._files
    assert CHECKPOINTER._thread is not None and CHECKPOINTER._thread.is_alive()
    engine.dispose()


def test_without_checkpoints_the_wal_grows_and_one_pass_truncates_it(tmp_path) -> None:
    path = tmp_path / "burst.db"
    conn = _database(path)
    _write(conn, 600)  # ~2.4 MB of rows, no checkpoint anywhere
    assert wal_bytes(str(path)) > 2_000_000
    done = checkpoint_once(str(path), hard_bytes=256 * 1024)
    assert (done.mode, done.wal_bytes) == ("TRUNCATE", 0)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2400
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone()[0] == 2400
    conn.close()


def test_the_thread_bounds_the_wal_while_writes_go_on(tmp_path) -> None:
    path = tmp_path / "steady.db"
    conn = _database(path)
    hard = 512 * 1024
    checkpointer = Checkpointer(interval=0.02, hard_bytes=hard)
    checkpointer.register(str(path))
    try:
        for _ in range(10):
            _write(conn, 60)  # ~240 kB per round, 2.4 MB in all
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while wal_bytes(str(path)) > hard and time.monotonic() < deadline:
            time.sleep(0.02)
        assert wal_bytes(str(path)) <= hard
        assert checkpointer.passes > 0
    finally:
        checkpointer.stop()
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2400
    conn.close()


def test_a_long_reader_delays_the_truncate_which_happens_once_it_is_done(tmp_path) -> None:
    path = tmp_path / "reader.db"
    conn = _database(path)
    _write(conn, 10)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # holds its snapshot
    _write(conn, 300)
    held = checkpoint_once(str(path), hard_bytes=64 * 1024)
    assert held.mode == "TRUNCATE" and held.wal_bytes > 64 * 1024  # waited its bounded time, then gave up
    reader.execute("COMMIT")
    reader.close()
    done = checkpoint_once(str(path), hard_bytes=64 * 1024)
    assert (done.mode, done.wal_bytes) == ("TRUNCATE", 0)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1240
    conn.close()


def test_a_deleted_database_is_not_recreated_by_the_thread(tmp_path) -> None:
    path = tmp_path / "gone.db"
    conn = _database(path)
    _write(conn, 5)
    checkpointer = Checkpointer(interval=0.01)
    checkpointer.register(str(path))
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    before = checkpointer.passes
    while checkpointer.passes < before + 3:
        time.sleep(0.01)
    checkpointer.stop()
    assert not path.exists()
