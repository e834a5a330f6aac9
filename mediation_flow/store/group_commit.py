"""Durable appends in groups: many threads' rows, one write transaction (one fsync) per group.

A GET that shows personal data in full must leave its access-log row durable before it answers, but one
write transaction per row puts an fsync and a turn at SQLite's single write lock into every such GET.
``append`` queues the row; the first caller with nothing committing becomes the leader and writes every
queued row in one transaction, the others wait for that commit (or become the next leader). Each caller
returns only once its own row is committed, or gets the transaction's error: nothing is acknowledged that
is not on disk, and no thread or queue outlives a call (a clean shutdown has nothing left to flush).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Executable, Table, insert

from mediation_flow.store.db import write_transaction
from mediation_flow.store.reads import release_reads


@dataclass
class _Item:
    table: Table
    row: dict[str, Any]
    unless: Executable | None
    done: bool = False
    written: bool = False
    error: BaseException | None = None


@dataclass
class _Group:
    cond: threading.Condition = field(default_factory=threading.Condition)
    pending: list[_Item] = field(default_factory=list)
    leading: bool = False
    commits: int = 0  # transactions written (tests and benchmarks read it)


_GROUPS: weakref.WeakKeyDictionary[Engine, _Group] = weakref.WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def group_for(engine: Engine) -> _Group:
    with _GROUPS_LOCK:
        group = _GROUPS.get(engine)
        if group is None:
            group = _GROUPS[engine] = _Group()
        return group


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
    group = group_for(engine)
    item = _Item(table, row, unless)
    with group.cond:
        group.pending.append(item)
        while group.leading and not item.done:
            group.cond.wait()
        if not item.done:
            group.leading = True
            batch, group.pending = group.pending, []
    if not item.done:
        error: BaseException | None = None
        try:
            _write(engine, batch)
        except BaseException as exc:  # every waiter of the group gets it
            error = exc
        with group.cond:
            for queued in batch:
                queued.done, queued.error = True, error
                queued.written = queued.written and error is None
            group.leading = False
            group.commits += error is None
            group.cond.notify_all()
    if item.error is not None:
        raise item.error
    return item.written


def _write(engine: Engine, batch: list[_Item]) -> None:
    with write_transaction(engine) as conn:
        for item in batch:  # in order: a later row's ``unless`` sees the earlier rows of its group
            if item.unless is not None and conn.execute(item.unless).first() is not None:
                continue
            conn.execute(insert(item.table).values(item.row))
            item.written = True
