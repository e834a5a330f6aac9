"""Shared pieces of the benchmarks: databases to measure on, timing, the table format, the machine."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from factories import Town, make_town
from pg_cluster import PgCluster, PgUnavailable
from sqlalchemy import Connection, Engine

from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.unchanged import renew_stamps

ROOT = Path(__file__).resolve().parents[1]

__all__ = [
    "PgCluster",
    "PgUnavailable",
    "Table",
    "Town",
    "bulk_load",
    "fmt_rate",
    "machine_info",
    "median",
    "migrated_database",
    "pg_cluster",
    "prepared_database",
    "timed",
]


@dataclass
class Table:
    """One benchmark's result: a markdown table plus notes (targets met or missed, and why)."""

    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.headers) + " |"]
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of ``fn`` takes (monotonic, high resolution)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def migrated_database(url: str, *, synchronous: str | None = None) -> Engine:
    """A migrated, empty database (reference data and workflow versions loaded)."""
    engine = make_engine(url, synchronous=synchronous) if url.startswith("sqlite") else make_engine(url)
    upgrade(engine)
    return engine


def prepared_database(url: str, *, synchronous: str | None = None) -> tuple[Engine, Town]:
    """A migrated database with the demo township and one user per role (tests/factories.py)."""
    engine = migrated_database(url, synchronous=synchronous)
    return engine, make_town(engine)


_SQLITE_INDEXES = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({})"
_PG_INDEXES = """SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    WHERE t.relname IN ({}) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"""


@contextmanager
def bulk_load(engine: Engine, tables: tuple[str, ...]) -> Iterator[Connection]:
    """One connection and transaction for writing many rows into ``tables`` of a fresh data set, made fast
    the way a bulk load is: their secondary indexes dropped and created again from their own stored DDL
    after the load (one sort each instead of a B-tree insert per row; primary keys and unique constraints
    stay), foreign keys not checked row by row (SQLite: ``foreign_keys`` off; PostgreSQL: replica role),
    SQLite with no rollback journal and a 1 GB page cache; then ``ANALYZE`` (PostgreSQL: ``VACUUM
    ANALYZE``, so that its visibility map is set, as autovacuum would have it in a running system, and
    index-only scans read no table pages). Benchmarks only: a failed load leaves the database unusable.
    Triggers still fire on SQLite (``case_count`` stays right, the dashboard's kept sums are
    queued)."""
    sqlite = engine.dialect.name == "sqlite"
    engine.dispose()  # no other connection open: SQLite cannot leave WAL while one is
    names = ", ".join(f"'{t}'" for t in tables)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        indexes = conn.exec_driver_sql((_SQLITE_INDEXES if sqlite else _PG_INDEXES).format(names)).all()
        conn.rollback()
        if sqlite:  # autocommit driver connection: pragmas outside any transaction
            for pragma in ("foreign_keys=OFF", "journal_mode=OFF", "cache_size=-1000000"):
                _pragma(raw, pragma)
        with conn.begin():
            if not sqlite:
                conn.exec_driver_sql("SET session_replication_role = replica")
            for name, _ in indexes:
                conn.exec_driver_sql(f"DROP INDEX {name}")
            yield conn
            for _, ddl in indexes:
                conn.exec_driver_sql(ddl)
            if not sqlite:
                conn.exec_driver_sql("SET session_replication_role = DEFAULT")
                # the replica role silenced the triggers too: the dashboard's kept sums count every case again
                conn.exec_driver_sql("UPDATE figure_state SET rules = ''")
                # and the stamps of slowly changing data (store.unchanged.TOPICS): renewed, as a trigger would
                renew_stamps(conn)
        if sqlite:
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "cache_size=-2000"):
                _pragma(raw, pragma)
        if sqlite:
            with conn.begin():
                conn.exec_driver_sql("ANALYZE")
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def _pragma(raw: Any, pragma: str, wait: float = 10.0) -> None:
    """Run a pragma, again while the database is locked: leaving WAL needs the file to itself, and the
    process's checkpoint thread (``store/checkpoint.py``) opens it for a moment every quarter second (a
    smoke run in CI failed on that race)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            raw.execute(f"PRAGMA {pragma}")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def pg_cluster() -> Iterator[PgCluster | None]:
    """A throwaway PostgreSQL cluster, or None (with a message) where PostgreSQL is not installed."""
    try:
        cluster = PgCluster.start()
    except PgUnavailable as exc:
        print(f"PostgreSQL unavailable, skipping its rows: {exc}", file=sys.stderr)
        yield None
        return
    try:
        yield cluster
    finally:
        cluster.stop()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() or "-"
    except OSError:
        return "-"


def machine_info(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Where and with what the figures were measured."""
    info = {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "commit": _git_commit(),
    }
    for dist in ("sqlalchemy", "sqlmodel", "transitions", "psycopg", "fastapi", "uvicorn", "httpx"):
        info[dist] = _version(dist)
    info.update(extra or {})
    return info
