"""Writers of two processes on one SQLite file (synchronous=FULL), as two app workers write: 2 processes × 4
threads, each thread writing short transactions back to back (read a count, insert a row, commit) for a few
seconds. Per commit, the time from wanting to write to the commit's end.

Contenders, in the same run, alternated round by round:

- **raw sqlite3**: one connection per thread, ``BEGIN IMMEDIATE`` with SQLite's 30 s busy timeout (the baseline:
  every waiter sleeps in SQLite's busy handler, 1, 2, 5 … 100 ms, not woken when the lock frees);
- **engine, process lock only**: the project's ``write_transaction`` with the process's ``WriterLock`` but without
  the turn among processes (``FileTurn`` switched off in that process: what main did before it);
- **engine, with the turn**: ``write_transaction`` as shipped (process lock, then ``flock`` on ``<db>-writer``).

Reports per contender the medians over the rounds of: commits, the two processes' shares, p50/p95/p99/max ms, and
the ratio to the raw baseline. Issue 15's transition POST tail came from the busy handler's sleeps.

What to expect (2026-12-03, quiet): writing back to back with nothing else to do is the worst case for the turn.
The processes then alternate at every commit, each handing over through the kernel, so the turn gives fewer
commits than the process lock alone (−30%), a higher p50 and p95, and a far lower p99 and maximum, with fair
shares. Served requests (``--only http``: ~5 ms of CPU each outside the write) are the case it is for: there
the turn cut the transition POST's p95 from 116–123 ms to 37–44 ms and raised its throughput.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from typing import Any

from benchmarks.common import Table

PROCESSES, THREADS = 2, 4
KINDS = ("raw", "lock", "turn")
LABELS = {"raw": "raw sqlite3 (busy handler)", "lock": "engine, process lock only", "turn": "engine, with the turn"}


def _raw_writer(path: str, stop_at: float, out: list[float]) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA synchronous=FULL")
    while time.monotonic() < stop_at:
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        n = conn.execute("SELECT count(*) FROM w").fetchone()[0]
        conn.execute("INSERT INTO w (n) VALUES (?)", (n,))
        conn.execute("COMMIT")
        out.append(time.perf_counter() - began)
    conn.close()


def _engine_writer(engine: Any, stop_at: float, out: list[float]) -> None:
    from sqlalchemy import text

    from mediation_flow.store.db import write_transaction

    while time.monotonic() < stop_at:
        began = time.perf_counter()
        with write_transaction(engine) as conn:
            n = conn.execute(text("SELECT count(*) FROM w")).scalar_one()
            conn.execute(text("INSERT INTO w (n) VALUES (:n)"), {"n": n})
        out.append(time.perf_counter() - began)


def _process(kind: str, path: str, start_at: float, seconds: float, results: Any) -> None:
    """One process's threads; puts its commit times (seconds) on ``results``."""
    engine = None
    if kind != "raw":
        from mediation_flow.store import writer_lock
        from mediation_flow.store.db import make_engine

        if kind == "lock":  # main before the turn: this process's lock only (benchmark baseline, not shipped)
            writer_lock.FileTurn.take = lambda self, timeout: True  # type: ignore[method-assign]
            writer_lock.FileTurn.give = lambda self: None  # type: ignore[method-assign]
        engine = make_engine(f"sqlite:///{path}", synchronous="FULL")
    times: list[list[float]] = [[] for _ in range(THREADS)]
    time.sleep(max(0.0, start_at - time.time()))
    stop_at = time.monotonic() + seconds
    target: Any = _raw_writer if engine is None else _engine_writer
    threads = [
        threading.Thread(target=target, args=(path if engine is None else engine, stop_at, times[i]))
        for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put([x for per in times for x in per])
    if engine is not None:
        engine.dispose()


def one_round(kind: str, seconds: float) -> list[list[float]]:
    """Commit times (seconds) of each process, for one contender on a fresh file."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="mf-bench-writers-") as workdir:
        path = os.path.join(workdir, "w.db")
        setup = sqlite3.connect(path, isolation_level=None)
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE w (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        setup.close()
        results = context.Queue()
        start_at = time.time() + 3.0  # both processes started and their engines made
        procs = [context.Process(target=_process, args=(kind, path, start_at, seconds, results)) for _ in range(2)]
        for p in procs:
            p.start()
        found = [results.get(timeout=seconds + 120) for _ in procs]
        for p in procs:
            p.join(30)
        return found


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def run(quick: bool = False, rounds: int | None = None, seconds: float | None = None) -> list[Table]:
    rounds = rounds or (1 if quick else 5)
    seconds = seconds or (0.5 if quick else 4.0)
    load_before = os.getloadavg()[0]
    stats: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
    for _ in range(rounds):
        for kind in KINDS:
            per_process = one_round(kind, seconds)
            every = [x for per in per_process for x in per]
            counts = sorted(len(per) for per in per_process)
            stats[kind].append(
                {
                    "commits": len(every),
                    "fair": counts[0] / counts[-1] if counts[-1] else 0.0,
                    "p50": _pct(every, 0.50),
                    "p95": _pct(every, 0.95),
                    "p99": _pct(every, 0.99),
                    "max": max(every) * 1000 if every else float("nan"),
                }
            )
    load_after = os.getloadavg()[0]

    def med(kind: str, key: str) -> float:
        return statistics.median(s[key] for s in stats[kind])

    table = Table(
        title=(
            f"Writers of {PROCESSES} processes × {THREADS} threads on one SQLite FULL file, {seconds:g} s a round, "
            f"medians of {rounds} rounds"
        ),
        headers=[
            "contender",
            "commits",
            "smaller ÷ larger process",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "commits ÷ raw",
            "p95 ÷ raw",
        ],
    )
    for kind in KINDS:
        table.rows.append(
            [
                LABELS[kind],
                f"{med(kind, 'commits'):,.0f}",
                f"{med(kind, 'fair'):.2f}",
                f"{med(kind, 'p50'):.1f}",
                f"{med(kind, 'p95'):.1f}",
                f"{med(kind, 'p99'):.1f}",
                f"{med(kind, 'max'):.0f}",
                f"{med(kind, 'commits') / med('raw', 'commits'):.2f}",
                f"{med(kind, 'p95') / med('raw', 'p95'):.2f}",
            ]
        )
    table.notes.append(f"load (1 min) {load_before:.2f} before, {load_after:.2f} after")
    table.notes.append(
        "each round per contender: "
        + "; ".join(f"{LABELS[k]}: " + ", ".join(f"{s['commits']:.0f}/{s['p95']:.1f}" for s in stats[k]) for k in KINDS)
        + " (commits/p95 ms)"
    )
    return [table]
