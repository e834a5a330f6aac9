"""Keep ``bench_people``'s data set between runs (the 1,000,000-case build is minutes of CPU).

With ``MF_BENCH_CACHE=<dir>`` (or ``--cache DIR``) the SQLite data set is ``<dir>/people-N.db`` and the
PostgreSQL one the database ``mf_people_N`` of a server on ``<dir>/pg`` (``report_cache.persistent_pg``).
A data set records its size in ``bench_people_dataset`` once complete; one without that row (an interrupted
build) is built again. PostgreSQL's is copied from the SQLite one when that exists (the same cases, parties
and keys, row for row; ``COPY``, indexes built after it as ``common.bulk_load`` does), which takes a fraction
of a build. Without a cache everything is throwaway, as before.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url, select, text

from benchmarks.common import Town, bulk_load, migrated_database, prepared_database
from mediation_flow.accounts.users import actor_for
from mediation_flow.demo import DemoTownship
from mediation_flow.places.jurisdictions import places_within
from mediation_flow.store.db import make_engine
from mediation_flow.store.tables import JURISDICTIONS, PARTIES, USERS

MARKER = "CREATE TABLE IF NOT EXISTS bench_people_dataset (n_cases INTEGER, build_s REAL)"
TABLES = ("dispute_case", "party", "party_key")
Build = Callable[[Engine, Town, int], list[dict[str, str]]]


def _complete(engine: Engine, n_cases: int) -> bool:
    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT n_cases FROM bench_people_dataset")).first()
        except Exception:  # no table yet: not built
            return False
    return row is not None and row[0] == n_cases


def _mark(engine: Engine, n_cases: int, build_s: float) -> None:
    with engine.begin() as conn:
        conn.execute(text(MARKER))
        conn.execute(text("DELETE FROM bench_people_dataset"))
        conn.execute(text("INSERT INTO bench_people_dataset VALUES (:n, :b)"), {"n": n_cases, "b": build_s})


def kept_town(engine: Engine) -> Town:
    """The township and users ``make_town`` wrote into a kept data set, read back (places in tree order, as
    ``build_township`` made them)."""
    with engine.connect() as conn:
        township = places_within(conn, None, ("township",))[0]
        county = places_within(conn, None, ("county",))[0]
        villages = places_within(conn, township.path, ("village",))
        grids = places_within(conn, township.path, ("grid",))
        actors = {}
        for user in conn.execute(select(USERS.c.id, USERS.c.username)):
            found = actor_for(conn, user.id)
            if found is not None:
                actors[user.username] = found
    return Town(DemoTownship(county, township, villages, grids, {}), actors)


def kept_people(engine: Engine) -> list[dict[str, str]]:
    """The people of the data set in the order ``build`` first wrote them (each once): its returned list."""
    query = select(PARTIES.c.name, PARTIES.c.id_number, PARTIES.c.phone).order_by(PARTIES.c.id)
    with engine.connect() as conn:
        seen = dict.fromkeys(tuple(r) for r in conn.execute(query))
    return [{"name": n, "id_number": i, "phone": p} for n, i, p in seen]


def _admin(url: str) -> Engine:
    return make_engine(make_url(url).set(database="postgres").render_as_string(hide_password=False))


def _exists(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database or "").exists()
    admin = _admin(url)
    try:
        with admin.connect() as conn:
            query = text("SELECT 1 FROM pg_database WHERE datname = :n")
            return conn.execute(query, {"n": parsed.database}).first() is not None
    finally:
        admin.dispose()


def _fresh(url: str) -> None:
    """Remove an incomplete data set at ``url``: the SQLite file, or the PostgreSQL database (made again)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    admin = _admin(url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.dispose()


def dataset(url: str, n_cases: int, build: Build, copy_from: Path | None = None) -> tuple[Engine, Town, list[Any], str]:
    """The data set at ``url``: kept (complete, this size), else made afresh: copied from the SQLite file
    ``copy_from`` (PostgreSQL) or built; with a note saying which and how long it took."""
    sqlite = url.startswith("sqlite")
    if _exists(url):
        engine = migrated_database(url, synchronous="OFF") if sqlite else migrated_database(url)
        if _complete(engine, n_cases):
            return engine, kept_town(engine), kept_people(engine), f"reused the kept data set of {n_cases:,} cases"
        engine.dispose()
    _fresh(url)
    engine, town = prepared_database(url, synchronous="OFF") if sqlite else prepared_database(url)
    start = time.perf_counter()
    if copy_from is not None and not sqlite:
        _copy(copy_from, engine)
        people, how = kept_people(engine), f"copied from {copy_from.name}"
    else:
        people, how = build(engine, town, n_cases), "built"
    seconds = time.perf_counter() - start
    _mark(engine, n_cases, seconds)
    return engine, town, people, f"{how}: {n_cases:,} cases, {2 * n_cases:,} parties and their keys in {seconds:.0f} s"


def _same_ids(source: sqlite3.Connection, engine: Engine) -> None:
    """The copy keeps ids: the target's places and users must have the source's (both made by make_town)."""
    for table, key in ((JURISDICTIONS, "code"), (USERS, "username")):
        with engine.connect() as conn:
            here = {tuple(r) for r in conn.execute(select(table.c[key], table.c.id))}
        there = set(source.execute(f"SELECT {key}, id FROM {table.name}").fetchall())
        if here != there:
            raise RuntimeError(f"{table.name}: ids differ between the SQLite data set and the new database")


def _copy(path: Path, engine: Engine) -> None:
    """The SQLite data set's cases, parties and keys into the (migrated, town-made) PostgreSQL database at
    ``engine``, by ``COPY`` inside ``bulk_load`` (indexes dropped and built after). SQLite stores timestamps
    as UTC text without a zone, so the session's zone is UTC while copying."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        _same_ids(source, engine)
        with bulk_load(engine, TABLES) as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            for table in TABLES:
                columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
                names = ", ".join(columns)
                rows = source.execute(f"SELECT {names} FROM {table} ORDER BY id")
                with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
    finally:
        source.close()
