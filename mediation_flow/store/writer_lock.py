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

Between processes (two app workers, the CLI beside a server) the turn is ``FileTurn``: an exclusive ``flock`` on
``<database>-writer``, taken after the process's lock (so one thread per process waits for it) and given back
after the commit. A process waiting for it sleeps in the kernel, which wakes it when the holder closes the file,
instead of in SQLite's busy handler (whose 1 … 100 ms sleeps made the transition POST's tail with two workers:
issue 15). The kernel gives the turn back when a holder dies, kill -9 included. A wait that must end after
``WAIT_SECONDS`` blocks in a helper thread, which lets the turn go at once if it comes after its caller gave up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
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

    __slots__ = ("_lock", "_owner", "_turn", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._turn = FileTurn(f"{path}-writer")

    def acquire(self, timeout: float = WAIT_SECONDS) -> None:
        if self._owner == threading.get_ident():
            raise NestedWrite(f"a write transaction on {self.path} inside another one of the same thread")
        if not self.try_acquire(timeout):
            raise WriterBusy(f"no turn to write to {self.path} within {timeout:g} s")

    def try_acquire(self, timeout: float) -> bool:
        """Take the lock, then the file's turn among processes, within ``timeout`` seconds in all; False if
        either stayed taken."""
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            taken = self._turn.take(max(0.0, deadline - time.monotonic()))
        except BaseException:
            self._lock.release()
            raise
        if not taken:
            self._lock.release()
            return False
        self._owner = threading.get_ident()
        return True

    def release(self) -> None:
        self._owner = None
        try:
            self._turn.give()
        finally:
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


class FileTurn:
    """The turn to write to one SQLite file among processes: an exclusive ``flock`` on the file at ``path``.

    Each take opens the file anew, so the lock belongs to that one open file (a helper thread that takes it after
    its caller gave up holds its own, and closes it); giving the turn back is closing it. Only the thread holding
    the process's ``WriterLock`` takes it, so the process has at most one waiter in the kernel (and, after a
    timeout, one helper still waiting)."""

    __slots__ = ("_fd", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def take(self, timeout: float) -> bool:
        """Take the turn within ``timeout`` seconds; False if another process kept it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _OPEN.add(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not _wait_in_kernel(fd, timeout):
                return False  # the helper thread owns ``fd`` now
        except BaseException:
            _close(fd)
            raise
        self._fd = fd
        return True

    def give(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            _close(fd)  # the file's last descriptor closed: the kernel wakes the next waiting process


_OPEN: set[int] = set()  # the turn files this process has open (a forked child closes its copies)


def _close(fd: int) -> None:
    _OPEN.discard(fd)
    os.close(fd)


def _wait_in_kernel(fd: int, timeout: float) -> bool:
    """A blocking ``flock`` on ``fd`` with a timeout: it blocks in a helper thread; a turn that comes after the
    caller gave up is given back at once (the helper closes ``fd``), one that fails is closed here."""
    done = threading.Condition()
    state = {"got": False, "failed": False, "abandoned": False}

    def wait() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            outcome = "got"
        except OSError:
            outcome = "failed"
        with done:
            if state["abandoned"]:
                _close(fd)
                return
            state[outcome] = True
            done.notify()

    threading.Thread(target=wait, name="sqlite-writer-turn", daemon=True).start()
    with done:
        done.wait_for(lambda: state["got"] or state["failed"], timeout)
        if state["got"]:
            return True
        if state["failed"]:
            _close(fd)
            return False
        state["abandoned"] = True
        return False


def _after_fork_in_child() -> None:
    """A forked child must not keep its parent's turn: its copies of the open turn files would hold the lock
    (a ``flock`` belongs to the open file, shared across ``fork``) after the parent gives it back."""
    for fd in list(_OPEN):
        with contextlib.suppress(OSError):
            os.close(fd)
    _OPEN.clear()
    for lock in list(_BY_PATH.values()):
        lock._turn._fd = None


os.register_at_fork(after_in_child=_after_fork_in_child)


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
