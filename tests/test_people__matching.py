"""关联纠纷 (issue 16): the same people found again by ID number in another village, by phone however it
is spaced, by name within the same village; a dismissed link stays dismissed; a repeat dispute raises the
risk score by the rule in risk_rules.yaml, with its reason recorded."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from factories import register
from sqlalchemy import select

from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.cases.queries import case_events, get_case_row
from mediation_flow.cases.related import decide_link, related_disputes
from mediation_flow.cases.risk import risk_rules
from mediation_flow.errors import InvalidData, PermissionDenied
from mediation_flow.store import clock
from mediation_flow.store.tables import PARTY_KEYS, PARTY_LINKS

WANG = make_id_number("500101", date(1970, 5, 6), 31)


def person(name, **extra):
    return {"role": "applicant", "name": name, **extra}


def at(town, index):
    return town.places.villages[index].code


def test_the_same_person_by_id_number_in_another_village(engine, town):
    first = register(
        engine, town, "supervisor", jurisdiction_code=at(town, 1), parties=[person("王五", id_number=WANG)]
    )
    second = register(
        engine, town, "supervisor", jurisdiction_code=at(town, 0), parties=[person("王 五", id_number=WANG.lower())]
    )
    related = related_disputes(engine, town["supervisor"], second)
    [party] = related.parties
    assert [(m.case_id, m.kind, m.strength) for m in party.matches] == [(first, "id", "strong")]
    assert party.summary == "该当事人近两年涉及1起纠纷"
    assert party.matches[0].label == "身份证号相同（关联度强）"
    assert WANG not in party.matches[0].party_name  # the other case's number is shown masked
    assert party.matches[0].party_name.startswith("王五（")


def test_the_same_phone_with_different_spacing(engine, town):
    first = register(engine, town, "supervisor", parties=[person("赵六", phone="+86 138 0000 1111")])
    second = register(engine, town, "supervisor", parties=[person("赵小六", phone="１３８００００１１１１")])
    [party] = related_disputes(engine, town["supervisor"], second).parties
    assert [(m.case_id, m.kind, m.strength) for m in party.matches] == [(first, "phone", "medium")]


def test_a_name_counts_only_within_the_same_village(engine, town):
    same = register(engine, town, "supervisor", jurisdiction_code=at(town, 0), parties=[person("孙七")])
    register(engine, town, "supervisor", jurisdiction_code=at(town, 1), parties=[person("孙七")])
    newest = register(engine, town, "supervisor", jurisdiction_code=at(town, 0), parties=[person("孙七")])
    [party] = related_disputes(engine, town["supervisor"], newest).parties
    assert [(m.case_id, m.kind, m.strength) for m in party.matches] == [(same, "name", "weak")]


def test_petitions_are_counted_in_the_summary_and_the_user_sees_only_their_area(engine, town):
    ids = {"id_number": WANG}
    register(
        engine, town, "supervisor", jurisdiction_code=at(town, 1), source="petition", parties=[person("王五", **ids)]
    )
    register(engine, town, "supervisor", jurisdiction_code=town.places.grids[0].code, parties=[person("王五", **ids)])
    newest = register(
        engine, town, "supervisor", jurisdiction_code=town.places.grids[0].code, parties=[person("王五", **ids)]
    )
    [party] = related_disputes(engine, town["supervisor"], newest).parties
    assert party.summary == "该当事人近两年涉及2起纠纷（其中1起信访转办）"
    [seen] = related_disputes(engine, town["grid_worker"], newest).parties  # grid 0 only: not village 1's petition
    assert seen.summary == "该当事人近两年涉及1起纠纷"


def test_a_dismissed_link_stays_dismissed_and_is_recorded(engine, town):
    first = register(engine, town, "supervisor", parties=[person("周八", id_number=WANG)])
    second = register(engine, town, "supervisor", parties=[person("周八", id_number=WANG)])
    with pytest.raises(PermissionDenied):
        decide_link(engine, town["mediator"], second, first, "dismissed")
    with pytest.raises(InvalidData):
        decide_link(engine, town["supervisor"], second, second + 99, "dismissed")
    after = decide_link(engine, town["supervisor"], second, first, "dismissed")
    assert after.parties[0].matches == [] and [m.case_id for m in after.parties[0].dismissed] == [first]
    register(engine, town, "supervisor", parties=[person("周八", id_number=WANG)])  # more data comes in
    again = related_disputes(engine, town["supervisor"], second)
    assert [m.case_id for m in again.parties[0].dismissed] == [first]
    assert first not in [m.case_id for m in again.parties[0].matches]
    seen_from_first = related_disputes(engine, town["supervisor"], first)  # the same link, from the other side
    assert second in [m.case_id for m in seen_from_first.parties[0].dismissed]
    with engine.connect() as conn:
        rows = list(conn.execute(select(PARTY_LINKS)))
    assert [(r.case_id, r.other_case_id, r.decision, r.actor_id) for r in rows] == [
        (first, second, "dismissed", town["supervisor"].id)
    ]


def test_a_repeat_dispute_raises_the_risk_score_as_the_rule_says(engine, town):
    rule = risk_rules()["repeat_points"]
    one = min(rule, key=lambda s: s["min"])
    assert one["min"] == 1
    parties = [person("吴九", id_number=WANG)]
    first = register(engine, town, "supervisor", category="forest_land", amount=None, parties=parties)
    second = register(engine, town, "supervisor", category="forest_land", amount=None, parties=parties)
    with engine.connect() as conn:
        grades = [get_case_row(conn, town["supervisor"], c)["risk_grade"] for c in (first, second)]
        created = [case_events(conn, c)[0]["data"] for c in (first, second)]
    forest = risk_rules()["category_points"]["forest_land"]
    thresholds = risk_rules()["thresholds"]
    assert forest < thresholds["yellow"] <= forest + one["points"]  # the data makes the repeat tip the colour
    assert grades == ["blue", "yellow"]
    assert "repeat_disputes" not in created[0]
    assert created[1]["repeat_disputes"] == 1
    assert created[1]["risk_reasons"] == [f"当事人近两年涉及1起纠纷 +{one['points']}"]
    assert related_disputes(engine, town["supervisor"], second).risk_reasons == created[1]["risk_reasons"]


def test_cases_older_than_two_years_are_not_repeats(engine, town):
    now = clock.utcnow()
    parties = [person("郑十", id_number=WANG)]
    register(engine, town, "supervisor", parties=parties, effective_at=now - timedelta(days=800), now=now)
    later = register(engine, town, "supervisor", parties=parties)
    with engine.connect() as conn:
        assert "repeat_disputes" not in case_events(conn, later)[0]["data"]
    assert related_disputes(engine, town["supervisor"], later).parties[0].matches == []


def test_keys_are_stored_normalised_and_invalid_numbers_are_not_keys(engine, town):
    register(engine, town, "supervisor", parties=[person("钱 一", phone="+86 139-0000-2222", id_number=WANG)])
    with engine.connect() as conn:
        keys = sorted((r.kind, r.value) for r in conn.execute(select(PARTY_KEYS.c.kind, PARTY_KEYS.c.value)))
    assert keys == [("id", WANG), ("name", "钱一"), ("phone", "13900002222")]


def test_the_report_counts_repeat_disputes_and_repeat_petitions(engine, town):
    from mediation_flow.stats.figures import compute_figures
    from mediation_flow.stats.scope import year_scope

    parties = [person("冯十一", id_number=WANG)]
    register(engine, town, "supervisor", parties=parties)
    register(engine, town, "supervisor", parties=parties)
    register(engine, town, "supervisor", source="petition", parties=parties)
    register(engine, town, "supervisor", source="petition", parties=[person("陈十二")])
    year = clock.local_date(clock.utcnow()).year
    with engine.connect() as conn:
        values = compute_figures(conn, year_scope(conn, code=town.places.township.code, year=year)).values
    assert (values["taken_in"], values["repeat_disputes"], values["repeat_petitions"]) == (4, 2, 1)
