"""Database engines: SQLite (WAL, foreign keys, synchronous=FULL by default) or PostgreSQL.

Writers on SQLite take the write lock at BEGIN (``BEGIN IMMEDIATE``) so that two transactions that
read and then write never dead-end in SQLITE_BUSY; readers stay deferred and never block.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable

from mediation_flow.store.config import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json_dumps(value: Any) -> str:
    """Compact JSON that keeps Chinese readable (one shared encoder: ``json.dumps`` with options builds
    a new one on every call)."""
    return _JSON_ENCODER.encode(value)


def make_engine(url: str, *, synchronous: str | None = None, pool_size: int = 10) -> Engine:
    """Create an engine for ``url``; SQLite files get their pragmas and their directory."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, synchronous or get_settings().sqlite_synchronous)
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, json_serializer=_json_dumps)


def _make_sqlite_engine(url: str, synchronous: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        poolclass=NullPool if database in (None, "", ":memory:") else None,
        json_serializer=_json_dumps,
        # Most recently returned connection first: its page cache is the freshest. FIFO hands out the
        # connection idle longest, whose cache another connection's commits have made stale, and every
        # transaction then re-reads its pages from the file (~17 preads per transition, measured).
        pool_use_lifo=database not in (None, "", ":memory:"),
    )
    if database not in (None, "", ":memory:"):  # a memory database is one per connection: nothing to keep
        writers = _WRITERS[engine] = _Writers(engine)
        event.listen(engine, "engine_disposed", writers.close_all)
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
    """One transaction that intends to write: committed on success, rolled back whole on any error."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


class _Writers:
    """SQLite takes one writer at a time, so each SQLite file engine keeps one connection detached from
    its pool for ``driver_transaction``, always warm: the hot path skips the pool's checkout and checkin
    (about a tenth of a transition's CPU). A second concurrent writer borrows from the pool as before.
    The kept connection is closed when the engine is disposed (``restore`` disposes before it copies)."""

    __slots__ = ("engine", "generation", "idle", "kept", "lock")

    def __init__(self, engine: Engine) -> None:
        self.engine = weakref.ref(engine)
        self.idle: list[Any] = []
        self.kept = 0
        self.generation = 0
        self.lock = threading.Lock()

    def take(self) -> tuple[Any, int] | None:
        """The kept connection and its generation, or None when it is busy (use the pool)."""
        try:
            return self.idle.pop(), self.generation
        except IndexError:
            pass
        engine = self.engine()
        with self.lock:
            if self.kept or engine is None:
                return None
            pooled = engine.raw_connection()  # through the pool once: the connect event sets the pragmas
            connection = pooled.driver_connection
            pooled.detach()
            self.kept = 1
            return connection, self.generation

    def give_back(self, connection: Any, generation: int, healthy: bool) -> None:
        with self.lock:
            if healthy and generation == self.generation:
                self.idle.append(connection)
                return
            if generation == self.generation:
                self.kept = 0
        connection.close()

    def close_all(self, *_args: Any) -> None:
        with self.lock:
            self.generation += 1
            self.kept = 0
            idle, self.idle = self.idle, []
        for connection in idle:
            connection.close()


_WRITERS: weakref.WeakKeyDictionary[Engine, _Writers] = weakref.WeakKeyDictionary()


class DriverTransaction:
    """A write transaction held directly on a DBAPI connection (see ``driver_transaction``)."""

    __slots__ = ("_kept", "_pooled", "cursor", "dbapi_connection", "dialect", "engine")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect

    def __enter__(self) -> DriverTransaction:
        writers = _WRITERS.get(self.engine)
        self._kept = writers.take() if writers is not None else None
        if self._kept is not None:
            self._pooled = None
            self.dbapi_connection: Any = self._kept[0]
        else:
            self._pooled = self.engine.raw_connection()
            self.dbapi_connection = self._pooled.driver_connection
        try:
            self.cursor: Any = self.dbapi_connection.cursor()  # one cursor for every statement of the transaction
            if self.dialect.name == "sqlite":
                self.cursor.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release(healthy=False)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        healthy = False
        try:
            self.cursor.close()
            if exc_type is None:
                self.dbapi_connection.commit()
            else:
                self.dbapi_connection.rollback()
            healthy = True
        finally:
            self._release(healthy)

    def _release(self, healthy: bool) -> None:
        if self._pooled is not None:
            self._pooled.close()  # back to the pool (which rolls back whatever is left open)
        elif self._kept is not None:  # an unhealthy one is closed, which rolls back what is open
            writers = _WRITERS.get(self.engine)
            if writers is None:
                self.dbapi_connection.close()
            else:
                writers.give_back(self.dbapi_connection, self._kept[1], healthy)


Executor = Connection | DriverTransaction


def driver_transaction(engine: Engine) -> DriverTransaction:
    """The same transaction as ``write_transaction`` — SQLite's write lock taken at ``BEGIN IMMEDIATE``,
    committed on success, rolled back whole on any error — for ``Prepared`` statements only, without
    SQLAlchemy's Connection layer (its set-up and events cost more than a short transaction's SQL).
    Use as ``with driver_transaction(engine) as tx: ...``."""
    return DriverTransaction(engine)


_REQUIRED: Any = object()  # a bind with no value of its own: the caller must give it


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    # Every bind, in the order a positional paramstyle wants them: name, own value (or _REQUIRED), and
    # the type's bind conversion (or None).
    binds: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    keys: tuple[str, ...]  # result column names
    columns: tuple[tuple[int, Callable[[Any], Any]], ...]  # result columns that need converting (index, how)


class Prepared:
    """A Core statement compiled once per dialect and run straight on the DBAPI cursor of the caller's
    connection (so inside its transaction). For the hot path only: it skips SQLAlchemy's per-call
    statement building, cache-key generation and result wrapping, but keeps every column type's own
    bind and result conversion (JSON, aware UTC datetimes, dates), so rows read and written are the same.
    Every bind must be a named ``bindparam``; no expanding (IN) parameters.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()
        self._last: tuple[Dialect, _Compiled] | None = None  # a process mostly talks to one database
        self._lock = threading.Lock()

    def _compile(self, dialect: Dialect) -> _Compiled:
        last = self._last
        if last is not None and last[0] is dialect:
            return last[1]
        compiled = self._compiled.get(dialect)
        if compiled is not None:
            self._last = (dialect, compiled)
            return compiled
        with self._lock:
            c = self.statement.compile(dialect=dialect)
            names = tuple(c.positiontup or ()) if c.positional else tuple(c.binds)
            binds = tuple(
                (
                    name,
                    _REQUIRED if c.binds[name].required else c.binds[name].effective_value,
                    c.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
                )
                for name in names
            )
            selected = getattr(self.statement, "selected_columns", None)
            if selected is None:
                selected = getattr(self.statement, "_returning", ()) or ()
            keys = tuple(col.key for col in selected)
            converters = (col.type.dialect_impl(dialect).result_processor(dialect, None) for col in selected)
            columns = tuple((index, process) for index, process in enumerate(converters) if process)
            compiled = _Compiled(c.string, c.positional, binds, keys, columns)
            self._compiled[dialect] = compiled
            return compiled

    def _cursor(self, conn: Executor, params: Mapping[str, Any]) -> tuple[Any, _Compiled, bool]:
        """Run the statement; returns the cursor, the compiled form and whether the cursor is the
        transaction's own (kept open) or made for this call (the caller closes it)."""
        compiled = self._compile(conn.dialect)
        values = []
        for name, default, process in compiled.binds:
            value = params.get(name, default)
            if value is _REQUIRED:
                raise KeyError(name)
            values.append(value if process is None else process(value))
        args: Any = values if compiled.positional else dict(zip((b[0] for b in compiled.binds), values, strict=True))
        own = isinstance(conn, DriverTransaction)
        cursor = conn.cursor if own else conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(compiled.sql, args)
        return cursor, compiled, own

    def execute(self, conn: Executor, params: Mapping[str, Any]) -> int:
        """Run a write; returns the row count (what a version check needs)."""
        cursor, _, own = self._cursor(conn, params)
        count = int(cursor.rowcount)
        if not own:
            cursor.close()
        return count

    def rows(self, conn: Executor, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a query; returns its rows as dicts keyed by column name, values converted by their types."""
        cursor, compiled, own = self._cursor(conn, params)
        try:
            fetched = cursor.fetchall()
        finally:
            if not own:
                cursor.close()
        keys, converters = compiled.keys, compiled.columns
        if not converters:
            return [dict(zip(keys, row, strict=True)) for row in fetched]
        result = []
        for row in fetched:
            values = list(row)
            for index, process in converters:
                values[index] = process(values[index])
            result.append(dict(zip(keys, values, strict=True)))
        return result

    def first(self, conn: Executor, params: Mapping[str, Any]) -> dict[str, Any] | None:
        found = self.rows(conn, params)
        return found[0] if found else None
