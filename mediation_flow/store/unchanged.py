"""Answers kept while the database has not changed (issue 15): a read that every page repeats (the header's unread
count) is worked out once and given again until any transaction commits a change, its day changes or a moment
it named passes.

What says "nothing has changed" (:func:`data_token`), read on the caller's connection inside its transaction, before
the answer is worked out there:

- **SQLite**: ``PRAGMA data_version`` is fixed for a read transaction at its snapshot and moves when another
  connection has committed since; the connection's own writes do not move it, so its ``total_changes`` (every
  row it ever wrote, rolled back or not) goes with it. Both belong to one connection, so the token names the
  connection too (a serial kept in the pool's record of it, never reused in the process).
- **PostgreSQL**: ``pg_current_snapshot()``: a commit either raises its ``xmax`` or takes an id out of its
  in-progress list, and neither comes back, so an equal snapshot means no transaction has committed since. It
  is cluster-wide, so the token names the database too, and a transaction that has written adds its own id.

Read before the answer's statements (on PostgreSQL, read committed: those see the same or newer data), a token is
never newer than the data its answer was worked out from. For the same reason a web request's kept answers on
PostgreSQL take the token the request read first (``first_noting_token``: in the same statement as the sign-in
check, which every request makes first; else the first answer's), on any of its read connections: read before each
answer, so never newer than its data, and one round trip less per answer. A write in the request forgets it
(``store.reads.release_reads``); a write transaction reads its own.

Any commit (a session's sign-in, another township's case) makes every kept answer be worked out again: correct
at every moment first, fast when nobody writes (most page views). Kept per process, bounded.

An answer worked out from a few slowly changing tables alone (the reference book: reference items, agencies,
places) names their **topic** instead (:func:`topic_token`): it is kept while the topic's stamp stands, which the
tables' triggers renew at each change (migration 0023), so the cases written all day do not end it. The stamp is
random, never a counter: one renewed by a transaction that rolled back is seen by nobody else, so an answer that
transaction worked out under it is never taken for a later commit's data. It is read as the data token is (before the
answer, in the caller's transaction), so the same argument holds: never newer than the data the answer came from.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Text, cast, func, select

from mediation_flow.store.fast import Prepared
from mediation_flow.store.reads import RequestReads, current_request
from mediation_flow.store.tables import CHANGE_STAMPS

T = TypeVar("T")
_Entry = tuple[Hashable, "datetime | None", T]  # (data token, the moment it stops being true, the answer)

_SERIALS = itertools.count(1)
# How long a request waits for another thread working out the same answer (then it works the answer out itself).
WAIT_SECONDS = 30.0
_SERIAL_KEY = "mf_unchanged_serial"


def data_token(conn: Connection) -> tuple[Hashable, Hashable]:
    """(whose, what): equal tokens mean equal data. ``whose`` is what the token can be compared within (a SQLite
    connection, a PostgreSQL database); ``what`` is the data as ``conn``'s transaction sees it now."""
    if conn.dialect.name == "sqlite":
        record = conn.connection  # the pool's record of the DBAPI connection: its ``info`` lives as long
        serial = record.info.get(_SERIAL_KEY)
        if serial is None:
            serial = record.info[_SERIAL_KEY] = next(_SERIALS)
        driver: Any = record.dbapi_connection
        # On the driver: inside the transaction if one is open (its snapshot, opened here if not yet), else a
        # snapshot of its own, older than or the same as what the caller's statements read next.
        version = driver.execute("PRAGMA data_version").fetchone()[0]
        return ("sqlite", serial), (version, driver.total_changes)
    whose = _database(conn)
    request = _reading_request(conn)
    noted = request.tokens.get(None) if request is not None else None
    if noted is not None and noted[0] == whose:
        return noted  # type: ignore[no-any-return]
    snapshot, writer = conn.exec_driver_sql(_PG_TOKEN_SQL).one()
    token = (whose, (snapshot, writer))
    if request is not None and writer is None:
        request.tokens[None] = token
    return token


def _database(conn: Connection) -> tuple[str, str]:
    return conn.dialect.name, conn.engine.url.render_as_string(hide_password=True)


def _reading_request(conn: Connection) -> RequestReads | None:
    """The web request, when ``conn`` is one of its read connections (PostgreSQL, autocommit: every statement a
    transaction of its own that writes nothing). A write transaction's token is its own: never the request's."""
    request = current_request()
    driver: Any = conn.connection.dbapi_connection
    return request if request is not None and driver.autocommit else None


# A transaction that has written sees its own uncommitted rows under a snapshot another one may share: its
# transaction id (None for a reader) keeps what it works out to itself.
_PG_TOKEN_SQL = "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text"
# topic -> the tables whose triggers renew its stamp (migration 0023 creates them)
TOPICS = {"reference": ("reference_item", "agency", "jurisdiction")}
_STAMP_SQL = {topic: f"SELECT stamp FROM change_stamp WHERE topic = '{topic}'" for topic in TOPICS}
_TOKEN_COLUMNS = (
    cast(func.pg_current_snapshot(), Text).label("mf_snapshot"),
    cast(func.pg_current_xact_id_if_assigned(), Text).label("mf_writer"),
    *(
        select(CHANGE_STAMPS.c.stamp).where(CHANGE_STAMPS.c.topic == topic).scalar_subquery().label(f"mf_topic_{topic}")
        for topic in TOPICS
    ),
)


