"""One writer at a time per SQLite file within a process, queued on a lock that wakes the next one at once.

SQLite lets one connection write at a time. A ``BEGIN IMMEDIATE`` that finds the write lock taken sleeps in
SQLite's busy handler (1, 2, 5, 10 … 100 ms, re-trying after each sleep, not woken when the lock frees):
with 8 clients on one file a third of the transition POST's server time went to those sleeps (issue 15,
2026-12-02 measure). So every write transaction of this process on a SQLite file first takes this file's
``WriterLock`` (a ``threading.Lock``: the releasing thread wakes a waiter at once), then ``BEGIN IMMEDIATE``;
only writers of different processes still meet in the busy handler. The checkpoint thread takes it too, for
the moment it needs no writer of this process to commit (``checkpoint.py``).

Not reentrant, on purpose: a thread that opens a second write transaction on the same file while it holds
one would wait on its own write lock inside SQLite (30 s, then "database is locked"); here it gets
``NestedWrite`` at once. PostgreSQL has no such lock (its writers lock rows, not the database).
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine

WAIT_SECONDS = 30.0  # as SQLite's busy timeout (db.SQLITE_BUSY_TIMEOUT_MS)


class NestedWrite(RuntimeError):
    """A thread opened a write transaction on a SQLite file inside another one on the same file."""


class WriterBusy(RuntimeError):
    """The file's writer lock was not free within ``WAIT_SECONDS`` (as SQLite's "database is locked")."""


class WriterLock:
    """The process's writer lock for one SQLite file (see the module's docstring)."""

    __slots__ = ("_lock", "_owner", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._owner: int | None = None

    def acquire(self, timeout: float = WAIT_SECONDS) -> None:
        if self._owner == threading.get_ident():
            raise NestedWrite(f"a write transaction on {self.path} inside another one of the same thread")
        if not self.try_acquire(timeout):
            raise WriterBusy(f"no turn to write to {self.path} within {timeout:g} s")

    def try_acquire(self, timeout: float) -> bool:
        """Take the lock within ``timeout`` seconds; False if it stayed taken."""
        if not self._lock.acquire(timeout=timeout):
            return False
        self._owner = threading.get_ident()
        return True

    def release(self) -> None:
        self._owner = None
        self._lock.release()

    def held_by_me(self) -> bool:
        return self._owner == threading.get_ident()

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


_BY_PATH: dict[str, WriterLock] = {}
_BY_ENGINE: weakref.WeakKeyDictionary[Engine, WriterLock] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def lock_for_path(path: str) -> WriterLock:
    """The process's writer lock of the database file ``path`` (the same for every engine on that file)."""
    key = str(Path(path).resolve())
    with _REGISTRY_LOCK:
        found = _BY_PATH.get(key)
        if found is None:
            found = _BY_PATH[key] = WriterLock(key)
        return found


def attach(engine: Engine, path: str) -> WriterLock:
    """Make ``engine`` (on the SQLite file ``path``) take that file's writer lock around its writes."""
    lock = lock_for_path(path)
    _BY_ENGINE[engine] = lock
    return lock


def lock_for(engine: Engine) -> WriterLock | None:
    """The writer lock ``engine``'s write transactions take, or None (PostgreSQL, a memory database)."""
    return _BY_ENGINE.get(engine)
