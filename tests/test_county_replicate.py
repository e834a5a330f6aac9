"""The county benchmark's townships copied in SQL (benchmarks/county_replicate.py), on PostgreSQL only: the copy is
PostgreSQL's SQL (jsonb, regular expressions, ``session_replication_role``), as the county-scale target is.

The demo (青龙镇 and 白马镇) is built on the bulk path, its year sums counted, and 青龙镇 copied three times. Each
copy's annual report (the report is the truth) equals 青龙镇's for every year; the kept counters (``case_count``, the
year sums ``case_figure``/``place_figure``) equal a fresh count, before and after the engine writes to a copy; every
copied party's ``party_key`` rows are the ones the engine would write for it (a valid ID number among them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pg_cluster import PgCluster
from sqlalchemy import Engine, bindparam, func, select, text, update

from benchmarks.county_dataset import build
from benchmarks.county_replicate import replicate
from mediation_flow.accounts.users import actor_for
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.people import party_key_rows, village_id_of, village_ids
from mediation_flow.stats.dashboard_cases import contributions, rules_key
from mediation_flow.stats.service import annual_report
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.tables import (
    CASE_COUNTS,
    CASE_FIGURES,
    CASES,
    EVENTS,
    FIGURE_STATE,
    PARTIES,
    PARTY_KEYS,
    PLACE_FIGURES,
    USERS,
)
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.year_sums import CHANGED, refreshed

NOW = datetime(2026, 3, 10, 9, 15, tzinfo=UTC)
COPIES = ["500101003", "500101004", "500101005"]


@pytest.fixture
def county(pg_cluster: PgCluster) -> Iterator[Engine]:
    engine = make_engine(pg_cluster.create_database(f"t_{uuid.uuid4().hex[:16]}"))
    upgrade(engine)
    build(engine, 2, 300, now=NOW)
    refreshed(engine, "/", 2025, contributions, rules_key())
    replicate(engine, [3, 4, 5])
    yield engine
    engine.dispose()


def _figures(engine: Engine, code: str, year: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report's figures, a place's code told relative to the township (a village is 500101NNN001 in each)."""
    figures = annual_report(engine, actor=None, code=code, year=year, as_of=NOW).figures
    relative = {
        name: [{**row, "key": str(row["key"]).replace(code, "TOWNSHIP", 1)} for row in rows]
        for name, rows in figures.breakdowns.items()
    }
    return figures.values, relative


def _kept(engine: Engine) -> tuple[set[Any], set[Any], set[Any]]:
    with engine.connect() as conn:
        return (
            {tuple(r) for r in conn.execute(select(CASE_COUNTS)) if r.n},  # a key counted down to 0 stays at 0
            set(conn.execute(select(CASE_FIGURES)).all()),
            # not the marks (year_sums.CHANGED): they count the counts again, which a fresh count does not repeat
            set(conn.execute(select(PLACE_FIGURES).where(PLACE_FIGURES.c.figure != CHANGED)).all()),
        )


def _fresh(engine: Engine) -> tuple[set[Any], set[Any], set[Any]]:
    """``case_count`` grouped afresh from the cases, and the year sums counted again from the events."""
    with engine.begin() as conn:
        due = func.coalesce(CASES.c.due_date, text("DATE '9999-12-31'"))
        keys = (CASES.c.state, CASES.c.jurisdiction_id, CASES.c.level, due)
        counts = set(conn.execute(select(*keys, func.count()).group_by(*keys)).all())
        conn.execute(update(FIGURE_STATE).values(rules=""))  # the next refresh counts every case again
    refreshed(engine, "/", 2025, contributions, rules_key())
    _, figures, sums = _kept(engine)
    return counts, figures, sums


