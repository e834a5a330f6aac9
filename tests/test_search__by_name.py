"""The people search by a party's name counted and paged from the key rows alone (issue 16, migration 0018:
``queries.name_page``): the same cases and the same total as reading the cases (``queries.cases_page``) for
every role's area, a case with two parties of that name counted once, cases outside the user's area never
counted, pages in registration order both ways, the place and date filters on the key rows, and the keys
moving with their cases when a grid moves to another village."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import register
from sqlalchemy import select

from mediation_flow.accounts.admin_log import administer
from mediation_flow.accounts.policy import CONSOLE
from mediation_flow.cases.queries import CaseFilters, cases_page, list_cases, name_page
from mediation_flow.places import changes
from mediation_flow.store import clock
from mediation_flow.store.tables import PARTY_KEYS

NAME = "王芳"


@pytest.fixture
def named(engine, town):
    """Six cases, newest first a … f: 王芳 in grid 0 twice (a: both parties), in grid 1 (typed with a
    space), in grid 2 (village 1), at the township itself; f in grid 0 has nobody of that name."""
    now = clock.utcnow()
    places = town.places
    made = {}
    for hours, (key, place, names) in enumerate(
        [
            ("a", places.grids[0], [NAME, NAME]),
            ("b", places.grids[0], [NAME, "李四"]),
            ("c", places.grids[1], ["王 芳"]),
            ("d", places.grids[2], [NAME]),
            ("e", places.township, [NAME]),
            ("f", places.grids[0], ["张三"]),
        ],
        start=1,
    ):
        parties = [{"role": "applicant" if i == 0 else "respondent", "name": n} for i, n in enumerate(names)]
        made[key] = register(
            engine,
            town,
            "supervisor",
            title=f"纠纷{key}",
            jurisdiction_code=place.code,
            parties=parties,
            effective_at=now - timedelta(hours=hours),
        )
    return made


def both(engine, actor, filters=None, *, page=1, page_size=30, sort="-registered"):
    """(ids, total) from ``list_cases`` and from the cases themselves, and whether the key rows answered."""
    filters = filters or CaseFilters(q=NAME)
    today = clock.local_date(clock.utcnow())
    with engine.connect() as conn:
        listed = list_cases(conn, actor, filters, today=today, page=page, page_size=page_size, sort=sort)
        read = cases_page(conn, actor, filters, today=today, page=page, page_size=page_size, sort=sort)
        keyed = name_page(conn, actor, filters, page=page, page_size=page_size, sort=sort) is not None
    ids = ([r["id"] for r in listed[0]], listed[1])
    assert ids == ([r["id"] for r in read[0]], read[1])
    return ids, keyed


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("supervisor", "abcde"),
        ("mediator", "abcde"),
        ("village_mediator", "abc"),
        ("other_village_mediator", "d"),
        ("grid_worker", "ab"),  # a has two parties named 王芳: counted once
        ("other_grid_worker", "d"),
    ],
)
def test_each_user_counts_only_the_cases_of_their_area(engine, town, named, who, expected):
    (ids, total), keyed = both(engine, town[who])
    assert keyed  # answered from the key rows
    assert ids == [named[k] for k in expected] and total == len(expected)


def test_a_partner_agency_user_is_answered_from_the_cases(engine, town, named):
    """Scoped by the case's agency, which the key rows do not carry: read from the cases, as before."""
    (ids, total), keyed = both(engine, town["liaison"])
    assert not keyed and (ids, total) == ([], 0)


def test_pages_follow_the_registration_order_both_ways(engine, town, named):
    sup = town["supervisor"]
    for sort, order in (("-registered", "abcde"), ("registered", "edcba"), ("nonsense", "abcde")):
        pages = [both(engine, sup, page=page, page_size=2, sort=sort)[0] for page in (1, 2, 3, 4)]
        assert [total for _, total in pages] == [5, 5, 5, 5]
        assert [i for ids, _ in pages for i in ids] == [named[k] for k in order], sort


def test_place_and_date_filters_on_the_key_rows_and_others_on_the_cases(engine, town, named):
    sup, places = town["supervisor"], town.places
    today = clock.local_date(clock.utcnow())
    for filters, expected, keyed in (
        (CaseFilters(q=NAME, village=places.villages[1].code), "d", True),
        (CaseFilters(q=NAME, grid=places.grids[1].code), "c", True),
        (CaseFilters(q=NAME, village="999999999999"), "", True),  # no such place: nothing
        (CaseFilters(q=NAME, registered_from=today - timedelta(days=1)), "abcde", True),
        (CaseFilters(q=NAME, registered_to=today - timedelta(days=2)), "", True),
        (CaseFilters(q=NAME, state=["registered"]), "abcde", False),
        (CaseFilters(q=NAME, overdue=False), "abcde", False),
        (CaseFilters(q=NAME, source="petition"), "", False),
        (CaseFilters(q="纠纷a"), "a", False),  # a title, not a name
    ):
        (ids, total), by_keys = both(engine, sup, filters)
        assert (ids, total, by_keys) == ([named[k] for k in expected], len(expected), keyed), filters


def test_a_grid_moved_to_another_village_takes_its_keys_along(engine, town, named):
    grid0, village1 = town.places.grids[0], town.places.villages[1]
    administer(engine, CONSOLE, lambda conn, a: changes.move_place(conn, a, code=grid0.code, parent_code=village1.code))
    assert both(engine, town["village_mediator"])[0] == ([named["c"]], 1)
    assert both(engine, town["other_village_mediator"])[0] == ([named[k] for k in "abd"], 3)
    with engine.connect() as conn:
        keys = conn.execute(
            select(PARTY_KEYS.c.village_id, PARTY_KEYS.c.jurisdiction_path).where(PARTY_KEYS.c.case_id == named["a"])
        ).all()
    assert keys and {tuple(k) for k in keys} == {(village1.id, f"{village1.path}{grid0.id}/")}
