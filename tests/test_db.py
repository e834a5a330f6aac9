"""The storage layer's hot-path shortcuts keep their promises: same bytes, warm connections."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

from factories import register
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite.base import DATETIME

from mediation_flow.store.db import make_engine
from mediation_flow.store.fast import Prepared, driver_transaction
from mediation_flow.store.models import CaseEvent, UTCDateTime

SQLITE = sqlite.dialect()
EVENTS = CaseEvent.__table__
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
aware = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.one_of(st.just(UTC), offsets)
)


@given(aware)
def test_utc_datetime_sqlite_bind_is_the_dialects_own_text(value: datetime) -> None:
    fast = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    generic = DATETIME().bind_processor(SQLITE)
    assert fast(value) == generic(UTCDateTime().process_bind_param(value, SQLITE))


def test_utc_datetime_refuses_naive_values() -> None:
    fast = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    try:
        fast(datetime(2024, 3, 4, 8, 0))
    except ValueError as exc:
        assert "naive" in str(exc)
    else:
        raise AssertionError("a naive datetime was stored")


def test_sqlite_pool_hands_out_the_warmest_connection(tmp_path) -> None:
    """LIFO pool: with several idle connections, back-to-back checkouts get the same one (whose page
    cache is current); FIFO would hand out the stalest and make it re-read its pages."""
    engine = make_engine(f"sqlite:///{tmp_path}/lifo.db")
    held = [engine.raw_connection() for _ in range(3)]  # three connections in the pool
    for conn in held:
        conn.close()
    seen = []
    for _ in range(4):
        with engine.connect() as conn:
            seen.append(id(conn.connection.driver_connection))
    engine.dispose()
    assert len(set(seen)) == 1


def test_a_memory_database_gets_an_engine_too() -> None:
    """``sqlite://`` (one database per connection, no pool to order): an engine that works, with the pragmas."""
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_prepared_rows_match_sqlalchemy_core(engine, town) -> None:
    """A row written and read through Prepared equals one written and read through Core."""
    case_id = register(engine, town)
    moment = datetime(2024, 3, 4, 8, 30, 15, 123456, tzinfo=UTC)
    values = {
        "case_id": case_id, "trigger": "note", "from_state": "registered", "to_state": "registered",
        "actor_id": town["mediator"].id, "effective_at": moment, "recorded_at": moment, "note": "备注",
        "data": {"文字": "调解", "n": 1, "list": [1, 2]},
    }  # fmt: skip
    write = Prepared(insert(EVENTS).values({c: bindparam(c) for c in [*values, "seq"]}))
    read = Prepared(select(EVENTS).where(EVENTS.c.case_id == bindparam("c"), EVENTS.c.seq == bindparam("s")))
    with driver_transaction(engine) as tx:
        assert write.execute(tx, {**values, "seq": 101}) == 1
    with engine.begin() as conn:
        conn.execute(insert(EVENTS).values({**values, "seq": 102}))
        core = {s: dict(conn.execute(select(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == s))
                        .mappings().one()) for s in (101, 102)}  # fmt: skip
    with driver_transaction(engine) as tx:
        prepared = {s: read.first(tx, {"c": case_id, "s": s}) for s in (101, 102)}
    for s in (101, 102):
        core[s].pop("id"), prepared[s].pop("id")  # type: ignore[union-attr]
        assert prepared[s] == core[s]
    assert core[101] == {**core[102], "seq": 101}
    assert prepared[101]["effective_at"] == moment  # type: ignore[index]


def test_kept_writer_survives_errors_and_closes_on_dispose(tmp_path) -> None:
    """The SQLite writer kept out of the pool: a failed transaction leaves nothing behind and the next one
    works on the same connection; dispose closes it."""
    engine = make_engine(f"sqlite:///{tmp_path}/kept.db")
    with driver_transaction(engine) as tx:
        tx.cursor.execute("CREATE TABLE t (v INTEGER)")
    try:
        with driver_transaction(engine) as tx:
            tx.cursor.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with driver_transaction(engine) as outer:
        kept = outer.dbapi_connection
        outer.cursor.execute("INSERT INTO t VALUES (2)")
    with driver_transaction(engine) as first:
        assert first.dbapi_connection is kept
        first.cursor.execute("INSERT INTO t VALUES (3)")
    with driver_transaction(engine) as tx:
        tx.cursor.execute("SELECT v FROM t ORDER BY v")
        assert [r[0] for r in tx.cursor.fetchall()] == [2, 3]
    engine.dispose()
    try:
        kept.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        pass
    else:
        raise AssertionError("dispose left the kept writer open")
    with driver_transaction(engine) as tx:
        assert tx.dbapi_connection is not kept
        tx.cursor.execute("SELECT count(*) FROM t")
        assert tx.cursor.fetchone()[0] == 2
    engine.dispose()


def test_concurrent_writers_each_get_a_connection(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/two.db")
    with driver_transaction(engine) as tx:
        tx.cursor.execute("CREATE TABLE t (v INTEGER)")

    def write(value: int) -> None:
        with driver_transaction(engine) as tx:
            tx.cursor.execute("INSERT INTO t VALUES (?)", (value,))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, range(200)))
    with driver_transaction(engine) as tx:
        tx.cursor.execute("SELECT count(*), count(DISTINCT v) FROM t")
        assert tx.cursor.fetchone() == (200, 200)
    engine.dispose()
