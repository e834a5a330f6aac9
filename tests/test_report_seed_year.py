"""The seed's year built through the engine, and the report that must say what the township wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import make_town
from report_cases import at, enter, resolved_path, seed_year

from mediation_flow.cases.engine import apply_trigger
from mediation_flow.stats.drilldown import case_ids
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import year_scope
from mediation_flow.store.models import Case


def report(engine, code, year=2023, as_of=None):
    with engine.connect() as conn:
        figures = compute_figures(conn, year_scope(conn, code=code, year=year, as_of=as_of))
    return figures, render(figures)


@pytest.mark.slow
def test_the_seed_year_says_122_122_100_percent_and_the_two_petitions(sqlite_engine):
    town = make_town(sqlite_engine)
    ids = seed_year(sqlite_engine, town, ordinary=120)
    assert len(ids) == 122
    figures, text = report(sqlite_engine, town.places.township.code)
    v = figures.values
    assert (v["taken_in"], v["mediated"], v["resolved"], v["success_rate"]) == (122, 122, 122, 100.0)
    assert (v["petitions_resolved"], v["conversions"], v["closed_resolved"]) == (2, 0, 122)
    assert figures.count("petitions_resolved", "repeat") == 1 and figures.count("petitions_resolved", "to_beijing") == 1
    first = text.paragraphs[0]
    assert "结合“清风茶室”先后开展人民调解122件次，成功化解矛盾纠纷122件，化解矛盾成功率高达100%" in first
    assert "全年无矛盾纠纷转化为重大事故" in first
    assert "成功化解1起写信重复访和1起购票进京访" in text.text
    assert "信访部门转办信访事项2件" in text.text
    assert "全年登记矛盾纠纷122件" in text.text
    with sqlite_engine.connect() as conn:
        scope = year_scope(conn, code=town.places.township.code, year=2023)
        assert case_ids(conn, scope, "resolved") == sorted(ids)
        assert case_ids(conn, scope, "petitions_by_channel", "repeat:letter") == [ids[-2]]


def test_a_small_seed_year_on_both_back_ends(engine, town):
    ids = seed_year(engine, town, ordinary=4)
    figures, text = report(engine, town.places.township.code)
    assert (figures.values["mediated"], figures.values["resolved"], figures.values["success_rate"]) == (6, 6, 100.0)
    assert "先后开展人民调解6件次，成功化解矛盾纠纷6件，化解矛盾成功率高达100%" in text.text
    assert "成功化解1起写信重复访和1起购票进京访" in text.text
    with engine.connect() as conn:
        scope = year_scope(conn, code=town.places.township.code, year=2023)
        assert case_ids(conn, scope, "petitions_resolved", "to_beijing") == [ids[-1]]


def test_later_edits_and_new_cases_leave_the_year_unchanged(engine, town):
    ids = seed_year(engine, town, ordinary=4)
    code = town.places.township.code
    january = datetime.now(UTC)
    before_figures, before_text = report(engine, code)
    supervisor = town["supervisor"]

    def fire(case_id, trigger, data, when):
        with engine.connect() as conn:
            version = conn.execute(Case.__table__.select().where(Case.__table__.c.id == case_id)).one().version
        apply_trigger(
            engine,
            case_id=case_id,
            actor=supervisor,
            trigger=trigger,
            expected_version=version,
            data=data,
            effective_at=when,
            now=max(when, datetime.now(UTC)),
        )

    # 2024 and later: new cases, notes and a conversion on 2023 cases, a 2024 case registered on 1 Jan.
    enter(engine, town, at(2024, 1, 1, 0) + timedelta(minutes=1), resolved_path(town, at(2024, 1, 3)))
    enter(engine, town, at(2024, 3, 1), [], source="police")
    fire(ids[0], "add_note", {"text": "2024年回访：关系和睦。"}, at(2024, 2, 1))
    fire(
        ids[1],
        "mark_conversion",
        {"type": "major_accident", "occurred_on": "2024-05-02", "detail": "次年另起事故"},
        at(2024, 5, 3),
    )
    after_figures, after_text = report(engine, code)
    assert after_figures.values == before_figures.values
    assert after_figures.breakdowns == before_figures.breakdowns
    assert after_text.paragraphs == before_text.paragraphs
    assert report(engine, code, year=2024)[0].values["taken_in"] == 2

    # A correction typed in now about 2023 (a conversion that happened in 2023) changes the live report,
    # and the report as of January stays exactly what it was.
    fire(
        ids[2],
        "mark_conversion",
        {"type": "criminal", "occurred_on": "2023-08-01", "detail": "补录"},
        datetime.now(UTC),
    )
    as_of_january, text_january = report(engine, code, as_of=january)
    assert as_of_january.values == before_figures.values
    assert text_january.paragraphs == before_text.paragraphs
    live, live_text = report(engine, code)
    assert live.values["conversions"] == 1
    assert "全年发生矛盾纠纷转化1件（民转刑案件1件）" in live_text.text
