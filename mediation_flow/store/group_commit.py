"""Writes in groups: many threads' writes, one write transaction (one turn at the file, one commit) per group.

A GET that shows personal data in full must leave its access-log row durable before it answers, but one
write transaction per row puts an fsync and a turn at SQLite's single write lock into every such GET.
``append`` queues the row; the first caller with nothing committing becomes the leader and writes every
queued row in one transaction, the others wait for that commit (or become the next leader). Each caller
returns only once its own row is committed, or gets the transaction's error: nothing is acknowledged that
is not on disk, and no thread or queue outlives a call (a clean shutdown has nothing left to flush).

``in_group`` does the same for a whole read-decide-write (a transition: the case read, ``step``, the row and
its event) on a SQLite file: the leader runs each queued one in a savepoint of its own, in order, so a step
sees the ones before it and one that raises leaves the others standing; the caller gets its own answer or
error once the group has committed. On SQLite the transaction holds the file's single write lock, and while it
does the writer's thread waits for the interpreter lock after each statement (the process's other requests
hold it): one turn for several transitions instead of one each. PostgreSQL writers run side by side (they
lock rows, not the database) and commit in groups on their own: there ``in_group`` is one transaction.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, Executable, Table, insert

from mediation_flow.store.db import write_transaction
from mediation_flow.store.fast import DriverTransaction, driver_transaction
from mediation_flow.store.reads import release_reads
from mediation_flow.store.writer_lock import NestedWrite

T = TypeVar("T")


@dataclass
class _Item:
    """One caller's write: an append (``table``, ``row``, ``unless``) or a unit of work (``work``)."""

    table: Table | None = None
    row: dict[str, Any] | None = None
    unless: Executable | None = None
    work: Callable[[DriverTransaction], Any] | None = None
    done: bool = False
    written: bool = False
    answer: Any = None
    error: BaseException | None = None


@dataclass
class _Group:
    cond: threading.Condition = field(default_factory=threading.Condition)
    pending: list[_Item] = field(default_factory=list)
    leading: bool = False
    leader: int | None = None  # the leading thread
    commits: int = 0  # transactions written (tests and benchmarks read it)


_GROUPS: weakref.WeakKeyDictionary[Engine, dict[str, _Group]] = weakref.WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def group_for(engine: Engine, kind: str = "append") -> _Group:
    """The engine's group of ``kind`` ('append' or 'work': their transactions differ, so they never mix)."""
    with _GROUPS_LOCK:
        groups = _GROUPS.get(engine)
        if groups is None:
            groups = _GROUPS[engine] = {}
        return groups.setdefault(kind, _Group())


def append(engine: Engine, table: Table, row: dict[str, Any], *, unless: Executable | None = None) -> bool:
    """Insert ``row`` into ``table`` durably, grouped with other threads' appends to the same engine; skipped
    when ``unless`` (a query, run inside the group's transaction, after the rows queued before this one)
    finds a row. True if written. Raises the group transaction's error (then nothing of the group is written).
    Like every write, it ends the request's shared read transaction first (a waiter holding a pooled connection
    could starve the leader's write of one) and after (its next read sees the row): ``reads.py``."""
    release_reads()
    try:
        return _append(engine, table, row, unless)
    finally:
        release_reads()


def _append(engine: Engine, table: Table, row: dict[str, Any], unless: Executable | None) -> bool:
    item = _Item(table, row, unless)
    _lead_or_wait(group_for(engine), item, lambda batch: _write(engine, batch))
    return item.written


def _lead_or_wait(group: _Group, item: _Item, write: Callable[[list[_Item]], None]) -> None:
    """Queue ``item``; the first caller with nothing being written leads: it takes the queue and ``write``s it in
    one transaction, the others wait for that commit (or lead the next). Raises the item's error: its own, or
    the group transaction's (then nothing of the group is written). A write queued from inside the group's own
    transaction (by its leader's work) would wait for itself: ``NestedWrite`` at once, as a nested write
    transaction gets from the writer lock."""
    with group.cond:
        if group.leading and group.leader == threading.get_ident():
            raise NestedWrite("a grouped write inside the group's own transaction")
        group.pending.append(item)
        while group.leading and not item.done:
            group.cond.wait()
        if not item.done:
            group.leading, group.leader = True, threading.get_ident()
            batch, group.pending = group.pending, []
    if not item.done:
        error: BaseException | None = None
        try:
            write(batch)
        except BaseException as exc:  # every waiter of the group gets it
            error = exc
        with group.cond:
            for queued in batch:
                queued.done = True
                if error is not None:
                    queued.error, queued.written = error, False
            group.leading, group.leader = False, None
            group.commits += error is None
            group.cond.notify_all()
    if item.error is not None:
        raise item.error


def _write(engine: Engine, batch: list[_Item]) -> None:
    with write_transaction(engine) as conn:
        for item in batch:  # in order: a later row's ``unless`` sees the earlier rows of its group
            if item.unless is not None and conn.execute(item.unless).first() is not None:
                continue
            assert item.table is not None and item.row is not None
            conn.execute(insert(item.table).values(item.row))
            item.written = True


def in_group(engine: Engine, work: Callable[[DriverTransaction], T]) -> T:
    """``work(tx)`` in a write transaction (``driver_transaction``) committed before this returns, grouped on a
    SQLite file with other threads' work queued meanwhile, each in a savepoint of its own: its answer, or the
    error it raised (its savepoint rolled back, the group's other work kept), or the group transaction's error
    (nothing of the group written). Reads are released before and after, as around every write."""
    release_reads()
    try:
        if engine.dialect.name != "sqlite":
            with driver_transaction(engine) as tx:
                return work(tx)
        item = _Item(work=work)
        _lead_or_wait(group_for(engine, "work"), item, lambda batch: _run(engine, batch))
        answer: T = item.answer
        return answer
    finally:
        release_reads()


def _run(engine: Engine, batch: list[_Item]) -> None:
    if len(batch) == 1:  # alone: its error rolls back the whole transaction, no savepoint's two statements needed
        with driver_transaction(engine) as tx:
            assert batch[0].work is not None
            batch[0].answer = batch[0].work(tx)
        return
    with driver_transaction(engine) as tx:
        for item in batch:  # in order: each sees the writes of those before it
            assert item.work is not None
            tx.cursor.execute("SAVEPOINT grouped")
            try:
                item.answer = item.work(tx)
            except Exception as exc:  # this caller's error (a guard, a stale version): the others' work stands
                tx.cursor.execute("ROLLBACK TO SAVEPOINT grouped")
                item.error = exc
            tx.cursor.execute("RELEASE SAVEPOINT grouped")
