"""WAL checkpoints off the request path, with the WAL's size bounded.

SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages: that commit copies the
WAL back into the database and (``synchronous=FULL``) fsyncs both files before its request can answer — a
tail every few hundred transitions. Our connections turn it off (``PRAGMA wal_autocheckpoint=0``, set in
``db.py``) and one daemon thread per process checkpoints every registered database file instead:

- every ``INTERVAL`` seconds in which the WAL changed, a ``PASSIVE`` checkpoint (never waits for, nor blocks,
  readers or writers);
- when the WAL file has grown past ``HARD_BYTES`` (long readers kept the passive ones from finishing, or a
  burst), a ``TRUNCATE`` checkpoint, which waits at most ``TRUNCATE_WAIT_MS`` for readers and writers and
  leaves an empty file. That is the bound: after every pass the WAL is under it unless a reader held a
  snapshot through the whole wait, and the next pass tries again.

Several processes (the uvicorn workers) may checkpoint the same file: SQLite serialises checkpoints.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass

INTERVAL = 0.25  # seconds between passes
HARD_BYTES = 64 * 1024 * 1024
TRUNCATE_WAIT_MS = 200

log = logging.getLogger("mediation_flow.store.checkpoint")


@dataclass(frozen=True)
class Pass:
    """What one pass did to one file: the mode run ('' when the WAL had not changed) and the WAL's size
    after it."""

    mode: str
    wal_bytes: int


def wal_bytes(path: str) -> int:
    try:
        return os.stat(f"{path}-wal").st_size
    except FileNotFoundError:
        return 0


def checkpoint_once(path: str, *, hard_bytes: int = HARD_BYTES, force: bool = False) -> Pass:
    """One pass over the database file ``path``: PASSIVE, then TRUNCATE if the WAL is over ``hard_bytes``.
    Opens its own short connection (``mode=rw``: a file deleted meanwhile is not recreated)."""
    if not os.path.exists(path) or not os.path.exists(f"{path}-wal"):
        return Pass("", 0)
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=TRUNCATE_WAIT_MS / 1000, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_autocheckpoint=0")  # closing this connection must not checkpoint inside a pass
        mode = "PASSIVE"
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if force or wal_bytes(path) > hard_bytes:
            mode = "TRUNCATE"
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:
                log.warning("WAL of %s over %d bytes and still in use: truncating next pass", path, hard_bytes)
    finally:
        conn.close()
    return Pass(mode, wal_bytes(path))


class Checkpointer:
    """The process's checkpoint thread over the registered database files (started on first register)."""

    def __init__(self, *, interval: float = INTERVAL, hard_bytes: int = HARD_BYTES) -> None:
        self.interval, self.hard_bytes = interval, hard_bytes
        self._files: Counter[str] = Counter()
        self._seen: dict[str, tuple[int, int]] = {}  # path -> the WAL's (mtime_ns, size) at the last pass
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0

    def register(self, path: str) -> None:
        with self._lock:
            self._files[path] += 1
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
                self._thread.start()

    def unregister(self, path: str) -> None:
        with self._lock:
            self._files[path] -= 1
            if self._files[path] <= 0:
                del self._files[path]
                self._seen.pop(path, None)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def run_pass(self) -> dict[str, Pass]:
        """Checkpoint every registered file whose WAL changed since the last pass."""
        with self._lock:
            paths = list(self._files)
        done = {}
        for path in paths:
            try:
                stat = os.stat(f"{path}-wal")
            except FileNotFoundError:
                continue
            mark = (stat.st_mtime_ns, stat.st_size)
            if self._seen.get(path) == mark and stat.st_size <= self.hard_bytes:
                continue
            try:
                done[path] = checkpoint_once(path, hard_bytes=self.hard_bytes)
            except sqlite3.Error as exc:  # locked past the wait, file replaced by a restore: next pass
                log.warning("checkpoint of %s failed: %s", path, exc)
                continue
            self._seen[path] = _mark(path)
        self.passes += 1
        return done

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_pass()
            except Exception:  # never let the thread die: the WAL would grow without bound
                log.exception("checkpoint pass failed")


def _mark(path: str) -> tuple[int, int]:
    try:
        stat = os.stat(f"{path}-wal")
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


CHECKPOINTER = Checkpointer()
