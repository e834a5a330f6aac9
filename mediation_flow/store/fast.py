"""Speed code, kept here and nowhere else: statements compiled once and run straight on the DBAPI
cursor (``Prepared``), a write transaction held on a kept driver connection (``driver_transaction``), and
one ``executemany`` per table for bulk writes (``BulkInsert``). Each keeps every column type's own bind and
result conversion, so the rows written and read are those SQLAlchemy would write and read; domain code
calls plain functions (``cases.events``, ``cases.engine``) that use them.
"""

from __future__ import annotations

import re
import select
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, Result, Table, bindparam, event, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from mediation_flow.errors import StoreUnavailable
from mediation_flow.store.reads import release_reads
from mediation_flow.store.writer_lock import lock_for


class _Writers:
    """Each file or PostgreSQL engine keeps one connection detached from its pool for ``driver_transaction``,
    always warm: the hot path skips the pool's checkout and checkin (about a tenth of a transition's CPU on
    SQLite) and, on PostgreSQL, the pre-ping round trip. A second concurrent writer borrows from the pool as
    before. A kept PostgreSQL connection known to be dead (``stale``: no round trip) is replaced before use;
    one lost during a transaction fails it with ``StoreUnavailable`` and is replaced next time. The kept
    connection is closed when the engine is disposed (``restore`` disposes before it copies)."""

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
            connection = self.idle.pop()
        except IndexError:
            pass
        else:
            if not stale(connection):
                return connection, self.generation
            self.give_back(connection, self.generation, healthy=False)  # closed; a fresh one below
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


def stale(connection: Any) -> bool:
    """True when an idle kept connection is known dead without asking the server: psycopg marked it closed
    or broken, or the server has sent something on its idle socket (a terminated backend sends its FATAL
    message, then closes). A check of the socket, not a round trip; SQLite connections are never stale."""
    if getattr(connection, "closed", False) or getattr(connection, "broken", False):
        return True
    pgconn = getattr(connection, "pgconn", None)
    if pgconn is None:
        return False
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except Exception:  # OSError, or psycopg's own error for a closed pgconn
        return True
    return bool(readable)


def _lost(connection: Any) -> bool:
    """The connection broke (PostgreSQL: psycopg marks it broken when the server went away)."""
    return bool(getattr(connection, "broken", False))


class DriverTransaction:
    """A write transaction held directly on a DBAPI connection (see ``driver_transaction``)."""

    __slots__ = ("_kept", "_lock", "_pooled", "cursor", "dbapi_connection", "dialect", "engine")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect

    def __enter__(self) -> DriverTransaction:
        release_reads()  # the request's shared read transaction ends first, and again after (reads.py)
        self._lock = lock_for(self.engine)  # SQLite file: this process's writers queue here (writer_lock.py)
        if self._lock is not None:
            self._lock.acquire()
        writers = _WRITERS.get(self.engine)
        try:
            self._kept = writers.take() if writers is not None else None
            if self._kept is not None:
                self._pooled = None
                self.dbapi_connection: Any = self._kept[0]
            else:
                self._pooled = self.engine.raw_connection()
                self.dbapi_connection = self._pooled.driver_connection
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
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
        except Exception as failed:
            if _lost(self.dbapi_connection):
                raise StoreUnavailable("数据库连接中断，本次操作未保存，请重试") from (exc or failed)
            raise
        finally:
            self._release(healthy)
            release_reads()
        if exc is not None and _lost(self.dbapi_connection):  # lost mid-transaction: nothing was committed
            raise StoreUnavailable("数据库连接中断，本次操作未保存，请重试") from exc

    def _release(self, healthy: bool) -> None:
        try:
            if self._pooled is not None:
                self._pooled.close()  # back to the pool (which rolls back whatever is left open)
            elif self._kept is not None:  # an unhealthy one is closed, which rolls back what is open
                writers = _WRITERS.get(self.engine)
                if writers is None:
                    self.dbapi_connection.close()
                else:
                    writers.give_back(self.dbapi_connection, self._kept[1], healthy)
        finally:
            if self._lock is not None:  # after the commit or rollback: the next writer finds the file free
                self._lock.release()


Executor = Connection | DriverTransaction


def driver_transaction(engine: Engine) -> DriverTransaction:
    """The same transaction as ``write_transaction`` — SQLite's write lock taken at ``BEGIN IMMEDIATE``,
    committed on success, rolled back whole on any error — for ``Prepared`` statements only, without
    SQLAlchemy's Connection layer (its set-up and events cost more than a short transaction's SQL).
    Use as ``with driver_transaction(engine) as tx: ...``."""
    return DriverTransaction(engine)


def keep_writer(engine: Engine) -> None:
    """Keep one warm writer connection for ``driver_transaction`` on this SQLite file or PostgreSQL engine."""
    writers = _WRITERS[engine] = _Writers(engine)
    event.listen(engine, "engine_disposed", writers.close_all)


_REQUIRED: Any = object()  # a bind with no value of its own: the caller must give it


def dict_rows(result: Result[Any]) -> list[dict[str, Any]]:
    """The rows of ``result`` as dicts keyed by column name. ``dict(mapping)`` builds a keys view for every row
    (about 22 us a row of the case table's 33 columns, measured: 50 rows 1.95 ms against 0.88 ms here)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


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
            c = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
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


_MISSING: Any = object()


class BulkInsert:
    """``INSERT INTO table (columns) VALUES (…)`` run by one DBAPI ``executemany`` on the caller's
    connection, each value converted by its column type's bind conversion as SQLAlchemy (and ``Prepared``)
    would; a date or datetime is converted once per value and a dict once per object (a batch repeats its
    times, and events share their data where it is the same)."""

    def __init__(self, table: Table, columns: tuple[str, ...]) -> None:
        self.table, self.columns = table, columns
        self._compiled: dict[str, tuple[str, tuple[str, ...], list[Any]]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, tuple[str, ...], list[Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = insert(self.table).values({c: bindparam(c) for c in self.columns}).compile(dialect=dialect)
            sql, order = compiled.string, list(compiled.positiontup or ())
            if not compiled.positional:  # pyformat (psycopg): %(name)s, made positional
                order = re.findall(r"%\((\w+)\)s", sql)
                sql = re.sub(r"%\((\w+)\)s", "%s", sql)
            assert sorted(order) == sorted(self.columns), order
            processors = [self.table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in order]
            found = self._compiled[dialect.name] = (sql, tuple(order), processors)
        return found

    def run(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        sql, columns, processors = self._compile(conn.dialect)
        converters: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
            (i, p, {}) for i, p in enumerate(processors) if p is not None
        ]
        args = []
        pick = itemgetter(*columns)
        for row in rows:
            values = list(pick(row))
            for index, process, memo in converters:
                raw = values[index]
                kind = type(raw)
                # A date or datetime by value; a dict (JSON) by identity: the rows are alive and unchanged
                # for the whole call, and events share their data where it is the same.
                key = raw if kind is datetime or kind is date else id(raw) if kind is dict else None
                if key is None:
                    values[index] = process(raw)
                    continue
                converted = memo.get(key, _MISSING)
                if converted is _MISSING:
                    converted = memo[key] = process(raw)
                values[index] = converted
            args.append(values)
        if args:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(sql, args)
            finally:
                cursor.close()
