"""Writers of different processes on one SQLite file take turns (store/writer_lock.py ``FileTurn``) before SQLite's
own lock: a writer of another process waits for the turn in the kernel, not in SQLite's busy handler (shown with
SQLite's busy timeout set to 0, where meeting the lock fails at once); a turn kept too long ends the wait with
``WriterBusy`` and the late turn is given back; a killed holder's turn comes back; a forked child does not keep
its parent's turn."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.writer_lock import WriterBusy, lock_for

SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter, as an app worker is


def _hold(url: str, holding: Any, release: Any, seconds: float) -> None:
    """Another process: write a row, say so while still in the transaction, keep it until told (or a while)."""
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('other')"))
        holding.set()
        release.wait(seconds)
    engine.dispose()


def _never_busy(url: str) -> Engine:
    """This process's engine with SQLite's busy timeout at 0: meeting SQLite's write lock fails at once."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_wait(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    return engine


@pytest.fixture
def url(tmp_path: Any) -> str:
    url = f"sqlite:///{tmp_path}/turn.db"
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"))
    engine.dispose()
    return url


def _start_holder(url: str, seconds: float) -> tuple[Any, Any]:
    holding, release = SPAWN.Event(), SPAWN.Event()
    other = SPAWN.Process(target=_hold, args=(url, holding, release, seconds))
    other.start()
    assert holding.wait(60), "the other process did not start writing"
    return other, release


def _write_here(engine: Engine) -> int:
    """Write a row in this process; how many rows the other process had committed when this write began."""
    with write_transaction(engine) as conn:
        before = int(conn.execute(text("SELECT count(*) FROM t WHERE who = 'other'")).scalar_one())
        conn.execute(text("INSERT INTO t (who) VALUES ('here')"))
    return before


def test_a_writer_of_another_process_waits_its_turn_not_in_sqlites_busy_handler(url: str) -> None:
    engine = _never_busy(url)
    other, _release = _start_holder(url, seconds=0.5)  # commits by itself after half a second
    try:
        assert _write_here(engine) == 1  # began only after the other's commit; never met SQLite's lock
    finally:
        other.join(30)
        engine.dispose()
    assert other.exitcode == 0


def test_a_turn_kept_too_long_ends_the_wait_and_the_late_turn_is_given_back(url: str) -> None:
    engine = _never_busy(url)
    lock = lock_for(engine)
    assert lock is not None
    other, release = _start_holder(url, seconds=60)
    try:
        assert lock.try_acquire(0.3) is False  # the wait ends (a helper thread still waits in the kernel)
        with pytest.raises(WriterBusy):
            lock.acquire(timeout=0.2)
    finally:
        release.set()
        other.join(30)
    assert other.exitcode == 0
    assert _write_here(engine) == 1  # the helpers that got the turn after giving up gave it back
    engine.dispose()


def test_the_turn_of_a_killed_holder_comes_back(url: str) -> None:
    engine = _never_busy(url)
    other, _release = _start_holder(url, seconds=60)
    assert other.pid is not None
    os.kill(other.pid, signal.SIGKILL)
    other.join(30)
    assert _write_here(engine) == 0  # its transaction never committed; the turn and SQLite's lock are free
    engine.dispose()


def test_a_forked_child_does_not_keep_its_parents_turn(url: str) -> None:
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO t (who) VALUES ('parent')"))
        child = os.fork()  # while this process holds the turn
        if child == 0:
            time.sleep(120)  # a child that outlives the writers' wait (30 s), doing nothing with the database
            os._exit(0)
    try:
        # the parent gave the turn back at its commit; another process must get it while the child lives
        other, _release = _start_holder(url, seconds=0)
        other.join(30)
        assert other.exitcode == 0
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        engine.dispose()
