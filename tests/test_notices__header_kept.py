"""The header's unread count is kept while nothing is written (``store.unchanged``, issue 15), and is never stale:
after each kind of change (a registration, an assignment, an escalation, the inbox read, the oldest news leaving
the 30 days, a new day) it equals a count worked out afresh, for every role, on SQLite and PostgreSQL. What keeps
it: the data token, which moves with another connection's commit, with the connection's own write and (on
PostgreSQL) with a transaction's own uncommitted rows, and stays put inside a SQLite read snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta

from factories import Town, drive, make_town, register
from sqlalchemy import Engine, event, insert, select, text

from mediation_flow.cases.notices import header_unread, mark_all_seen, unread_count
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import NOTICES_SEEN
from mediation_flow.store.unchanged import KeptWhileUnchanged, data_token

ROLES = ("mediator", "supervisor", "village_mediator", "admin", "grid_worker", "other_village_mediator")


class Statements:
    """The statements an engine runs through SQLAlchemy (SQLite's data token is read on the driver)."""

    def __init__(self, engine: Engine) -> None:
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute", self._note)

    def _note(self, _conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        self.seen.append(statement)


def _agrees(engine: Engine, town: Town, now: datetime, label: str) -> dict[str, int]:
    shown = {}
    for role in ROLES:
        actor = town[role]
        with engine.connect() as conn:
            fresh = unread_count(conn, actor, now=now, due_soon_days=get_settings().due_soon_working_days)
        shown[role] = header_unread(engine, actor)
        assert shown[role] == fresh, (label, role, shown[role], fresh)
        assert header_unread(engine, actor) == fresh, (label, role, "kept")
    return shown


def test_the_kept_count_follows_every_change(engine: Engine, town: Town, moment: list[datetime]) -> None:
    noon = moment[0]
    shown = _agrees(engine, town, noon, "start")

    old = register(
        engine, town, "supervisor", title="将满三十日的纠纷", effective_at=noon - timedelta(days=30, hours=-1)
    )
    drive(engine, old, town["supervisor"], [("escalate", {"reason": "矛盾激化"})], moments=[noon - timedelta(days=29)])
    shown = _agrees(engine, town, noon, "a back-dated escalation")

    case_id = register(engine, town, "grid_worker", title="新登记的纠纷")
    _agrees(engine, town, noon, "a registration")
    drive(
        engine,
        case_id,
        town["supervisor"],
        [("accept", {"rights_notified": True}), ("assign", {"mediator_id": town["mediator"].id})],
    )
    after_assign = _agrees(engine, town, noon, "accepted and assigned")
    assert after_assign["mediator"] > shown["mediator"]  # the assignment is news to the mediator

    mark_all_seen(engine, town["mediator"])
    assert _agrees(engine, town, noon, "the inbox read")["mediator"] == 0

    moment[0] = noon + timedelta(days=1, hours=2)  # past the escalation's 30 days of news, the next day
    _agrees(engine, town, moment[0], "a day later")


def test_the_oldest_news_leaves_within_the_day(engine: Engine, town: Town, moment: list[datetime]) -> None:
    """Same day, no write: the count drops when the oldest news it read turns 30 days old (the kept answer's end)."""
    noon = moment[0]
    case_id = register(engine, town, "supervisor", title="旧纠纷", effective_at=noon - timedelta(days=35))
    steps = [
        ("accept", {"rights_notified": True}),
        ("assign", {"mediator_id": town["mediator"].id}),
        ("escalate", {"reason": "矛盾激化"}),  # news to the mediator whose case it is
    ]
    at = [noon - timedelta(days=35), noon - timedelta(days=34), noon - timedelta(days=30, hours=-1)]
    drive(engine, case_id, town["supervisor"], steps, moments=at)
    before = _agrees(engine, town, noon, "in its 30 days")["mediator"]
    moment[0] = noon + timedelta(hours=2)
    assert clock.local_date(moment[0]) == clock.local_date(noon)
    assert _agrees(engine, town, moment[0], "two hours later")["mediator"] == before - 1


def test_a_second_view_with_nothing_written_reads_no_notice(engine: Engine, town: Town, moment: list[datetime]) -> None:
    register(engine, town, "grid_worker", title="一起纠纷")
    supervisor = town["supervisor"]
    first = header_unread(engine, supervisor)
    statements = Statements(engine)
    assert header_unread(engine, supervisor) == first
    assert not [s for s in statements.seen if "case_event" in s or "notice_seen" in s], statements.seen
    register(engine, town, "grid_worker", title="又一起纠纷")
    statements.seen.clear()
    header_unread(engine, supervisor)  # what it counts is _agrees' business (above)
    assert [s for s in statements.seen if "case_event" in s], "a write must make the count be worked out again"


def test_the_token_moves_with_each_kind_of_write(engine: Engine, town: Town) -> None:
    seer = town["supervisor"].id
    with engine.connect() as reader:
        whose, first = data_token(reader)
        reader.rollback()
        assert data_token(reader) == (whose, first)  # nothing written
        with write_transaction(engine) as conn:  # another connection's commit
            conn.execute(insert(NOTICES_SEEN).values(user_id=seer, seen_at=clock.utcnow()))
        reader.rollback()
        _, second = data_token(reader)
        assert second != first
        reader.execute(text("UPDATE notice_seen SET seen_at = seen_at WHERE user_id = :u"), {"u": seer})
        reader.commit()  # the connection's own write
        _, third = data_token(reader)
        assert third not in (first, second)


def test_a_sqlite_snapshot_keeps_its_token(sqlite_engine: Engine) -> None:
    """Inside a read transaction the token is that of its snapshot: what was read there was not newer than it."""
    town_sqlite = make_town(sqlite_engine)
    with sqlite_engine.connect() as reader:
        reader.execute(select(NOTICES_SEEN)).all()  # the snapshot opens
        whose, before = data_token(reader)
        with write_transaction(sqlite_engine) as conn:
            conn.execute(insert(NOTICES_SEEN).values(user_id=town_sqlite["mediator"].id, seen_at=clock.utcnow()))
        assert data_token(reader) == (whose, before)
        assert reader.execute(select(NOTICES_SEEN)).all() == []
        reader.rollback()
        assert data_token(reader)[1] != before


def test_a_postgresql_writer_keeps_what_it_works_out_to_itself(pg_engine: Engine) -> None:
    """Rows a transaction wrote and has not committed are in what it works out; no one else gets that answer (on
    SQLite a connection's own writes are in its token: the test above)."""
    engine, town = pg_engine, make_town(pg_engine)
    kept: KeptWhileUnchanged[int] = KeptWhileUnchanged()
    count = select(NOTICES_SEEN.c.user_id).where(NOTICES_SEEN.c.user_id == town["mediator"].id)
    with engine.connect() as writer, engine.connect() as reader:
        writer.execute(insert(NOTICES_SEEN).values(user_id=town["mediator"].id, seen_at=clock.utcnow()))
        assert kept.get(writer, "n", lambda: len(writer.execute(count).all())) == 1
        assert kept.get(reader, "n", lambda: len(reader.execute(count).all())) == 0
        writer.rollback()
        assert kept.get(reader, "n", lambda: len(reader.execute(count).all())) == 0
