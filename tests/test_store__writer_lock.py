"""This process's writers queue per SQLite file on one lock (store/writer_lock.py) before BEGIN IMMEDIATE: many
threads writing at once all commit, none errors; the lock is per file (two engines on one file share it, two
files do not); a write transaction opened inside another one on the same file by the same thread fails at once
instead of waiting 30 s on itself; PostgreSQL takes no such lock."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text

from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.fast import driver_transaction
from mediation_flow.store.writer_lock import NestedWrite, lock_for

THREADS, COMMITS = 8, 40


def _table(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE t (worker INTEGER, n INTEGER, PRIMARY KEY (worker, n))"))


def test_many_threads_writing_at_once_all_commit(db_url) -> None:
    engine = make_engine(db_url)
    _table(engine)
    inside, most = 0, 0
    count = threading.Lock()

    def worker(index: int) -> None:
        nonlocal inside, most
        for n in range(COMMITS):
            with write_transaction(engine) as conn:
                with count:
                    inside += 1
                    most = max(most, inside)
                last = conn.execute(text("SELECT max(n) FROM t WHERE worker = :w"), {"w": index}).scalar()
                assert last == (None if n == 0 else n - 1)
                conn.execute(text("INSERT INTO t (worker, n) VALUES (:w, :n)"), {"w": index, "n": n})
                with count:
                    inside -= 1

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))  # re-raises any worker's error
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), count(DISTINCT worker * 1000 + n) FROM t")).one() == (
            THREADS * COMMITS,
            THREADS * COMMITS,
        )
    if engine.dialect.name == "sqlite":
        assert most == 1  # one writer inside a transaction at a time (BEGIN IMMEDIATE alone ensures it too)
        assert lock_for(engine) is not None
    else:
        assert lock_for(engine) is None  # PostgreSQL: rows are locked, not the database
    engine.dispose()


def test_a_waiting_writer_goes_as_soon_as_the_lock_is_free(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/a.db")
    _table(engine)
    lock = lock_for(engine)
    assert lock is not None
    done = threading.Event()

    def write() -> None:
        with driver_transaction(engine) as tx:
            tx.cursor.execute("INSERT INTO t (worker, n) VALUES (1, 1)")
        done.set()

    lock.acquire()
    thread = threading.Thread(target=write)
    thread.start()
    assert not done.wait(0.3)  # queued on this process's lock, not inside SQLite
    released = time.perf_counter()
    lock.release()
    assert done.wait(5)
    waited = time.perf_counter() - released
    thread.join()
    assert waited < 0.1, waited  # woken by the release, not by a busy-handler sleep
    engine.dispose()


def test_the_lock_is_per_database_file(tmp_path) -> None:
    one, same, other = (make_engine(f"sqlite:///{tmp_path}/{name}") for name in ("a.db", "a.db", "b.db"))
    for engine in (one, other):
        _table(engine)
    assert lock_for(one) is lock_for(same)
    assert lock_for(one) is not lock_for(other)
    # A transaction on another file may be opened inside one: its lock is another.
    with write_transaction(one) as a, write_transaction(other) as b:
        a.execute(text("INSERT INTO t (worker, n) VALUES (1, 1)"))
        b.execute(text("INSERT INTO t (worker, n) VALUES (2, 2)"))
    for engine in (one, same, other):
        engine.dispose()


def test_a_nested_write_on_the_same_file_fails_at_once(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/a.db")
    same_file = make_engine(f"sqlite:///{tmp_path}/a.db")
    _table(engine)
    started = time.perf_counter()
    with pytest.raises(NestedWrite), write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO t (worker, n) VALUES (1, 1)"))
        with write_transaction(same_file):
            pass
    with pytest.raises(NestedWrite), driver_transaction(engine), driver_transaction(engine):
        pass
    assert time.perf_counter() - started < 5  # SQLite would have waited its 30 s busy timeout on itself
    with engine.connect() as conn:  # the outer transaction was rolled back whole
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    with write_transaction(engine) as conn:  # and the lock was released both times
        conn.execute(text("INSERT INTO t (worker, n) VALUES (1, 2)"))
    engine.dispose()
    same_file.dispose()
