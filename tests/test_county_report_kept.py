"""The county's annual report keeps the tally of each place (grid, village, township, the county itself) until a
case of that place's year changes (``year_sums.CHANGED``), on SQLite and PostgreSQL: after each kind of change (a
step back-dated into the year, a step in a later year on a case of the year, a new case of another year, a
correction that moves a case to another village, one that dates a case's registration into the year before, a
village put under the other township) the report equals a fresh count of the county and of each township, and only
the places of the changed cases have their year counted again; what one process counted, another reads from the
database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from factories import intake
from report_cases import at
from sqlalchemy import Engine, select, update
from test_county import demo_actor

from mediation_flow.accounts.admin_log import administer
from mediation_flow.accounts.policy import CONSOLE
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.demo import load_demo
from mediation_flow.places import changes
from mediation_flow.stats import county_report as county_report_module
from mediation_flow.stats import kept_figures
from mediation_flow.stats.county_report import county_report
from mediation_flow.stats.dashboard import clear_cache
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.scope import Scope, year_scope
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import CASES, KEPT_PARTS

NOW = datetime(2026, 3, 10, 9, 15, tzinfo=UTC)
YEAR = 2025
QINGLONG, BAIMA = "500101001", "500101002"
QINGLONG_GRID, BAIMA_GRID = "500101001001001", "500101002001001"


@pytest.fixture
def demo(engine: Engine) -> Engine:
    load_demo(engine, cases=80, now=NOW, chunk=40)
    clear_cache()
    return engine


@pytest.fixture
def folded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The codes of the places whose year the county report counts (a pass over the county's year or over a
    township's), in order, as the real count runs."""
    seen: list[str] = []
    count = kept_figures.contributions

    def counting(conn: Any, scope: Scope) -> Any:
        seen.append(scope.place.code)
        return count(conn, scope)

    monkeypatch.setattr(kept_figures, "contributions", counting)
    return seen


def report_is_fresh(engine: Engine, year: int = YEAR) -> None:
    xianju = demo_actor(engine, "xianju")
    report = county_report(engine, actor=xianju, code="500101", year=year)
    with engine.connect() as conn:
        scope = year_scope(conn, code="500101", year=year, as_of=report.figures.scope.as_of)
        assert report.figures.to_dict() == compute_figures(conn, scope).to_dict()
        for code in (QINGLONG, BAIMA):
            own = compute_figures(conn, year_scope(conn, code=code, year=year, as_of=scope.as_of))
            name = own.scope.place.name
            paragraph = next(p for p in report.text.paragraphs if p.startswith(f"{name}："))
            county_report_module.render(own)  # the township's paragraph is written from its own figures
            assert paragraph == county_report_module.township_paragraph(
                name, county_report_module.render(own).paragraphs, year
            )


def step(engine: Engine, case_id: int, trigger: str, data: dict[str, Any], effective_at: datetime) -> None:
    with engine.connect() as conn:
        version = conn.execute(select(CASES.c.version).where(CASES.c.id == case_id)).scalar_one()
    apply_trigger(
        engine, case_id=case_id, actor=demo_actor(engine, "xianju"), trigger=trigger, expected_version=version,
        data=data, effective_at=effective_at, now=NOW,
    )  # fmt: skip


def new_case(engine: Engine, grid: str, effective_at: datetime) -> int:
    return register_case(
        engine, actor=demo_actor(engine, "xianju"), intake=intake(jurisdiction_code=grid), effective_at=effective_at,
        now=NOW,
    )  # fmt: skip


def test_kept_tallies_follow_every_change(demo: Engine, folded: list[str]) -> None:
    qinglong_case, baima_case = (
        new_case(demo, QINGLONG_GRID, at(2025, 5, 10)),
        new_case(demo, BAIMA_GRID, at(2025, 6, 1)),
    )
    report_is_fresh(demo)
    assert folded == ["500101"]  # the first report: one pass over the county's year
    folded.clear()
    report_is_fresh(demo)
    assert folded == []  # nothing changed: every tally kept
    kept_figures.clear()  # as another app process finds them, or this one after a restart: in the database
    report_is_fresh(demo)
    assert folded == []
    with write_transaction(demo) as conn:  # as a release with other figure rules would find them
        conn.execute(update(KEPT_PARTS).values(rules="an older release"))
    kept_figures.clear()
    report_is_fresh(demo)
    assert folded == ["500101"]
    folded.clear()

    # A step back-dated into 2025 on a 2025 case of 白马镇: only 白马镇's year is counted again.
    step(demo, baima_case, "add_note", {"text": "补记走访情况"}, at(2025, 12, 30))
    report_is_fresh(demo)
    assert folded == [BAIMA_GRID]
    folded.clear()
    new_case(demo, BAIMA_GRID, at(2025, 11, 1))  # and a new 2025 case: 白马镇's figures change
    report_is_fresh(demo)
    assert folded == [BAIMA_GRID]
    folded.clear()

    # A 2026 step on a 2025 case of 青龙镇 may change its 2025 figures (its clocks): 青龙镇 again.
    step(demo, qinglong_case, "add_note", {"text": "当事人来电"}, at(2026, 3, 1))
    report_is_fresh(demo)
    assert folded == [QINGLONG_GRID]
    folded.clear()

    # A case registered in 2026 in 白马镇 has nothing to do with 2025: nothing counted again.
    new_case(demo, BAIMA_GRID, at(2026, 3, 2))
    report_is_fresh(demo)
    assert folded == []
    report_is_fresh(demo, 2026)  # its own year's report counts it
    folded.clear()

    # A correction moves a 2025 case of 青龙镇 to another of its villages: 青龙镇 again.
    moved = {"reason": "与纸质台账核对后更正", "what": "village", "value": "500101001002"}
    step(demo, qinglong_case, "correct", moved, NOW)
    report_is_fresh(demo)
    assert sorted(folded) == [QINGLONG_GRID, "500101001002"]
    folded.clear()

    # A correction dates 白马镇's 2025 case's registration back into 2024 (a local-time year's last hour):
    # it leaves 2025's figures (白马镇 counted again) and enters 2024's.
    report_is_fresh(demo, 2024)
    folded.clear()
    to_2024 = {"reason": "登记日期录错", "what": "event_time", "event": 1, "value": "2024-12-31T23:30"}
    step(demo, baima_case, "correct", to_2024, NOW)
    report_is_fresh(demo)
    assert folded == [BAIMA_GRID]
    folded.clear()
    report_is_fresh(demo, 2024)
    assert folded == [BAIMA_GRID]
    folded.clear()

    # A village of 青龙镇 is put under 白马镇 (its cases go with it): both townships counted again.
    administer(demo, CONSOLE, lambda conn, a: changes.move_place(conn, a, code="500101001002", parent_code=BAIMA))
    report_is_fresh(demo)
    assert folded and all(code.startswith("500101001002") for code in folded), folded  # its places, new paths