def first_noting_token(statement: Prepared, conn: Connection, params: dict[str, Any]) -> dict[str, Any] | None:
    """``statement.first(conn, params)``; on PostgreSQL the same statement reads the data token and the topics'
    stamps too (more columns), which the web request reading keeps for its kept answers, on any of its read
    connections, until it writes (``release_reads`` forgets them at every write): read before each of those
    answers, so older than or the same as its data, which is all a token must be (the module's text). The
    sign-in check's statement, which every request makes first, saves each request those round trips."""
    if conn.dialect.name != "postgresql":
        return statement.first(conn, params)
    with _LOCK:
        noting = _NOTING.get(statement)
        if noting is None:
            noting = _NOTING[statement] = Prepared(statement.statement.add_columns(*_TOKEN_COLUMNS))  # type: ignore[attr-defined]
    row = noting.first(conn, params)
    request = _reading_request(conn)
    if row is not None:
        snapshot, writer = row.pop("mf_snapshot"), row.pop("mf_writer")
        stamps = {topic: row.pop(f"mf_topic_{topic}") for topic in TOPICS}
        if request is not None and writer is None:
            request.tokens[None] = (_database(conn), (snapshot, writer))
            request.tokens.update({topic: ((*_database(conn), topic), stamp) for topic, stamp in stamps.items()})
    return row


_NOTING: dict[Prepared, Prepared] = {}
_LOCK = threading.Lock()


def renew_stamps(conn: Connection) -> None:
    """Give every topic a new stamp, as its triggers would: after a write that bypassed them (PostgreSQL's replica
    role in a bulk load, benchmarks only)."""
    new = "lower(hex(randomblob(16)))" if conn.dialect.name == "sqlite" else "md5(gen_random_uuid()::text)"
    conn.exec_driver_sql(f"UPDATE change_stamp SET stamp = {new}")


def topic_token(conn: Connection, topic: str) -> tuple[Hashable, Hashable]:
    """(whose, what) as :func:`data_token`, for answers worked out from ``topic``'s tables alone: the database and
    the topic's stamp as ``conn``'s transaction sees it."""
    sql = _STAMP_SQL[topic]
    if conn.dialect.name == "sqlite":  # on the driver, as data_token reads (the caller's transaction if one is open)
        stamp = conn.connection.dbapi_connection.execute(sql).fetchone()[0]  # type: ignore[union-attr]
        return ("sqlite", conn.engine.url.render_as_string(hide_password=True), topic), stamp
    whose = (*_database(conn), topic)
    request = _reading_request(conn)
    noted = request.tokens.get(topic) if request is not None else None
    if noted is not None and noted[0] == whose:
        return noted  # type: ignore[no-any-return]
    token = (whose, conn.exec_driver_sql(sql).scalar_one())
    if request is not None:
        request.tokens[topic] = token
    return token


class KeptWhileUnchanged(Generic[T]):
    """Answers by key (and by SQLite connection or PostgreSQL database), each kept with the data token it was worked
    out under and the moment it stops being true by itself (None: only a change ends it; the caller puts the day
    in the key if the day decides it). At most ``size`` answers; the least recently used go first. With a ``topic``
    (of :data:`TOPICS`): answers worked out from that topic's tables alone, kept while its stamp stands.

    Threads that miss the same answer under the same token at once do not each work it out: the first does, the
    others wait for it (at most :data:`WAIT_SECONDS`, then, or if it failed, each works it out itself). After a
    write, the clients of a kept page all miss together; they would otherwise all work it out at once."""

    def __init__(self, size: int = 2048, *, topic: str | None = None) -> None:
        if topic is not None and topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        self.size = size
        self.topic = topic
        self._kept: OrderedDict[Hashable, tuple[Hashable, datetime | None, T]] = OrderedDict()
        self._working: dict[tuple[Hashable, Hashable], threading.Event] = {}  # (key, token) being worked out
        self._lock = threading.Lock()

    def get(self, conn: Connection, key: Hashable, work_out: Callable[[], T]) -> T:
        """The answer for ``key`` on ``conn``'s data: kept, or ``work_out()`` run on ``conn`` after the token was
        read (an answer only a write changes)."""
        return self.get_until(conn, key, None, lambda: (work_out(), None))

    def get_until(
        self,
        conn: Connection,
        key: Hashable,
        now: datetime | None,
        work_out: Callable[[], tuple[T, datetime | None]],
    ) -> T:
        """As :meth:`get`, for an answer that time alone also ends: ``work_out()`` gives the answer and the moment
        it stops being true (None: never by itself), judged at ``now``."""
        whose, token = data_token(conn) if self.topic is None else topic_token(conn, self.topic)
        key = (whose, key)
        slot = (key, token)
        with self._lock:
            found = self._valid(key, token, now)
            if found is not None:
                return found[2]
            running = self._working.get(slot)
            if running is None:
                self._working[slot] = mine = threading.Event()
        if running is not None:  # another thread works out the same answer from the same data: take its answer
            running.wait(WAIT_SECONDS)
            with self._lock:
                found = self._valid(key, token, now)
            if found is not None:
                return found[2]
            answer, expires = work_out()  # it failed (or is stuck): work it out here
            self._keep(key, token, expires, answer)
            return answer
        try:
            answer, expires = work_out()
            self._keep(key, token, expires, answer)
        finally:
            with self._lock:
                del self._working[slot]
            mine.set()
        return answer

    def _valid(
        self, key: Hashable, token: Hashable, now: datetime | None
    ) -> tuple[Hashable, datetime | None, T] | None:
        """What is kept for ``key`` if worked out under ``token`` and still true at ``now`` (the lock held)."""
        found = self._kept.get(key)
        if found is not None and found[0] == token and (found[1] is None or (now is not None and now < found[1])):
            self._kept.move_to_end(key)
            return found
        return None

    def _keep(self, key: Hashable, token: Hashable, expires: datetime | None, answer: T) -> None:
        with self._lock:
            self._kept[key] = (token, expires, answer)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
