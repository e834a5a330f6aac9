"""Reuse the report benchmark's big databases between runs (building 1,000,000 cases takes ~15 min).

With ``MF_BENCH_CACHE=<dir>`` (or ``--cache DIR``) the SQLite database lives in ``<dir>`` and PostgreSQL
runs on a cluster whose data directory is ``<dir>/pg`` (started for the run, stopped after it). A database
records what it holds in the table ``bench_dataset`` once it is complete; one without that row (an
interrupted build) or with other sizes is rebuilt. Without a cache everything is throwaway, as before.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pg_cluster import _child_env, _initdb, _run_as_kwargs, find_pg_bin
from sqlalchemy import Engine, text

from benchmarks.common import migrated_database, prepared_database
from benchmarks.report_dataset import build_cases, build_county
from mediation_flow.store.db import make_engine

CACHE_ENV = "MF_BENCH_CACHE"
MARKER = "CREATE TABLE IF NOT EXISTS bench_dataset (n_cases INTEGER, townships INTEGER, n_events INTEGER, build_s REAL)"
PG_SETTINGS = {"listen_addresses": "", "shared_buffers": "128MB", "max_connections": "200", "fsync": "on"}
PG_PORT = 54329


def cache_dir(explicit: str | None = None) -> Path | None:
    value = explicit or os.environ.get(CACHE_ENV, "").strip()
    return Path(value).resolve() if value else None


@dataclass
class Dataset:
    engine: Engine
    code: str  # the measured township (the second one; the first is the demo township)
    n_events: int
    build_s: float
    reused: bool


def _marker(engine: Engine) -> tuple[int, int, int, float] | None:
    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT n_cases, townships, n_events, build_s FROM bench_dataset")).first()
        except Exception:  # no table yet: not built
            return None
    return tuple(row) if row else None  # type: ignore[return-value]


def open_dataset(url: str, n_cases: int, townships: int, *, fresh: bool) -> Dataset:
    """The dataset at ``url``: reused when complete with these sizes (and not ``fresh``), else built."""
    sqlite = url.startswith("sqlite")
    if not fresh:
        engine = migrated_database(url, synchronous="OFF") if sqlite else migrated_database(url)
        found = _marker(engine)
        if found and found[:2] == (n_cases, townships):
            return Dataset(engine, f"500101{2:03d}", found[2], found[3], reused=True)
        engine.dispose()
        raise LookupError("not built")
    engine, town = prepared_database(url, synchronous="OFF") if sqlite else prepared_database(url)
    county = build_county(engine, town, townships)
    started = time.perf_counter()
    n_events = build_cases(engine, county, n_cases)
    build_s = time.perf_counter() - started
    with engine.begin() as conn:
        if not sqlite:
            conn.execute(text("ANALYZE"))
        conn.execute(text(MARKER))
        conn.execute(text("DELETE FROM bench_dataset"))
        conn.execute(
            text("INSERT INTO bench_dataset VALUES (:n, :t, :e, :b)"),
            {"n": n_cases, "t": townships, "e": n_events, "b": build_s},
        )
    return Dataset(engine, county.townships[1].code, n_events, build_s, reused=False)


def sqlite_dataset(directory: Path, n_cases: int, townships: int) -> Dataset:
    path = directory / f"report-{n_cases}-{townships}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        try:
            return open_dataset(url, n_cases, townships, fresh=False)
        except LookupError:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    return open_dataset(url, n_cases, townships, fresh=True)


@contextmanager
def persistent_pg(directory: Path) -> Iterator[str]:
    """A PostgreSQL server on the data directory ``<directory>/pg`` (initdb the first time); yields the URL
    of its ``postgres`` database; the server is stopped afterwards, its data kept."""
    initdb, pg_ctl = find_pg_bin("initdb"), find_pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("PostgreSQL server binaries not found")
    run_as = _run_as_kwargs()
    base = directory / "pg"
    data = base / "data"
    base.mkdir(parents=True, exist_ok=True)
    if run_as:
        os.chown(base, run_as["user"], run_as["group"])
    if not (data / "PG_VERSION").exists():
        _initdb(initdb, data, run_as)
    opts = [f"-p {PG_PORT}", f"-k {shlex.quote(str(base))}"]
    opts += [f"-c {shlex.quote(f'{k}={v}')}" for k, v in PG_SETTINGS.items()]
    ctl = [pg_ctl, "-D", str(data), "-w", "-t", "120"]
    url = f"postgresql+psycopg://postgres@/postgres?host={base}&port={PG_PORT}"
    if subprocess.run([*ctl, "status"], env=_child_env(), capture_output=True, **run_as).returncode == 0:
        yield url  # already running (another run started it and will stop it)
        return
    subprocess.run(
        [*ctl, "-l", str(base / "log"), "-o", " ".join(opts), "start"], env=_child_env(), check=True, **run_as
    )
    try:
        yield url
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], env=_child_env(), check=False, **run_as)


def pg_dataset(admin_url: str, n_cases: int, townships: int) -> Dataset:
    name = f"mf_report_{n_cases}_{townships}"
    url = admin_url.replace("/postgres?", f"/{name}?")
    admin = make_engine(admin_url)
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists:
            try:
                return open_dataset(url, n_cases, townships, fresh=False)
            except LookupError:
                pass
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return open_dataset(url, n_cases, townships, fresh=True)
