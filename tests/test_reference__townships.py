"""A township's own reference data (issue 17, point 3): a venue or a local partner may belong to one township,
which alone is offered it (forms, validation, the ledger import); categories and sources serve the whole
county; a township's administrator edits its own township's list only; a renamed or retired item keeps the
label old cases showed. On SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import pytest
from factories import PASSWORD, drive, intake, register
from sqlalchemy import select

from mediation_flow.accounts.admin_log import administer, recent_changes
from mediation_flow.accounts.policy import CONSOLE
from mediation_flow.accounts.users import actor_for, add_user
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.forms import registration_options, trigger_form
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.views import case_page, case_view
from mediation_flow.demo_county import build_second_township
from mediation_flow.errors import Conflict, InvalidData, PermissionDenied
from mediation_flow.places import reference_changes as reference
from mediation_flow.places.jurisdictions import get_by_code
from mediation_flow.places.reference import load_reference
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import CASES
from mediation_flow.vocabulary import Role

QINGLONG, BAIMA = "500101001", "500101002"
BAIMA_GRID = "500101002001001"
ACCEPTED = [("accept", {"rights_notified": True})]


@pytest.fixture
def county(engine, town):
    """The test township (青龙镇) and 白马镇 beside it, as the demo has them: 清风茶室 is 青龙镇's, 白马镇 has
    白马议事厅 and 黄桷树下说事点; a mediator and an administrator of 白马镇, a supervisor of the county."""
    with write_transaction(engine) as conn:
        build_second_township(conn, town.places)
        for username, role, place in (
            ("baima", Role.MEDIATOR, BAIMA), ("baima_admin", Role.ADMIN, BAIMA), ("xianju", Role.SUPERVISOR, "500101")
        ):  # fmt: skip
            user_id = add_user(conn, username=username, password=PASSWORD, role=role, jurisdiction_code=place)
            town.actors[username] = actor_for(conn, user_id)
    return town


def _baima_case(engine, town) -> int:
    return register_case(engine, actor=town["baima"], intake=intake(jurisdiction_code=BAIMA_GRID))


def _venues_offered(engine, actor, case_id: int) -> dict[str, str]:
    view = case_view(engine, actor, case_id, channel=None)
    form = trigger_form(engine, actor, view, "start_mediation")
    return next(f.options for f in form.fields if f.spec.name == "venue")


def test_each_township_is_offered_its_own_venues_and_the_countys_categories(engine, county):
    with engine.connect() as conn:
        baima = load_reference(conn, get_by_code(conn, BAIMA_GRID).path)
        qinglong = load_reference(conn, county.places.grids[0].path)
    assert list(baima["venue"]) == ["village_room", "police_room", "court_room", "baima_hall", "huangjue_tree"]
    assert list(qinglong["venue"]) == ["qingfeng_teahouse", "village_room", "police_room", "court_room"]
    assert baima["category"] == qinglong["category"] and baima["source"] == qinglong["source"]
    # the registration form (and the offline copy the phone keeps of it) and the step forms of each township
    assert "qingfeng_teahouse" not in registration_options(engine, county["baima"]).reference["venue"]
    assert "baima_hall" not in registration_options(engine, county["grid_worker"]).reference["venue"]
    baima_case, qinglong_case = _baima_case(engine, county), register(engine, county)
    drive(engine, baima_case, county["baima"], ACCEPTED)
    drive(engine, qinglong_case, county["mediator"], ACCEPTED)
    offered = _venues_offered(engine, county["baima"], baima_case)
    assert offered == {"village_room": "村调解室", "police_room": "派出所调解室", "court_room": "人民法庭诉调对接室",
                       "baima_hall": "白马议事厅", "huangjue_tree": "黄桷树下说事点"}  # fmt: skip
    assert "baima_hall" not in _venues_offered(engine, county["supervisor"], qinglong_case)
    assert "qingfeng_teahouse" in _venues_offered(engine, county["supervisor"], qinglong_case)


def test_a_case_registered_with_another_townships_venue_is_refused(engine, county):
    with pytest.raises(InvalidData) as refused:
        register_case(
            engine, actor=county["baima"], intake=intake(jurisdiction_code=BAIMA_GRID, venue="qingfeng_teahouse")
        )
    assert [e["field"] for e in refused.value.errors] == ["venue"]
    case_id = register_case(
        engine, actor=county["baima"], intake=intake(jurisdiction_code=BAIMA_GRID, venue="baima_hall")
    )
    assert case_page(engine, county["baima"], case_id).labels["venue"] == "白马议事厅"


def test_a_step_naming_another_townships_venue_is_refused_and_changes_nothing(engine, county):
    case_id = _baima_case(engine, county)
    drive(engine, case_id, county["baima"], ACCEPTED)
    with pytest.raises(InvalidData) as refused:
        _start(engine, county, case_id, "qingfeng_teahouse")
    assert [e["field"] for e in refused.value.errors] == ["venue"]
    with engine.connect() as conn:
        assert conn.execute(select(CASES.c.version, CASES.c.venue).where(CASES.c.id == case_id)).one() == (2, None)
    _start(engine, county, case_id, "baima_hall")
    assert case_page(engine, county["baima"], case_id).labels["venue"] == "白马议事厅"


def _start(engine, town, case_id: int, venue: str) -> None:
    data = {"all_parties_consent": True, "venue": venue}
    apply_trigger(
        engine, case_id=case_id, actor=town["baima"], trigger="start_mediation", expected_version=2, data=data
    )


def test_a_township_administrator_edits_only_its_own_list(engine, county):
    admin = county["baima_admin"]

    def run(change):
        return administer(engine, admin, change)

    added = run(lambda conn, a: reference.add_item(conn, a, kind="venue", label="石龙村说理堂"))
    assert (added.township_code, added.township_name) == (BAIMA, "白马镇")  # its own township, unasked
    refusals = [
        lambda conn, a: reference.add_item(conn, a, kind="venue", label="青龙新茶室", township=QINGLONG),
        lambda conn, a: reference.set_item_active(conn, a, kind="venue", code="qingfeng_teahouse", active=False),
        lambda conn, a: reference.replace_item(conn, a, kind="venue", code="village_room", label="村委会调解室"),
        lambda conn, a: reference.add_item(conn, a, kind="category", label="水利纠纷"),
    ]
    for change in refusals:
        with pytest.raises(PermissionDenied):
            run(change)
    renamed = run(lambda conn, a: reference.replace_item(conn, a, kind="venue", code="baima_hall",
                                                         label="白马镇议事厅"))  # fmt: skip
    assert renamed.township_code == BAIMA
    with engine.connect() as conn:
        listed = {i.code for i in reference.list_items(conn, "venue", actor=admin)}
        assert listed == {
            "village_room",
            "police_room",
            "court_room",
            "baima_hall",
            "huangjue_tree",
            added.code,
            renamed.code,
        }  # fmt: skip  (not 青龙镇's 清风茶室)
        assert "qingfeng_teahouse" in {i.code for i in reference.list_items(conn, "venue", township=QINGLONG)}
        assert [c["action"] for c in recent_changes(conn)][:2] == ["reference_replace", "reference_add"]
    assert get_item_label(engine, "qingfeng_teahouse") == ("清风茶室", True)


def get_item_label(engine, code: str) -> tuple[str, bool]:
    with engine.connect() as conn:
        item = reference.get_item(conn, "venue", code)
    return item.label, item.active


def test_only_a_venue_or_a_partner_belongs_to_a_township_and_it_must_be_one(engine, county):
    def add(**item):
        return administer(engine, CONSOLE, lambda conn, a: reference.add_item(conn, a, **item))

    for kind, where in (("category", BAIMA), ("venue", BAIMA_GRID), ("venue", "999999999")):
        with pytest.raises(InvalidData) as refused:
            add(kind=kind, label="新项", township=where)
        assert refused.value.errors[0]["field"] == "township"
    # the same name may serve two townships; not twice where both are offered
    add(kind="venue", label="说事点", township=BAIMA)
    add(kind="venue", label="说事点", township=QINGLONG)
    with pytest.raises(Conflict, match="已有同名项目"):
        add(kind="venue", label="说事点")


def test_a_renamed_then_retired_township_venue_keeps_the_label_its_cases_had(engine, county):
    case_id = _baima_case(engine, county)
    drive(engine, case_id, county["baima"], [*ACCEPTED, ("start_mediation", {"all_parties_consent": True,
                                                                             "venue": "huangjue_tree"})])  # fmt: skip
    new = administer(engine, county["baima_admin"], lambda conn, a: reference.replace_item(
        conn, a, kind="venue", code="huangjue_tree", label="黄桷树说事点"))  # fmt: skip
    administer(engine, county["baima_admin"], lambda conn, a: reference.set_item_active(
        conn, a, kind="venue", code=new.code, active=False))  # fmt: skip
    assert case_page(engine, county["xianju"], case_id).labels["venue"] == "黄桷树下说事点"
    with engine.connect() as conn:
        offered = load_reference(conn, get_by_code(conn, BAIMA_GRID).path)["venue"]
    assert "huangjue_tree" not in offered and new.code not in offered


def test_the_ledger_import_checks_each_cases_venue_against_its_own_township(engine, county):
    from datetime import UTC, datetime

    from mediation_flow.cases.intake import parse_intake
    from mediation_flow.ledger import bulk
    from mediation_flow.workflow.registry import REGISTRY

    now = datetime.now(UTC)
    registered = datetime(now.year, 1, 5, 2, tzinfo=UTC)
    steps = [("accept", {"rights_notified": True}, registered, ""),
             ("assign", {"mediator_id": county["baima"].id}, registered, "")]  # fmt: skip
    with write_transaction(engine) as conn:
        data = parse_intake(intake(jurisdiction_code=BAIMA_GRID))
        county_snap = bulk.load_snapshot(conn, county["xianju"], REGISTRY, now)
        for venue, ok in (("qingfeng_teahouse", False), ("baima_hall", True)):
            mediate = ("start_mediation", {"all_parties_consent": True, "venue": venue}, registered, "")
            if ok:
                draft = bulk.draft_case(county_snap, data, registered, [*steps, mediate])
                assert draft.case["venue"] == "baima_hall"
            else:
                with pytest.raises(InvalidData):
                    bulk.draft_case(county_snap, data, registered, [*steps, mediate])


def test_a_step_form_offers_the_partner_agencies_serving_the_cases_area(engine, county):
    """龙井村警务室 serves village 0 only: a case there is offered it; a case of village 1 is not (the rules would
    refuse it)."""
    here = register(engine, county)
    there = register(engine, county, "supervisor", jurisdiction_code=county.places.villages[1].code)
    for case_id, offered in ((here, True), (there, False)):
        view = case_view(engine, county["supervisor"], case_id, channel=None)
        form = trigger_form(engine, county["supervisor"], view, "refer")
        agencies = next(f.options for f in form.fields if f.spec.name == "agency")
        assert ("longjing_post" in agencies) == offered and "qinglong_police" in agencies


def test_a_county_users_registration_form_groups_the_villages_by_township(engine, county):
    """A county's user registers in any village of the county: the form's list names each township above its
    villages (walk-through: the petition office's list ran 青龙镇's and 白马镇's villages together, unheaded)."""
    from test_web_pages import Browser

    from web.app import create_app

    county_wide = registration_options(engine, county["xianju"])
    assert [township for township, _ in county_wide.by_township] == ["青龙镇", "白马镇"]
    assert [row for _, rows in county_wide.by_township for row in rows] == county_wide.places
    assert BAIMA_GRID in {code for code, _, _ in dict(county_wide.by_township)["白马镇"]}
    assert registration_options(engine, county["baima"]).by_township == []  # one township: no headings
    browser = Browser(create_app(engine))
    assert browser.login("xianju").status_code == 303
    page = browser.client.get("/register").text
    assert page.index('<optgroup label="青龙镇">') < page.index(county.places.villages[0].code)
    assert page.index(county.places.villages[0].code) < page.index('<optgroup label="白马镇">')
    assert page.index('<optgroup label="白马镇">') < page.index(BAIMA_GRID)
