"""Every write on SQLite happens in a transaction begun IMMEDIATE: a guard that watches each SQLite connection
the app's engines open (SQLite's own statement trace, so the kept writer's driver transactions are seen as well
as SQLAlchemy's) and records each INSERT, UPDATE, DELETE or DDL run outside such a transaction, with the app's
frames that ran it.

Why: a transaction begun DEFERRED that reads and then writes gets SQLITE_BUSY at once — without the busy
handler — when another connection holds the write lock at its first write (SQLite will not wait while it holds
a snapshot); ``write_transaction`` and ``driver_transaction`` begin IMMEDIATE and wait their turn instead.

Used by ``test_store__write_guard.py``; to audit any tests: ``pytest -p write_guard tests/…`` prints what it
found at the end (and fails the run if it found anything).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
OURS = ("/mediation_flow/", "/web/")


@dataclass
class Violation:
    mode: str  # the transaction's BEGIN ('DEFERRED'), or 'autocommit' outside any
    statement: str
    where: str  # the innermost frames of the app (mediation_flow/, web/) that ran it


@dataclass
class WriteGuard:
    violations: list[Violation] = field(default_factory=list)
    writes: int = 0  # writes seen inside an IMMEDIATE transaction
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, dbapi_connection: Any, _record: Any) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        mode: list[str | None] = [None]

        def trace(sql: str) -> None:
            text = sql.lstrip()
            if text.startswith("--"):  # a trigger's statement, reported under its own
                return
            head = text[:24].upper()
            if head.startswith("BEGIN"):
                mode[0] = "IMMEDIATE" if ("IMMEDIATE" in head or "EXCLUSIVE" in head) else "DEFERRED"
            elif head.startswith(("COMMIT", "END")) or (head.startswith("ROLLBACK") and " TO " not in head):
                mode[0] = None
            elif head.startswith("SAVEPOINT") and mode[0] is None:
                mode[0] = "DEFERRED"
            elif WRITE.match(text):
                if mode[0] == "IMMEDIATE":
                    with self.lock:
                        self.writes += 1
                    return
                frames = [
                    f"{f.filename.split('/work/')[-1]}:{f.lineno} {f.name}"
                    for f in traceback.extract_stack()
                    if any(part in f.filename for part in OURS)
                ]
                with self.lock:
                    self.violations.append(Violation(mode[0] or "autocommit", " ".join(text.split())[:160],
                                                     " <- ".join(reversed(frames[-4:]))))  # fmt: skip

        dbapi_connection.set_trace_callback(trace)

    def summary(self) -> str:
        counts = Counter((v.mode, v.statement[:60], v.where) for v in self.violations)
        lines = [
            f"{n}× {mode}: {sql} … at {where or '(no frame of the app: the test itself)'}"
            for (mode, sql, where), n in counts.most_common()
        ]
        return "\n".join(lines)


@contextmanager
def guarded() -> Iterator[WriteGuard]:
    """Watch every SQLite connection opened inside the block (by any engine)."""
    guard = WriteGuard()
    event.listen(Pool, "connect", guard.watch)
    try:
        yield guard
    finally:
        event.remove(Pool, "connect", guard.watch)


_SESSION: list[Any] = []


def pytest_configure(config: pytest.Config) -> None:  # as a plugin (-p write_guard): the whole run
    if config.pluginmanager.has_plugin("write_guard"):
        manager = guarded()
        _SESSION.append((manager, manager.__enter__()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SESSION:
        guard: WriteGuard = _SESSION[0][1]
        terminalreporter.write_line(
            f"write guard: {guard.writes} writes in IMMEDIATE transactions, {len(guard.violations)} outside"
        )
        if guard.violations:
            terminalreporter.write_line(guard.summary())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SESSION and _SESSION[0][1].violations and exitstatus == 0:
        session.exitstatus = 1
