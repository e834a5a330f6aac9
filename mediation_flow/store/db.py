"""Database engines: SQLite (WAL, foreign keys, synchronous=FULL by default) or PostgreSQL.

Writers on SQLite take the write lock at BEGIN (``BEGIN IMMEDIATE``) so that two transactions that
read and then write never dead-end in SQLITE_BUSY; readers stay deferred and never block.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from mediation_flow.store.checkpoint import CHECKPOINTER, JOURNAL_SIZE_LIMIT
from mediation_flow.store.config import get_settings
from mediation_flow.store.fast import keep_writer, stale
from mediation_flow.store.reads import release_reads
from mediation_flow.store.writer_lock import attach, lock_for

SQLITE_BUSY_TIMEOUT_MS = 30_000
SERVER_LOG = logging.getLogger("mediation_flow.store.server")  # what PostgreSQL warns a connection of


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json_dumps(value: Any) -> str:
    """Compact JSON that keeps Chinese readable (one shared encoder: ``json.dumps`` with options builds
    a new one on every call)."""
    return _JSON_ENCODER.encode(value)


# How many SQLite connections the pool keeps open (handing out the most recently used first, so only as many are warm
# as are used at once). Answers kept while nothing is written (``store.unchanged``) are kept per SQLite connection:
# a connection the pool opens for a burst and closes after it (its overflow) works every kept answer out again. With
# SQLAlchemy's 5 kept, a worker serving 8 page requests at once opened and closed connections all the time, and
# /queue's p95 was 240 ms against 32 ms with 24 kept (measured, benchmarks/results/2026-12-03-gc-and-kept-pages.md).
# Sized to the web worker's thread pool (anyio's 40 threads), so a request's read never waits for a connection.
SQLITE_POOL_SIZE = 40


def make_engine(url: str, *, synchronous: str | None = None, pool_size: int = 10, **pool: Any) -> Engine:
    """Create an engine for ``url``; SQLite files get their pragmas and their directory. ``pool``: the pool's
    other settings (``max_overflow``, ``pool_timeout``; a test's small pool) when not the defaults."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        sizes = {"pool_size": pool_size, **pool} if pool else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 10}
        return _make_sqlite_engine(url, synchronous or get_settings().sqlite_synchronous, sizes)
    # READ COMMITTED whatever the server's default: the version checks of the write path and the read connections'
    # autocommit (store.reads) rest on it. psycopg names it in each BEGIN: no round trip of its own.
    engine = create_engine(
        url,
        **{"pool_size": pool_size, "max_overflow": 20, **pool},
        json_serializer=_json_dumps,
        isolation_level="READ COMMITTED",
    )
    keep_writer(engine)  # the write path's kept connection: no pre-ping round trip per transition (fast.py)
    event.listen(engine, "checkout", _refuse_stale)
    event.listen(engine, "connect", _hear_warnings)
    return engine


def _hear_warnings(dbapi_connection: Any, _record: Any) -> None:
    """Log what the server warns a connection of (a ``SET LOCAL`` outside a transaction is ignored with only a
    WARNING: the setting, and what it was for, silently lost). Its NOTICEs (``IF NOT EXISTS``, skipping) stay out."""
    dbapi_connection.add_notice_handler(_warned)


def _warned(diagnostic: Any) -> None:
    if diagnostic.severity_nonlocalized == "WARNING":
        SERVER_LOG.warning("PostgreSQL: %s", diagnostic.message_primary)


def _refuse_stale(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """The pool's check of a PostgreSQL connection at checkout, without the pre-ping's round trip (it was one of
    the fixed costs of every request, issue 15): a connection psycopg marked closed or broken, or whose idle socket
    has something to read (a terminated backend sends its FATAL message, then closes; a restarted server closes
    every socket), is replaced by a fresh one (SQLAlchemy's pool does it on ``DisconnectionError``). The kept
    writer connection is checked the same way (``fast.stale``)."""
    if stale(dbapi_connection):
        raise exc.DisconnectionError("idle PostgreSQL connection closed by the server")


def _private_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600; SQLite gives its -wal and -shm files the
    same mode), in a folder made 0700 if we create it: it holds every party's ID number and phone."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _make_sqlite_engine(url: str, synchronous: str, pool: dict[str, Any]) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        _private_file(Path(database))
    in_memory = database in (None, "", ":memory:")
    # A file's pool hands out the most recently returned connection first: its page cache is the freshest. FIFO
    # hands out the connection idle longest, whose cache another connection's commits have made stale, and
    # every transaction then re-reads its pages from the file (~17 preads per transition, measured). A memory
    # database is one per connection (NullPool, which takes no such option).
    pooling: dict[str, Any] = {"poolclass": NullPool} if in_memory else {"pool_use_lifo": True, **pool}
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        json_serializer=_json_dumps,
        **pooling,
    )
    if database not in (None, "", ":memory:"):  # a memory database is one per connection: nothing to keep
        keep_writer(engine)
        # Checkpoints run in the process's checkpoint thread, not inside a request's commit (checkpoint.py).
        path = str(Path(database).resolve())
        attach(engine, path)  # this process's writers queue on one lock per file (writer_lock.py)
        CHECKPOINTER.register(path)
        weakref.finalize(engine, CHECKPOINTER.unregister, path)
    sync_mode = synchronous.upper()
    if sync_mode not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"unknown SQLite synchronous mode: {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sync_mode}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoint thread does it (checkpoint.py)
            # A writer that restarts the WAL cuts its file back to this at that commit, when over it (checkpoint.py).
            cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        # Straight to the driver: this runs once per transaction, and SQLAlchemy's statement machinery
        # (a third of a short transaction's overhead) adds nothing to a bare BEGIN.
        conn.connection.driver_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]

    return engine


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().resolved_database_url())


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that intends to write: committed on success, rolled back whole on any error. On a
    SQLite file it first takes the file's writer lock (writer_lock.py), then the write lock at BEGIN IMMEDIATE.
    The request's shared read transaction ends before and after it (``reads.py``): the request never holds two
    pooled connections, and its next read sees this write."""
    release_reads()
    try:
        with lock_for(engine) or contextlib.nullcontext(), engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
    finally:
        release_reads()
