"""A tiny run of every benchmark (``--quick`` sizes; no timing assertions), and proof that the contenders
the engine is compared with do the same work: the same rows, which the consistency checks accept."""

from __future__ import annotations

import importlib

import pytest
from factories import happy_path, make_town
from sqlalchemy import delete, func, select

from benchmarks import bench_engine, bench_people, people_dataset
from benchmarks.__main__ import discover, main
from benchmarks.common import Table
from mediation_flow.cases.checks import check_all
from mediation_flow.cases.people import backfill_party_keys
from mediation_flow.store.db import write_transaction
from mediation_flow.store.models import Case, CaseEvent, Party
from mediation_flow.store.tables import PARTY_KEYS

pytestmark = pytest.mark.slow
CASES, EVENTS = Case.__table__, CaseEvent.__table__


def _final(engine, case_id):
    with engine.connect() as conn:
        state = conn.execute(select(CASES.c.state, CASES.c.version).where(CASES.c.id == case_id)).one()
        events = conn.execute(select(func.count()).where(EVENTS.c.case_id == case_id)).scalar()
    return state.state, state.version, events


@pytest.mark.parametrize("sync", ["FULL", "NORMAL"])
def test_raw_and_textbook_contenders_write_what_the_engine_writes(sqlite_engine, sync):
    town = make_town(sqlite_engine)
    plan = bench_engine.capture_plan(sqlite_engine, town)
    assert [s.trigger for s in plan] == [t for t, _ in happy_path()]
    raw_id, textbook_id, engine_id = bench_engine.register_many(sqlite_engine, town, 3)
    path = sqlite_engine.url.database
    bench_engine.run_raw_sqlite(path, sync, plan, town["mediator"].id, [raw_id])
    bench_engine.run_textbook(sqlite_engine, town, plan, [textbook_id])
    bench_engine.run_engine(sqlite_engine, town, [engine_id])
    expected = ("resolved", 1 + len(happy_path()), 1 + len(happy_path()))
    assert _final(sqlite_engine, raw_id) == _final(sqlite_engine, textbook_id) == _final(sqlite_engine, engine_id)
    assert _final(sqlite_engine, engine_id) == expected
    checked, problems = check_all(sqlite_engine)
    assert checked == 4 and problems == []  # the plan's own case and the three above, all consistent


def test_raw_sqlite_contender_refuses_a_stale_version(sqlite_engine):
    town = make_town(sqlite_engine)
    plan = bench_engine.capture_plan(sqlite_engine, town)
    (case_id,) = bench_engine.register_many(sqlite_engine, town, 1)
    bench_engine.run_raw_sqlite(sqlite_engine.url.database, "NORMAL", plan, town["mediator"].id, [case_id])
    with pytest.raises(RuntimeError, match="stale version"):
        bench_engine.run_raw_sqlite(sqlite_engine.url.database, "NORMAL", plan, town["mediator"].id, [case_id])


@pytest.mark.parametrize("name", discover())
def test_each_benchmark_runs_small(name):
    module = importlib.import_module(f"benchmarks.bench_{name}")
    tables = module.run(quick=True)
    assert tables and all(isinstance(t, Table) and t.rows for t in tables)
    for table in tables:
        assert all(len(row) == len(table.headers) for row in table.rows), table.title
        if "errors" in table.headers:
            column = table.headers.index("errors")
            assert {row[column] for row in table.rows} == {"0"}, table.markdown()


def test_runner_writes_the_table_with_machine_and_versions(tmp_path):
    output = tmp_path / "results.md"
    assert main(["--quick", "--only", "engine", "--output", str(output)]) == 0
    text = output.read_text("utf-8")
    assert "cores" in text and "sqlalchemy" in text and "transitions" in text
    assert "| SQLite FULL | engine |" in text and "| SQLite NORMAL | raw sqlite3 |" in text
    assert "textbook" in text


def test_runner_rejects_an_unknown_benchmark(capsys):
    with pytest.raises(SystemExit):
        main(["--only", "nonexistent"])
    assert "unknown benchmark" in capsys.readouterr().err


def _index_names(conn):
    if conn.dialect.name == "sqlite":
        return {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {r[0] for r in conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}


def test_people_benchmark_load_writes_the_key_writers_keys_and_keeps_the_schema(engine, town):
    """The bulk-loaded data set is what the product would store: every ``party_key`` row equal to what
    ``backfill_party_keys`` (``write_party_keys``) writes for the same cases, every index back, foreign keys
    sound, SQLite back in WAL."""
    with engine.connect() as conn:
        indexes = _index_names(conn)
    people = bench_people.build(engine, town, 300)
    assert len(people) > 300 and len({p["id_number"] for p in people}) == len(people)  # one ID number each
    columns = [c for c in PARTY_KEYS.c if c.name != "id"]
    with engine.connect() as conn:
        loaded = sorted(tuple(r) for r in conn.execute(select(*columns)))
        assert _index_names(conn) == indexes
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert len(loaded) == 300 * 2 * 3
    with write_transaction(engine) as conn:
        conn.execute(delete(PARTY_KEYS))
    assert backfill_party_keys(engine) == (300, len(loaded))
    with engine.connect() as conn:
        assert sorted(tuple(r) for r in conn.execute(select(*columns))) == loaded


def test_people_data_set_is_kept_and_copied_row_for_row_to_postgresql(tmp_path, pg_cluster):
    """``MF_BENCH_CACHE``: a complete SQLite data set is reused with its town and people as built, and the
    PostgreSQL data set copied from it holds the same cases, parties and keys, with its indexes back."""
    file = tmp_path / "people-300.db"
    built, town, people, how = people_dataset.dataset(f"sqlite:///{file}", 300, bench_people.build)
    built.dispose()
    assert how.startswith("built")
    kept, kept_town, kept_people, how = people_dataset.dataset(f"sqlite:///{file}", 300, bench_people.build)
    assert how.startswith("reused") and kept_people == people
    assert kept_town["supervisor"] == town["supervisor"] and kept_town.places.grids == town.places.grids
    url = pg_cluster.create_database("people_copy")
    copied, _, copied_people, how = people_dataset.dataset(url, 300, bench_people.build, copy_from=file)
    assert how.startswith("copied") and copied_people == people

    def rows(engine, table):
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]

    for table in (CASES, Party.__table__, PARTY_KEYS):
        assert rows(kept, table) == rows(copied, table), table.name
    with copied.connect() as conn:
        assert {"ix_party_key_lookup", "ix_party_key_case"} <= _index_names(conn)
    kept.dispose()
    copied.dispose()
