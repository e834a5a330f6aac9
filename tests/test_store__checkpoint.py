"""WAL checkpoints off the request path (store/checkpoint.py): request connections never checkpoint, and the
checkpoint thread keeps the WAL under its bound — also after a burst, and once a long reader lets go."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text

from mediation_flow.store import checkpoint
from mediation_flow.store.checkpoint import (
    CHECKPOINTER,
    JOURNAL_SIZE_LIMIT,
    Checkpointer,
    checkpoint_once,
    wal_bytes,
)
from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.fast import driver_transaction

ROW = "x" * 1000
BIG = "y" * 16000  # four overflow pages
WRITTEN = 24 * 1024 * 1024


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


def _read_while_written(path: Path, commits: int) -> tuple[sqlite3.Connection, sqlite3.Connection]:
    """(writer, reader): a database whose reader holds its snapshot while ``commits`` more are written."""
    conn = _database(path)
    _write(conn, 10)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # holds its snapshot
    _write(conn, commits)
    return conn, reader


def test_a_wal_held_over_the_limit_is_warned_about_once_a_minute_not_at_every_pass(tmp_path, caplog) -> None:
    path = tmp_path / "held.db"
    conn, reader = _read_while_written(path, 100)
    with caplog.at_level(logging.WARNING, logger="mediation_flow.store.checkpoint"):
        for _ in range(5):  # five passes: 1.25 s of the thread's
            assert checkpoint_once(str(path), hard_bytes=64 * 1024).mode == "PASSIVE"
    warned = [r for r in caplog.records if str(path) in r.getMessage()]
    assert len(warned) == 1 and "still read" in warned[0].getMessage()
    reader.execute("COMMIT")
    reader.close()
    conn.close()


def test_each_kind_of_warning_about_a_file_comes_once_per_period(tmp_path, caplog, monkeypatch) -> None:
    monkeypatch.setattr(checkpoint, "WARN_EVERY", 0.5)
    path = str(tmp_path / "w.db")
    with caplog.at_level(logging.WARNING, logger="mediation_flow.store.checkpoint"):
        for _ in range(3):
            checkpoint._warn(path, "still read %s", path)
            checkpoint._warn(path, "in use %s", path)  # another kind: not hidden by the first
        time.sleep(0.55)
        checkpoint._warn(path, "still read %s", path)  # the period is over: said again
    assert [r.getMessage().split()[0:2] for r in caplog.records] == [
        ["still", "read"],
        ["in", "use"],
        ["still", "read"],
    ]


def test_a_long_reader_delays_the_truncate_which_happens_once_it_is_done(tmp_path) -> None:
    path = tmp_path / "reader.db"
    conn, reader = _read_while_written(path, 300)
    started = time.perf_counter()
    held = checkpoint_once(str(path), hard_bytes=64 * 1024)
    assert held.mode == "PASSIVE" and held.wal_bytes > 64 * 1024  # the reader holds frames: nothing more to try
    assert time.perf_counter() - started < 0.15  # and the pass did not wait for it
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


def _app_database(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    return engine


class _Writer(threading.Thread):
    """Commits back to back until stopped, one row per transaction; keeps any error."""

    def __init__(self, write: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.write, self.commits, self.errors = write, 0, []  # type: ignore[var-annotated]
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                self.write()
            except Exception as exc:
                self.errors.append(exc)
                return
            self.commits += 1

    def stop(self) -> None:
        self.halt.set()
        self.join(30)


def _until(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_a_back_to_back_writer_leaves_room_for_restarts_and_the_wal_stays_small(tmp_path) -> None:
    """Measured cause of issue 15's 126 MiB WAL: a passive pass beside a back-to-back writer never ends with the
    WAL fully copied, so the writer never restarts it. Passes that hold this process's writer lock for their
    last copy let the next writer restart it; SQLite's own write lock is never taken (no TRUNCATE below)."""
    path = tmp_path / "app.db"
    engine = _app_database(path)
    restart = 256 * 1024

    def write() -> None:
        with write_transaction(engine) as conn:
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": BIG})

    checkpointer = Checkpointer(interval=0.02, restart_bytes=restart)
    checkpointer.register(str(path))
    writer = _Writer(write)
    writer.start()
    sizes, modes = [], Counter()  # type: ignore[var-annotated]
    try:
        deadline = time.monotonic() + 60
        while writer.commits * len(BIG) < WRITTEN and time.monotonic() < deadline:
            done = checkpointer.run_pass().get(str(path))
            if done is not None:
                modes[done.mode] += 1
                sizes.append(done.wal_bytes)
            time.sleep(0.02)
    finally:
        writer.stop()
        checkpointer.stop()
    assert writer.errors == []
    assert modes["QUIESCED"] > 0 and modes["TRUNCATE"] == 0
    # Without the restarts the WAL would hold every commit's frames (over 24 MiB by now); restarted, its file
    # never grows past what is written between a pass and the restart after it (the file keeps that size).
    assert writer.commits * len(BIG) >= WRITTEN
    assert max(sizes) < WRITTEN / 2 < JOURNAL_SIZE_LIMIT, sizes
    engine.dispose()


