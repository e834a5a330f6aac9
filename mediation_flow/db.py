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

from mediation_flow.config import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
    )
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


class DriverTransaction:
    """A write transaction held directly on a pooled DBAPI connection (see ``driver_transaction``)."""

    __slots__ = ("_pooled", "dbapi_connection", "dialect", "engine")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect

    def __enter__(self) -> DriverTransaction:
        self._pooled = self.engine.raw_connection()
        self.dbapi_connection: Any = self._pooled.driver_connection
        try:
            if self.dialect.name == "sqlite":
                self.dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._pooled.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            if exc_type is None:
                self.dbapi_connection.commit()
            else:
                self.dbapi_connection.rollback()
        finally:
            self._pooled.close()  # back to the pool


Executor = Connection | DriverTransaction


def driver_transaction(engine: Engine) -> DriverTransaction:
    """The same transaction as ``write_transaction`` — SQLite's write lock taken at ``BEGIN IMMEDIATE``,
    committed on success, rolled back whole on any error — for ``Prepared`` statements only, without
    SQLAlchemy's Connection layer (its set-up and events cost more than a short transaction's SQL).
    Use as ``with driver_transaction(engine) as tx: ...``."""
    return DriverTransaction(engine)


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind names, in the order a positional paramstyle wants them
    positional: bool
    binders: tuple[tuple[str, Callable[[Any], Any]], ...]  # binds that need converting, and how
    keys: tuple[str, ...]  # result column names
    columns: tuple[tuple[str, Callable[[Any], Any]], ...]  # result columns that need converting, and how
    defaults: dict[str, Any]  # binds that carry their own value (LIMIT, literals)


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
        self._lock = threading.Lock()

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is not None:
            return compiled
        with self._lock:
            c = self.statement.compile(dialect=dialect)
            names = tuple(c.positiontup or ()) if c.positional else tuple(c.binds)
            processors = ((name, c.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in c.binds)
            binders = tuple((name, process) for name, process in processors if process is not None)
            selected = getattr(self.statement, "selected_columns", None)
            if selected is None:
                selected = getattr(self.statement, "_returning", ()) or ()
            keys = tuple(col.key for col in selected)
            converters = (col.type.dialect_impl(dialect).result_processor(dialect, None) for col in selected)
            columns = tuple((key, process) for key, process in zip(keys, converters, strict=True) if process)
            defaults = {name: bp.effective_value for name, bp in c.binds.items() if not bp.required}
            compiled = _Compiled(c.string, names, c.positional, binders, keys, columns, defaults)
            self._compiled[dialect] = compiled
            return compiled

    def _cursor(self, conn: Executor, params: Mapping[str, Any]) -> tuple[Any, _Compiled]:
        compiled = self._compile(conn.dialect)
        values = {**compiled.defaults, **params}
        for name, process in compiled.binders:
            values[name] = process(values[name])
        dbapi = conn.dbapi_connection if isinstance(conn, DriverTransaction) else conn.connection.dbapi_connection
        cursor = dbapi.cursor()  # type: ignore[union-attr]
        args: Any = [values[n] for n in compiled.names] if compiled.positional else values
        cursor.execute(compiled.sql, args)
        return cursor, compiled

    def execute(self, conn: Executor, params: Mapping[str, Any]) -> int:
        """Run a write; returns the row count (what a version check needs)."""
        cursor, _ = self._cursor(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def rows(self, conn: Executor, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a query; returns its rows as dicts keyed by column name, values converted by their types."""
        cursor, compiled = self._cursor(conn, params)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        keys, converters = compiled.keys, compiled.columns
        result = []
        for row in fetched:
            item = dict(zip(keys, row, strict=True))
            for key, process in converters:
                item[key] = process(item[key])
            result.append(item)
        return result

    def first(self, conn: Executor, params: Mapping[str, Any]) -> dict[str, Any] | None:
        found = self.rows(conn, params)
        return found[0] if found else None
