"""Figures from the event history on both back ends: exact counts, drill-down, scope and period edges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from report_cases import at, enter, escalated_and_confirmed, resolved_path

from mediation_flow.errors import InvalidData, NotFound
from mediation_flow.stats.drilldown import case_ids, drillable
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.scope import year_scope


@pytest.fixture
def year_cases(engine, town):
    """Five cases around 2023 exercising most figures; returns their ids by letter."""
    grid0, grid2 = town.places.grids[0].code, town.places.grids[2].code
    mediator = town["mediator"].id
    ids = {}
    ids["a"] = enter(
        engine,
        town,
        at(2023, 3, 1),
        resolved_path(
            town, at(2023, 3, 4), "1200.50", joint_agencies=["police_station"], joint_police="qinglong_police"
        ),
        source="police",
        jurisdiction_code=grid0,
    )
    ids["b"] = enter(
        engine,
        town,
        at(2023, 5, 10),
        escalated_and_confirmed(mediator, 2023),
        source="application",
        category="marriage_family",
        jurisdiction_code=grid2,
    )
    # Mediation starts in 2023 and fails in 2024: counts as mediated in 2023, concluded in 2024.
    ids["c"] = enter(
        engine,
        town,
        at(2023, 12, 20),
        [
            ("assign", {"mediator_id": mediator}),
            ("accept", {"rights_notified": True}),
            ("start_mediation", {"all_parties_consent": True}),
            ("fail", {"reason": "双方分歧较大", "routes_informed": True}),
        ],
        moments=[at(2023, 12, 20, 10), at(2023, 12, 21), at(2023, 12, 22), at(2024, 1, 5)],
        jurisdiction_code=grid0,
    )
    # Registered in 2022, mediated in 2023 and referred to legal aid after the 30-day limit.
    ids["d"] = enter(
        engine,
        town,
        at(2022, 12, 28),
        [
            ("assign", {"mediator_id": mediator}),
            ("accept", {"rights_notified": True}),
            ("start_mediation", {"all_parties_consent": True}),
            ("refer", {"target": "legal_aid", "receiving_body": "县法律援助中心", "reason": "需法律援助"}),
        ],
        moments=[at(2022, 12, 29), at(2023, 1, 2), at(2023, 1, 3), at(2023, 2, 20)],
        jurisdiction_code=grid0,
    )
    ids["e"] = enter(
        engine,
        town,
        at(2023, 6, 1),
        [("mark_conversion", {"type": "criminal", "occurred_on": "2023-06-15", "detail": "一方持刀伤人，已移送公安"})],
        jurisdiction_code=grid0,
    )
    return ids


def figures_for(engine, code, year=2023, **kw):
    with engine.connect() as conn:
        return compute_figures(conn, year_scope(conn, code=code, year=year, **kw))


def test_year_figures(engine, town, year_cases):
    f = figures_for(engine, town.places.township.code)
    v = f.values
    assert (v["taken_in"], v["mediated"], v["resolved"], v["mediation_concluded"]) == (4, 4, 2, 3)
    assert v["success_rate"] == 66.7
    assert (v["on_time"], v["on_time_rate"]) == (2, 66.7)
    assert (v["closed_resolved"], v["closed"], v["confirmations"]) == (2, 2, 1)
    assert v["agreement_amount"] == "2000.50" and v["agreement_amount_fen"] == 200050
    assert (v["visited"], v["performed"], v["performance_rate"]) == (2, 1, 50.0)
    assert (v["joint_mediations"], v["legal_aid_referrals"], v["referral_out"]) == (1, 1, 1)
    assert (v["referral_in"], v["referral_in_resolved"], v["escalations"], v["reached_county"]) == (1, 1, 1, 0)
    assert v["conversions"] == 1
    assert f.count("conversions", "criminal") == 1 and f.count("conversions", "major_accident") == 0
    assert f.count("by_source", "police") == 1 and f.count("by_source", "application") == 1
    assert f.count("by_source", "initiative") == 2
    assert f.count("by_category", "marriage_family") == 1 and f.count("by_category", "neighbourhood") == 3
    assert f.count("by_village", town.places.villages[0].code) == 3
    assert f.count("by_village", town.places.villages[1].code) == 1
    assert f.count("resolved_by_level", "grid") == 1 and f.count("resolved_by_level", "village") == 1
    assert f.count("escalations", "village") == 1
    assert f.count("referral_out", "legal_aid") == 1 and f.count("referral_in", "police") == 1
    assert f.count("monthly_taken_in", "2023-03") == 1 and f.count("monthly_taken_in", "2023-12") == 1
    # A 2023 agreement closed in 2023 three days after the first visit: a and b took 9 and 8 days.
    assert v["days_to_close_avg"] is not None and v["days_to_close_p90"] >= v["days_to_close_avg"]


def test_drill_down_lists_the_cases_behind_each_figure(engine, town, year_cases):
    ids = year_cases
    with engine.connect() as conn:
        scope = year_scope(conn, code=town.places.township.code, year=2023)
        f = compute_figures(conn, scope)
        assert case_ids(conn, scope, "taken_in") == sorted([ids["a"], ids["b"], ids["c"], ids["e"]])
        assert case_ids(conn, scope, "mediation_concluded") == sorted([ids["a"], ids["b"], ids["d"]])
        assert case_ids(conn, scope, "success_rate") == sorted([ids["a"], ids["b"]])
        assert case_ids(conn, scope, "performed") == [ids["a"]]
        assert case_ids(conn, scope, "on_time_rate") == sorted([ids["a"], ids["b"]])
        assert case_ids(conn, scope, "legal_aid_referrals") == [ids["d"]]
        assert case_ids(conn, scope, "conversions", "criminal") == [ids["e"]]
        assert case_ids(conn, scope, "resolved_by_level", "village") == [ids["b"]]
        assert case_ids(conn, scope, "by_village", town.places.villages[1].code) == [ids["b"]]
        assert case_ids(conn, scope, "by_source", "police") == [ids["a"]]
        # Every plain count equals the length of its drill-down list.
        for key in ("taken_in", "mediated", "resolved", "closed", "confirmations", "joint_mediations", "visited"):
            assert len(case_ids(conn, scope, key)) == f.values[key], key
        assert {"taken_in", "by_category", "petitions_resolved", "days_to_close_p90"} <= drillable()
        with pytest.raises(InvalidData):
            case_ids(conn, scope, "no_such_figure")


def test_scope_is_the_subtree_and_the_local_year(engine, town, year_cases):
    village0 = figures_for(engine, town.places.villages[0].code)
    assert village0.values["taken_in"] == 3 and village0.values["resolved"] == 1
    assert figures_for(engine, town.places.villages[5].code).values["taken_in"] == 0
    y2024 = figures_for(engine, town.places.township.code, year=2024)
    assert y2024.values["taken_in"] == 0 and y2024.values["mediation_concluded"] == 1
    y2022 = figures_for(engine, town.places.township.code, year=2022)
    assert y2022.values["taken_in"] == 1 and y2022.values["mediated"] == 0


def test_local_midnight_decides_the_year(engine, town):
    # 2023-12-31 23:30 in Beijing is 15:30 UTC: a 2023 case. 2024-01-01 00:30 Beijing is 2023 in UTC.
    enter(engine, town, at(2023, 12, 31, 23) + timedelta(minutes=30), [])
    enter(engine, town, at(2024, 1, 1, 0) + timedelta(minutes=30), [])
    code = town.places.township.code
    assert figures_for(engine, code, 2023).values["taken_in"] == 1
    assert figures_for(engine, code, 2024).values["taken_in"] == 1


def test_bad_scope_is_a_clear_error(engine, town):
    with engine.connect() as conn:
        with pytest.raises(NotFound):
            year_scope(conn, code="999999", year=2023)
        with pytest.raises(InvalidData):
            year_scope(conn, code=town.places.township.code, year=1800)
