"""WAL checkpoints off the request path, with the WAL's size bounded, never holding SQLite's write lock while
waiting for anyone.

SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages: that commit copies the
WAL back into the database and (``synchronous=FULL``) fsyncs both files before its request can answer — a
tail every few hundred transitions. Our connections turn it off (``PRAGMA wal_autocheckpoint=0``, set in
``db.py``) and one daemon thread per process checkpoints every registered database file instead.

A checkpoint copies frames back; only a *writer* reuses the WAL from its start ("restarts" it), at the first
write of a transaction whose snapshot began when every frame had been copied back and no reader was on the
WAL; with ``journal_size_limit`` (``JOURNAL_SIZE_LIMIT``, set in ``db.py``) that commit also cuts the file back
when it is over that size (only then: see ``JOURNAL_SIZE_LIMIT``).
Under a back-to-back writer a checkpoint in another thread never ends at such a moment: the writer appends
while the pass copies, so every pass ends a few frames behind and the WAL grew without end (measured: 5,321
commits in 20 s, 76 passes each complete up to its own start, no restart, 126 MiB of WAL). So each pass:

- ``PASSIVE`` (never waits for, nor blocks, readers or writers) whenever the WAL changed;
- when that pass copied everything up to its start (no reader holds frames back) and the WAL holds more than
  ``RESTART_BYTES``, or its file is over ``HARD_BYTES``: a second ``PASSIVE`` while holding this process's
  writer lock of the file (``writer_lock.py``; this process's writers wait on it, not on SQLite's lock), which
  copies only the few frames written meanwhile; the next writer then finds the WAL fully copied and restarts it;
- only when the file is over ``HARD_BYTES`` (writers this process does not queue — another process, a tool —
  kept the restart from happening): inside that same hold, ``TRUNCATE`` with a busy timeout of 0, which takes
  SQLite's write lock only if free, copies what is left, and gives up at once (falling back to what the passive
  pass did) if a reader is still on the WAL; it never waits while holding the write lock, so a writer whose
  ``BEGIN IMMEDIATE`` finds it taken waits a moment in its busy handler instead of failing.

A reader that holds a snapshot keeps frames from being copied; the WAL grows while it reads and shrinks at the
first pass after it is done. Several processes (the uvicorn workers) may checkpoint the same file: SQLite
serialises checkpoints.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass

from mediation_flow.store.writer_lock import lock_for_path

INTERVAL = 0.25  # seconds between passes
RESTART_BYTES = 4 * 1024 * 1024  # WAL content past which a pass makes way for a restart (SQLite's default: 1,000 pages)
HARD_BYTES = 64 * 1024 * 1024
# A restarted WAL file is cut back to this at the restarting commit. Under it the file keeps its size, so the
# commits after a restart overwrite blocks the file already has: a synced commit that appends must also make
# the filesystem journal the file's new size and blocks. Cut back to 4 MiB, a back-to-back writer appended
# after every restart: +270 µs of wall time and +85 µs of system time per transition (SQLite FULL); 16, 32
# and 64 MiB measured alike. Half of HARD_BYTES, so that a file cut back is never taken for one over it.
JOURNAL_SIZE_LIMIT = HARD_BYTES // 2
READ_WAIT = 1.0  # seconds a pass's connection may wait to read (never while holding the write lock)
LOCK_WAIT = 1.0  # seconds the pass waits for this process's writer lock before leaving it to the next pass
WAL_HEADER, FRAME_HEADER = 32, 24

WARN_EVERY = 60.0  # seconds between two warnings about one file's WAL

log = logging.getLogger("mediation_flow.store.checkpoint")
_warned: dict[tuple[str, str], float] = {}  # (path, message) -> when last logged (time.monotonic)


def _warn(path: str, message: str, *args: object) -> None:
    """Log a warning about ``path``'s WAL at most once per ``WARN_EVERY`` seconds for each ``message`` (a format
    string, so one kind does not hide another): a pass runs every ``INTERVAL``, and a reader that holds the WAL
    for minutes would otherwise write four lines a second (measured: 140 lines in one run of bench_http)."""
    now = time.monotonic()
    last = _warned.get((path, message))
    if last is None or now - last >= WARN_EVERY:
        _warned[(path, message)] = now
        log.warning(message, *args)


@dataclass(frozen=True)
class Pass:
    """What one pass did to one file: the strongest step run ('' when nothing was done, 'PASSIVE',
    'QUIESCED' for the second passive pass under the writer lock, 'TRUNCATE') and the WAL file's size after it."""

    mode: str
    wal_bytes: int


def wal_bytes(path: str) -> int:
    try:
        return os.stat(f"{path}-wal").st_size
    except FileNotFoundError:
        return 0


def _passive(conn: sqlite3.Connection) -> tuple[int, int]:
    """A PASSIVE checkpoint: the WAL's frames at its start, and how many of them are copied back."""
    _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return frames, copied


def checkpoint_once(
    path: str, *, restart_bytes: int = RESTART_BYTES, hard_bytes: int = HARD_BYTES, force: bool = False
) -> Pass:
    """One pass over the database file ``path`` (see the module's docstring; ``force`` truncates as if over
    ``hard_bytes``). Opens its own short connection (``mode=rw``: a file deleted meanwhile is not recreated)."""
    if not os.path.exists(path) or not os.path.exists(f"{path}-wal"):
        return Pass("", 0)
    # A read may meet a writer mid-way through the WAL index's header for an instant: a short wait there. The
    # passive checkpoints take no busy handler; the TRUNCATE below runs with none.
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=READ_WAIT, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_autocheckpoint=0")  # closing this connection must not checkpoint inside a pass
        frame_bytes = conn.execute("PRAGMA page_size").fetchone()[0] + FRAME_HEADER
        frames, copied = _passive(conn)
        mode = "PASSIVE"
        over = force or wal_bytes(path) > hard_bytes
        if frames != copied:  # a reader holds frames back: nothing more to do until it is done
            if over:
                _warn(path, "WAL of %s over %d bytes and still read: checkpointing once the readers are done",
                      path, hard_bytes)  # fmt: skip
            return Pass(mode, wal_bytes(path))
        if not over and WAL_HEADER + frames * frame_bytes <= restart_bytes:
            return Pass(mode, wal_bytes(path))
        lock = lock_for_path(path)
        if not lock.try_acquire(LOCK_WAIT):
            return Pass(mode, wal_bytes(path))
        try:
            _passive(conn)  # the frames this process's writers added since: a short copy
            mode = "QUIESCED"
            if over:
                mode = "TRUNCATE"
                conn.execute("PRAGMA busy_timeout=0")  # never wait while holding SQLite's write lock
                if conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
                    _warn(path, "WAL of %s over %d bytes and in use: truncating next pass", path, hard_bytes)
        finally:
            lock.release()
    finally:
        conn.close()
    return Pass(mode, wal_bytes(path))


class Checkpointer:
    """The process's checkpoint thread over the registered database files (started on first register)."""

    def __init__(
        self, *, interval: float = INTERVAL, hard_bytes: int = HARD_BYTES, restart_bytes: int = RESTART_BYTES
    ) -> None:
        self.interval, self.hard_bytes, self.restart_bytes = interval, hard_bytes, restart_bytes
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
                done[path] = checkpoint_once(path, hard_bytes=self.hard_bytes, restart_bytes=self.restart_bytes)
            except sqlite3.Error as exc:  # locked (a pass never waits), file replaced by a restore: next pass
                _warn(path, "checkpoint of %s failed: %s", path, exc)
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
