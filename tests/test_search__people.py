"""Search that finds people and cases (issue 16): the ``q`` of GET /api/v1/cases and of /cases by party
name, phone or ID number however typed, by case number whole or by its sequence ("023" is case 23, not
every case of 2023), with the filters; within the user's area as everywhere."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from factories import PASSWORD, register
from fastapi.testclient import TestClient
from test_web_pages import Browser, data_dir  # noqa: F401 - the pages' data directory fixture

from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.cases.lists import search
from mediation_flow.cases.queries import CaseFilters, get_case_row
from mediation_flow.store import clock
from web.app import create_app

LI = make_id_number("500101", date(1980, 1, 2), 45)


@pytest.fixture
def cases(engine, town):
    """Five cases: 李雷 (ID, phone) in grid 0, 韩梅梅 in village 1 (a petition), three fillers."""
    grid0, village1 = town.places.grids[0].code, town.places.villages[1].code
    made = {
        "li": register(
            engine,
            town,
            "supervisor",
            title="相邻通行纠纷",
            jurisdiction_code=grid0,
            parties=[{"role": "applicant", "name": "李雷", "phone": "13712345678", "id_number": LI}],
        ),
        "han": register(
            engine,
            town,
            "supervisor",
            title="土地承包纠纷",
            category="land_contract",
            source="petition",
            jurisdiction_code=village1,
            parties=[{"role": "applicant", "name": "韩梅梅", "phone": "023-65432100"}],
        ),
    }
    for i in range(3):
        made[f"filler{i}"] = register(engine, town, "supervisor", title=f"其他纠纷{i}", parties=[{"name": f"路人{i}"}])
    return made


def found(engine, actor, q, **filters):
    result = search(engine, actor, q=q, state=None, page=1, page_size=50, filters=CaseFilters(**filters))
    return sorted(i.id for i in result.items)


@pytest.mark.parametrize(
    "q",
    ["李雷", " 李 雷 ", "13712345678", "137 1234 5678", "+86 137-1234-5678", "8613712345678", "１３７１２３４５６７８"],
)
def test_a_person_by_name_or_phone_however_typed(engine, town, cases, q):
    assert found(engine, town["supervisor"], q) == [cases["li"]]


def test_by_id_number_with_spaces_full_width_or_lower_case(engine, town, cases):
    for q in (LI, " ".join([LI[:6], LI[6:14], LI[14:]]), LI.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})):
        assert found(engine, town["supervisor"], q) == [cases["li"]], q
    assert found(engine, town["supervisor"], LI[:-1] + ("0" if LI[-1] != "0" else "1")) == []  # check digit wrong


def test_a_landline(engine, town, cases):
    assert found(engine, town["supervisor"], "(023)65432100") == [cases["han"]]


def test_case_number_whole_or_its_sequence(engine, town, cases):
    with engine.connect() as conn:
        li = get_case_row(conn, town["supervisor"], cases["li"])
    seq, year = li["seq"], li["year"]
    assert found(engine, town["supervisor"], li["number"]) == [cases["li"]]
    assert found(engine, town["supervisor"], f"{seq:03d}") == [cases["li"]]  # "001" is case 1, not every case
    assert found(engine, town["supervisor"], f"{year}-{seq:03d}") == [cases["li"]]
    assert found(engine, town["supervisor"], "023") == []  # no 23rd case; the year's cases do not match
    assert len(found(engine, town["supervisor"], str(year))) == 5  # a year alone: its cases


def test_title_words_still_find(engine, town, cases):
    assert found(engine, town["supervisor"], "承包") == [cases["han"]]


def test_filters(engine, town, cases):
    sup = town["supervisor"]
    assert found(engine, sup, None, village=town.places.villages[1].code) == [cases["han"]]
    assert found(engine, sup, None, grid=town.places.grids[0].code) == [cases["li"]]
    assert found(engine, sup, None, category="land_contract") == [cases["han"]]
    assert found(engine, sup, None, source="petition") == [cases["han"]]
    today = clock.local_date(clock.utcnow())
    assert len(found(engine, sup, None, registered_from=today, registered_to=today)) == 5
    assert found(engine, sup, None, registered_to=today - timedelta(days=1)) == []
    everything = found(engine, sup, None)  # the calendar's first and last days bound nothing (found by schemathesis)
    assert found(engine, sup, None, registered_from=date.min, registered_to=date.max) == everything
    assert found(engine, sup, None, registered_from=date.min, registered_to=date.min) == []
    assert found(engine, sup, None, registered_from=date.max, registered_to=date.max) == []
    assert found(engine, sup, "李雷", source="petition") == []


def test_the_user_area_limits_every_search(engine, town, cases):
    assert found(engine, town["other_grid_worker"], "李雷") == []  # grid 2 does not see grid 0
    assert found(engine, town["grid_worker"], "李雷") == [cases["li"]]
    assert found(engine, town["grid_worker"], "韩梅梅") == []


def test_the_api_q_and_filters(engine, town, cases):
    with TestClient(create_app(engine)) as client:
        token = client.post("/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        by_phone = client.get("/api/v1/cases", params={"q": "137 1234 5678"}, headers=headers).json()
        assert [c["id"] for c in by_phone["items"]] == [cases["li"]] and by_phone["total"] == 1
        assert "parties" not in by_phone["items"][0]  # a list never shows parties
        today = clock.local_date(clock.utcnow()).isoformat()
        dated = client.get(
            "/api/v1/cases", params={"registered_from": today, "source": "petition"}, headers=headers
        ).json()
        assert [c["id"] for c in dated["items"]] == [cases["han"]]
        first = {"registered_from": "0001-01-01", "registered_to": "0001-01-01"}  # was a 500 (schemathesis)
        assert client.get("/api/v1/cases", params=first, headers=headers).json()["items"] == []
        bad = client.get("/api/v1/cases", params={"registered_from": "昨天"}, headers=headers)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"


def test_the_search_page_filters_and_explains_a_bad_date(engine, town, cases):
    browser = Browser(create_app(engine))
    assert browser.login("supervisor").status_code == 303
    page = browser.client.get("/cases", params={"q": "１３７ １２３４ ５６７８"})
    assert page.status_code == 200 and "相邻通行纠纷" in page.text and "其他纠纷0" not in page.text
    bad = browser.client.get("/cases", params={"date_from": "2024-13-40", "source": "petition"})
    assert bad.status_code == 200
    assert "“登记日期起”不是有效日期" in bad.text and "土地承包纠纷" in bad.text and "相邻通行纠纷" not in bad.text
