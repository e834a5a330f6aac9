"""The case event table, written in one place: one column list, one row builder, one single and one
batched insert, and the reads a step needs of a case's history (inside the caller's transaction)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, select

from mediation_flow.cases.corrections import as_recorded
from mediation_flow.store import clock
from mediation_flow.store.fast import BulkInsert, Executor, Prepared
from mediation_flow.store.tables import EVENTS
from mediation_flow.workflow.correction_rules import CORRECT

EVENT_COLUMNS = (
    "case_id", "seq", "trigger", "from_state", "to_state", "actor_id", "effective_at", "recorded_at", "note", "data",
    "recorded_by",
)  # fmt: skip
NOTE_MAX = 2000


def event_row(
    *,
    case_id: int | None,
    seq: int,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor_id: int | None,
    effective_at: datetime,
    recorded_at: datetime,
    note: str,
    data: dict[str, Any],
    recorded_by: int | None = None,
) -> dict[str, Any]:
    """The row one event writes (``case_id`` None until the case has its id: a bulk write sets it).
    ``actor_id`` is who acted; ``recorded_by`` who typed it in, when someone else did (代录)."""
    return {
        "case_id": case_id,
        "seq": seq,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor_id,
        "effective_at": effective_at,
        "recorded_at": recorded_at,
        "note": (note or "").strip()[:NOTE_MAX],
        "data": data,
        "recorded_by": recorded_by,
    }


_INSERT = Prepared(insert(EVENTS).values({c: bindparam(c) for c in EVENT_COLUMNS}))
_INSERT_MANY = BulkInsert(EVENTS, EVENT_COLUMNS)


def insert_event(conn: Executor, event: Mapping[str, Any]) -> None:
    _INSERT.execute(conn, event)


def insert_events(conn: Connection, events: Iterable[Mapping[str, Any]]) -> None:
    """Many events with one executemany (the bulk path)."""
    _INSERT_MANY.run(conn, events)


_LAST_EFFECTIVE = Prepared(
    select(
        func.max(case((EVENTS.c.trigger != CORRECT, EVENTS.c.effective_at))).label("last"),
        func.count(case((EVENTS.c.trigger == CORRECT, 1))).label("corrections"),
    ).where(EVENTS.c.case_id == bindparam("case_id"))
)
_ALL = Prepared(select(EVENTS).where(EVENTS.c.case_id == bindparam("case_id")).order_by(EVENTS.c.seq))
_COUNT = Prepared(
    select(func.count().label("n")).where(EVENTS.c.case_id == bindparam("case_id"), EVENTS.c.trigger == bindparam("t"))
)
_LAST_DATA = Prepared(
    select(EVENTS.c.data)
    .where(EVENTS.c.case_id == bindparam("case_id"), EVENTS.c.trigger == bindparam("t"))
    .order_by(EVENTS.c.seq.desc())
    .limit(1)
)


class StoredHistory:
    """A case's events as a step asks about them, read from the database only when asked."""

    __slots__ = ("case_id", "conn")

    def __init__(self, conn: Executor, case_id: int) -> None:
        self.conn, self.case_id = conn, case_id

    def last_effective(self) -> datetime | None:
        """The latest effective time of the case's steps, as corrected (更正 may have moved one); a correction's
        own time does not count (back-dated steps may still follow it)."""
        found = _LAST_EFFECTIVE.first(self.conn, {"case_id": self.case_id})
        last = found["last"] if found else None
        if found and found["corrections"]:
            events = as_recorded({}, _ALL.rows(self.conn, {"case_id": self.case_id}))[1]
            return max((e["effective_at"] for e in events if e["trigger"] != CORRECT), default=None)
        return clock.ensure_aware(last) if last is not None else None

    def count(self, trigger: str) -> int:
        found = _COUNT.first(self.conn, {"case_id": self.case_id, "t": trigger})
        return int((found or {}).get("n") or 0)

    def last_data(self, trigger: str) -> dict[str, Any] | None:
        found = _LAST_DATA.first(self.conn, {"case_id": self.case_id, "t": trigger})
        data = found["data"] if found else None
        return dict(data) if data is not None else None


class HeldHistory:
    """The events of a case held in memory (the bulk path), answering as ``StoredHistory`` would."""

    __slots__ = ("events",)

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def last_effective(self) -> datetime | None:
        return max((e["effective_at"] for e in self.events), default=None)

    def count(self, trigger: str) -> int:
        return sum(1 for e in self.events if e["trigger"] == trigger)

    def last_data(self, trigger: str) -> dict[str, Any] | None:
        return next((dict(e["data"]) for e in reversed(self.events) if e["trigger"] == trigger), None)
