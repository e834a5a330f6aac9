"""The subtree condition (mediation_flow.places.subtree): the same rows as a prefix match on both back ends, and on
SQLite a plan that searches the path index instead of scanning."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert, select

from mediation_flow.places.subtree import in_subtree, path_upper
from mediation_flow.store.models import Case

PATHS = ["/1/", "/1/2/", "/1/2/3/", "/1/2/30/", "/1/2/3/4/", "/1/20/", "/1/3/", "/10/", "/1/2/31/5/"]


@pytest.fixture
def paths(engine: Engine) -> Table:
    table = Table("subtree_probe", MetaData(), Column("id", Integer, primary_key=True), Column("path", String(255)))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i, "path": p} for i, p in enumerate(PATHS)])
    yield table
    table.drop(engine)


@pytest.mark.parametrize("root", ["/1/", "/1/2/", "/1/2/3/", "/1/2/30/", "/10/", "/9/"])
@pytest.mark.parametrize("use_index", [True, False])
def test_same_rows_as_a_prefix_match(engine: Engine, paths: Table, root: str, use_index: bool) -> None:
    with engine.connect() as conn:
        got = conn.execute(select(paths.c.path).where(in_subtree(paths.c.path, root, use_index=use_index))).scalars()
        assert sorted(got) == sorted(p for p in PATHS if p.startswith(root))


def test_upper_bound_and_bad_path() -> None:
    assert path_upper("/1/4/") == "/1/40"
    with pytest.raises(ValueError):
        path_upper("/1/4")


def test_sqlite_searches_the_path_index(sqlite_engine: Engine) -> None:
    cases = Case.__table__
    query = select(cases.c.id).where(in_subtree(cases.c.jurisdiction_path, "/1/2/"), cases.c.state == "mediating")
    sql = str(query.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
    with sqlite_engine.connect() as conn:
        plan = " ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert "LIKE" not in sql
    assert "jurisdiction_path>? AND jurisdiction_path<?" in plan, plan