def test_a_restarted_wal_keeps_its_file_so_the_next_commits_do_not_append(tmp_path) -> None:
    """The commit that restarts a WAL of over 6 MiB (past 4 MiB, which the limit was before) leaves its file as it
    is: the commits after it overwrite blocks the file has. Cut back, each synced commit appended again and had the
    filesystem journal the file's growth (measured: +270 µs per transition)."""
    path = tmp_path / "app.db"
    engine = _app_database(path)
    CHECKPOINTER.unregister(str(path.resolve()))  # this test's passes only

    def write() -> None:
        with write_transaction(engine) as conn:
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": BIG})

    try:
        for _ in range(400):  # over 6 MiB of frames, no checkpoint yet
            write()
        grown = wal_bytes(str(path))
        assert 6 * 1024 * 1024 < grown < JOURNAL_SIZE_LIMIT
        assert checkpoint_once(str(path), restart_bytes=1024 * 1024).mode == "QUIESCED"  # every frame copied back
        write()  # restarts the WAL: its frames go to the file's start
        assert wal_bytes(str(path)) == grown
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 401
    finally:
        CHECKPOINTER.register(str(path.resolve()))
        engine.dispose()


def test_a_long_reader_beside_a_continuous_writer_the_wal_shrinks_once_it_is_done(tmp_path) -> None:
    """An IMMEDIATE writer of the app and one of another program (raw sqlite3, not queued on this process's
    lock), a reader that holds its snapshot, the checkpoint thread at a small hard limit: no writer errs, the
    WAL grows past the limit while the reader reads and comes back under it after."""
    path = tmp_path / "app.db"
    engine = _app_database(path)
    hard = 1024 * 1024
    other = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    other.execute("PRAGMA wal_autocheckpoint=0")

    def app_write() -> None:
        with write_transaction(engine) as conn:
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": ROW})
        time.sleep(0.002)  # back to back, the other one would find the lock free only by chance

    def other_write() -> None:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (v) VALUES (?)", (ROW,))
        other.execute("COMMIT")
        time.sleep(0.002)

    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # holds its snapshot
    checkpointer = Checkpointer(interval=0.02, hard_bytes=hard, restart_bytes=128 * 1024)
    checkpointer.register(str(path))
    writers = [_Writer(app_write), _Writer(other_write)]
    for writer in writers:
        writer.start()
    try:
        assert _until(lambda: wal_bytes(str(path)) > 2 * hard, 30)  # the reader keeps every frame in the WAL
        reader.execute("COMMIT")
        reader.close()
        assert _until(lambda: wal_bytes(str(path)) <= hard, 30), wal_bytes(str(path))
        sizes = []
        for _ in range(50):
            time.sleep(0.02)
            sizes.append(wal_bytes(str(path)))
    finally:
        for writer in writers:
            writer.stop()
        checkpointer.stop()
    assert [w.errors for w in writers] == [[], []]
    assert all(w.commits > 50 for w in writers), [w.commits for w in writers]
    assert max(sizes) < 4 * hard, sizes  # bounded while both go on writing
    other.close()
    engine.dispose()


def test_a_deferred_read_then_write_beside_the_checkpoint_thread_does_not_fail(tmp_path) -> None:
    """A transaction begun DEFERRED that reads and then writes gets SQLITE_BUSY at once, without the busy
    handler, if another connection holds the write lock (issue 15: the textbook contender of bench_engine
    failed beside the TRUNCATE pass). Under the hard limit the checkpoint thread never takes that lock."""
    path = tmp_path / "app.db"
    engine = _app_database(path)
    deferred = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    deferred.execute("PRAGMA wal_autocheckpoint=0")

    def read_then_write() -> None:
        deferred.execute("BEGIN DEFERRED")
        deferred.execute("SELECT count(*) FROM t").fetchone()
        deferred.execute("INSERT INTO t (v) VALUES (?)", (ROW,))
        deferred.execute("COMMIT")

    def app_write() -> None:  # and a writer of the app, so that the passes take the writer lock
        with write_transaction(engine) as conn:
            conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": ROW})
        time.sleep(0.005)

    checkpointer = Checkpointer(interval=0.01, restart_bytes=64 * 1024)
    checkpointer.register(str(path))
    writers = [_Writer(read_then_write)]
    writers[0].start()
    time.sleep(1.5)
    writers[0].stop()
    alone = writers[0]
    writers = [_Writer(read_then_write), _Writer(app_write)]
    for writer in writers:
        writer.start()
    time.sleep(1.5)
    for writer in writers:
        writer.stop()
    checkpointer.stop()
    assert alone.errors == [] and alone.commits > 100
    assert checkpointer.passes > 50
    deferred_errors = writers[0].errors
    # Beside another writer a DEFERRED read-then-write can still lose its upgrade — to that writer, not to the
    # checkpoint thread: SQLITE_BUSY from the app's own write lock holder. The app writes IMMEDIATE only.
    assert all("locked" in str(e) for e in deferred_errors)
    assert writers[1].errors == []
    deferred.close()
    engine.dispose()