def test_each_copy_reports_what_the_source_township_reports(county: Engine) -> None:
    with county.connect() as conn:
        towns = dict(conn.execute(select(JUR.c.code, JUR.c.name).where(JUR.c.level == "township")).all())
        per_town = dict(
            conn.execute(
                select(JUR.c.code, func.count(CASES.c.id))
                .select_from(CASES.join(JUR, JUR.c.id == CASES.c.township_id))
                .group_by(JUR.c.code)
            ).all()
        )
        numbers = conn.execute(
            select(CASES.c.number).where(CASES.c.id == select(func.max(CASES.c.id)).scalar_subquery())
        )
    assert towns["500101005"] == "第5镇" and numbers.scalar_one().startswith("（") and per_town["500101001"] > 200
    assert [per_town[c] for c in COPIES] == [per_town["500101001"]] * 3
    for year in (2023, 2024, 2025, 2026):
        source = _figures(county, "500101001", year)
        assert source[0]["taken_in"] > 0
        for code in COPIES:
            assert _figures(county, code, year) == source, (code, year)
        county_values = _figures(county, "500101", year)[0]
        one, second = _figures(county, "500101001", year)[0], _figures(county, "500101002", year)[0]
        assert county_values["taken_in"] == 4 * one["taken_in"] + second["taken_in"]


def test_kept_counters_equal_a_fresh_count_before_and_after_a_write(county: Engine) -> None:
    kept = _kept(county)
    assert all(kept) and kept == _fresh(county)
    with county.connect() as conn:
        supervisor = conn.execute(select(USERS.c.id).where(USERS.c.username == "sifasuo_004")).scalar_one()
        actor = actor_for(conn, supervisor)
        town = conn.execute(select(JUR.c.id).where(JUR.c.code == "500101004")).scalar_one()
        mediating = conn.execute(
            select(CASES.c.id, CASES.c.version).where(CASES.c.township_id == town, CASES.c.state == "mediating")
        ).first()
    assert actor is not None and mediating is not None
    session = {"session_date": "2026-03-09", "content": "背靠背调解"}
    apply_trigger(county, case_id=mediating.id, actor=actor, trigger="record_session",
                  expected_version=mediating.version, data=session, now=NOW)  # fmt: skip
    new = register_case(county, actor=actor, now=NOW, intake={
        "title": "张三与李四相邻通行纠纷", "category": "neighbourhood", "source": "initiative",
        "summary": "两户因院坝通道宽度发生争执。", "people_involved": 2, "jurisdiction_code": "500101004001001",
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
    })  # fmt: skip
    with county.connect() as conn:
        assert new > conn.execute(select(func.max(CASES.c.id)).where(CASES.c.id != new)).scalar_one()
        number = conn.execute(select(CASES.c.number).where(CASES.c.id == new)).scalar_one()
        assert "4镇人调字" in number
        assert conn.execute(select(func.count()).select_from(EVENTS).where(EVENTS.c.case_id == mediating.id)).scalar()
    refreshed(county, "/", 2026, contributions, rules_key())
    assert _kept(county) == _fresh(county)


def test_copied_people_are_the_copys_own(county: Engine) -> None:
    """The party keys are the engine's for the copied parties; each assignment names the copy's own mediator."""
    assigned = text(
        "SELECT c.township_id = a.jurisdiction_id AND c.township_id = m.jurisdiction_id, count(*)"
        " FROM case_event e JOIN dispute_case c ON c.id = e.case_id"
        " JOIN app_user a ON a.id = (e.data->>'mediator_id')::integer JOIN app_user m ON m.id = c.mediator_id"
        " WHERE e.trigger = 'assign' AND c.township_id IN (SELECT id FROM jurisdiction WHERE code IN :codes)"
        " GROUP BY 1"
    ).bindparams(bindparam("codes", expanding=True))
    with county.connect() as conn:
        assert dict(conn.execute(assigned, {"codes": COPIES}).all()).keys() == {True}
        villages = village_ids(conn)
        query = select(PARTIES, CASES.c.jurisdiction_path, CASES.c.registered_at).select_from(
            PARTIES.join(CASES, CASES.c.id == PARTIES.c.case_id)
        )
        want = set()
        for party in map(dict, conn.execute(query).mappings()):
            for row in party_key_rows(party, village_id_of(party["jurisdiction_path"], villages)):
                want.add(tuple(row.values()))
        columns = ("case_id", "party_id", "kind", "value", "village_id", "jurisdiction_path", "registered_at")
        got = set(conn.execute(select(*(PARTY_KEYS.c[c] for c in columns))).all())
        ids = conn.execute(select(PARTY_KEYS.c.value).where(PARTY_KEYS.c.kind == "id")).scalars().all()
    assert got == want
    assert len(set(ids)) > len(ids) // 4 * 3  # the copies' ID numbers are not the source's
