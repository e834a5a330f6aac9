"""Read connections: one per page request, shared by the page's reads and its header's (issue 15).

Each checkout of a pooled connection costs PostgreSQL round trips besides its statements, and a page used to take
three: the sign-in check, the page's reads and the header's notice count. A read connection on PostgreSQL is in
autocommit (``_read_connection``): at READ COMMITTED, the level the engine sets (``db.make_engine``), every
statement takes a snapshot of its own inside a transaction too, so a BEGIN before the first statement and a
ROLLBACK after the last would add two round trips per block and change no answer. Writes never run on a read
connection (``write_transaction``, the engine's ``driver_transaction`` and the kept answers' upserts take their
own). What needs a transaction on PostgreSQL — rows streamed through a server-side cursor, ``SET LOCAL`` — runs in
:func:`in_transaction`. ``reads(engine)`` is what the core's read functions open instead of ``engine.connect()``:

- Outside a shared request (commands, the API, tests, sign-in) it is ``engine.connect()``.
- In a web request the outermost middleware opens a :class:`RequestReads` (``begin_request``: no I/O). Once the
  page's dependency has signed the user in it calls ``share_reads()``; from then on every ``reads`` block of the
  request runs on one connection in one transaction, checked out at the first and ended by ``release_reads()``
  (the page's render, after its header) or, at the latest, by the middleware when the request ends.

What keeps it safe:

- **No stale read after a write.** ``write_transaction``, ``driver_transaction`` and ``group_commit.append`` call
  ``release_reads()`` before they start and after they end: the next read opens a fresh transaction that sees the
  write (on SQLite a read transaction keeps the snapshot of its first read). A write made inside a ``reads`` block
  (the dashboard's kept sums are brought up to date on the way) leaves that block its connection, as before, and
  the shared transaction ends with the block.
- **No more pooled connections per request than before**: a write outside a read block takes its connection after
  the read one went back (a group-commit waiter never holds one while the leader needs one).
- **Held only inside the page's own work.** The sign-in check runs in a thread call of its own before the page's;
  keeping its connection across the gap would hold a pooled connection while the request waits for a worker
  thread, and with every worker thread waiting for a connection that is a deadlock (until the pool's timeout).
  So the sign-in check keeps its own checkout (``single_read``: one statement, no BEGIN/ROLLBACK on PostgreSQL),
  and sharing starts after it. The API's routes do not share: after their function returns FastAPI may still
  take a worker thread to check the answer, with the connection held. The middleware's final release runs on
  a limiter of its own, never waiting for the worker threads the pool's waiters hold.
- **A failed statement** (PostgreSQL then refuses the rest of the transaction) returns the shared connection to
  the pool; the next read opens a new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError


class RequestReads:
    """One request's shared read connection (created by :func:`begin_request`, filled by :func:`reads`)."""

    __slots__ = ("connection", "depth", "engine", "shared", "stale", "tokens")

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.engine: Engine | None = None
        self.shared = False
        self.depth = 0  # how many ``reads`` blocks are using the connection now
        self.stale = False  # a write committed (or a statement failed) while a block was using it
        # the data token (key None) and the topics' stamps read first in the request (store.unchanged), until a write
        self.tokens: dict[str | None, Any] = {}

    def held(self) -> bool:
        return self.connection is not None

    def release(self) -> None:
        """Back to the pool (on SQLite its read transaction ends; PostgreSQL's, in autocommit, has none)."""
        connection, self.connection, self.engine, self.stale = self.connection, None, None, False
        self.tokens.clear()
        if connection is not None:
            connection.close()


_REQUEST: ContextVar[RequestReads | None] = ContextVar("mf_request_reads", default=None)


def begin_request() -> tuple[RequestReads, Token[RequestReads | None]]:
    """A web request starts (the outermost middleware, in the request's task: every worker-thread call of the
    request sees this object). The caller releases it at the end and resets the token."""
    request = RequestReads()
    return request, _REQUEST.set(request)


def end_request(token: Token[RequestReads | None]) -> None:
    _REQUEST.reset(token)


def current_request() -> RequestReads | None:
    """The web request being served in this context (None outside one)."""
    return _REQUEST.get()


def share_reads() -> None:
    """From now on this request's reads share one connection (the page dependency, once the user is signed in)."""
    request = _REQUEST.get()
    if request is not None:
        request.shared = True


def release_reads() -> None:
    """End the request's shared read transaction now (the page's render; every write, before and after it). While
    a ``reads`` block is using it (a read that writes on the way, as the dashboard's kept sums do) it ends when
    that block ends: the block keeps its connection, as it did with one of its own."""
    request = _REQUEST.get()
    if request is None:
        return
    request.tokens.clear()  # kept answers after a write are kept under tokens read after it
    if request.connection is None:
        return
    if request.depth:
        request.stale = True
    else:
        request.release()


@contextmanager
def reads(engine: Engine) -> Iterator[Connection]:
    """A connection to read with: the request's shared one (see the module's text), or a connection of its own."""
    request = _REQUEST.get()
    if request is None or not request.shared:
        with _read_connection(engine) as own:
            yield own
        return
    conn = request.connection
    if conn is not None and (request.engine is not engine or conn.closed or conn.invalidated):
        if request.depth:  # in use by an outer block (another engine, or broken under it): one of its own
            with _read_connection(engine) as own:
                yield own
            return
        request.release()
        conn = None
    if conn is None:
        conn = _read_connection(engine)
        request.connection, request.engine = conn, engine
    request.depth += 1
    try:
        yield conn
    except SQLAlchemyError:
        request.stale = True  # a failed statement fails its transaction: the next read starts a new one
        raise
    finally:
        request.depth -= 1
        if request.stale and not request.depth:
            request.release()


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """A connection of its own for ONE read statement (the sign-in check: the module's text says why not the
    request's shared one)."""
    with _read_connection(engine) as conn:
        yield conn


@contextmanager
def in_transaction(conn: Connection) -> Iterator[Connection]:
    """A transaction for statements that need one on PostgreSQL (a server-side cursor, ``SET LOCAL``: in autocommit
    the one fails, the other is ignored with a warning) when ``conn`` is a read connection in autocommit: begun at
    the block's first statement, rolled back at its end (a read writes nothing), autocommit again after. Anywhere
    else (SQLite, a connection already in transactions, a block inside another) the block runs as it is."""
    driver: Any = conn.connection.dbapi_connection
    if conn.dialect.name != "postgresql" or not driver.autocommit:
        yield conn
        return
    conn.rollback()  # SQLAlchemy's own record of the autocommit "transaction": nothing is sent
    conn.execution_options(isolation_level="READ COMMITTED")
    try:
        yield conn
    finally:
        conn.rollback()
        conn.execution_options(isolation_level="AUTOCOMMIT")


def _read_connection(engine: Engine) -> Connection:
    """A pooled connection to read on: in autocommit on PostgreSQL (no BEGIN, no ROLLBACK: the module's text);
    SQLite keeps its deferred transaction (one snapshot for the block's reads, no round trips to save). The pool
    puts the connection back in its own mode when it is returned."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn
