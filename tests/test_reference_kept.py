"""Reference data is kept while its tables are not written (``store.unchanged``'s topics, issue 15: every case page
and form read it; cases written all day do not end it) and never stale: after a township's venue is added, retired
or renamed, or a partner agency added, what is offered and what is labelled equal a fresh read; with nothing written
a second read gives the kept answer; a change rolled back is never shown. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from factories import Town, register
from sqlalchemy import Connection, Engine, delete, update

from mediation_flow.accounts.admin_log import administer
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.views import case_page, case_view
from mediation_flow.places import changes as places
from mediation_flow.places import reference_changes as reference
from mediation_flow.places.agencies import add_agency
from mediation_flow.places.reference import ReferenceBook, load_reference, reference_labels
from mediation_flow.store.db import write_transaction
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import AGENCIES, JURISDICTIONS, REFERENCE_ITEMS
from mediation_flow.store.unchanged import topic_token
from mediation_flow.vocabulary import AgencyKind


def _kept_and_fresh(engine: Engine, path: str) -> tuple[Any, Any]:
    with reads(engine) as conn:
        kept = (load_reference(conn, path), reference_labels(conn))
        book = ReferenceBook(conn)
        fresh = (book.at(path), book.labels)
    return kept, fresh


def test_what_is_offered_and_labelled_follows_every_change(engine: Engine, town: Town) -> None:
    path = town.places.grids[0].path
    kept, fresh = _kept_and_fresh(engine, path)
    assert kept == fresh

    def change(edit: Callable[[Connection, Any], Any]) -> None:
        administer(engine, town["admin"], edit)

    change(lambda conn, a: reference.add_item(conn, a, kind="venue", label="石龙村说理堂", code="shilong_room"))
    kept, fresh = _kept_and_fresh(engine, path)
    assert kept == fresh and kept[0]["venue"]["shilong_room"] == "石龙村说理堂"

    change(lambda conn, a: reference.set_item_active(conn, a, kind="venue", code="shilong_room", active=False))
    kept, fresh = _kept_and_fresh(engine, path)
    assert kept == fresh
    assert "shilong_room" not in kept[0]["venue"]  # no longer offered
    assert kept[1]["venue"]["shilong_room"] == "石龙村说理堂"  # an old record still shows its name

    with write_transaction(engine) as conn:
        add_agency(
            conn,
            code="longxi_court",
            name="龙溪人民法庭",
            kind=AgencyKind.COURT,
            jurisdiction_code=town.places.township.code,
        )
    kept, fresh = _kept_and_fresh(engine, path)
    assert kept == fresh
    assert any("龙溪人民法庭" in choices.values() for choices in kept[0].values())


def test_a_read_with_nothing_written_gives_the_kept_answer(engine: Engine, town: Town) -> None:
    """The very same objects, where a read makes new ones. On PostgreSQL the data token is the cluster's: another
    test's commit ends kept answers, so a few tries are allowed."""
    path = town.places.grids[0].path
    for _ in range(5):
        with reads(engine) as conn:
            first = (load_reference(conn, path), reference_labels(conn))
            again = (load_reference(conn, path), reference_labels(conn))
        if again[0] is first[0] and again[1] is first[1]:
            break
    assert again[0] is first[0] and again[1] is first[1]


def test_cases_written_leave_the_kept_answer_standing(engine: Engine, town: Town) -> None:
    """A registration and a step commit, and the reference book is still the kept one (its tables did not change):
    the case pages after every POST no longer read it again (issue 15)."""
    path = town.places.grids[0].path
    with reads(engine) as conn:
        first = (load_reference(conn, path), reference_labels(conn))
    case_id = register(engine, town)
    apply_trigger(engine, case_id=case_id, actor=town["mediator"], trigger="accept", expected_version=1,
                  data={"rights_notified": True})  # fmt: skip
    with reads(engine) as conn:
        again = (load_reference(conn, path), reference_labels(conn))
    assert again[0] is first[0] and again[1] is first[1]


def _stamp(engine: Engine) -> Any:
    with reads(engine) as conn:
        return topic_token(conn, "reference")


def test_every_change_of_a_topic_table_renews_its_stamp(engine: Engine, town: Town) -> None:
    """Insert, update and delete on each of the reference topic's tables (migration 0023's triggers); a case
    written does not."""
    admin = town["admin"]
    seen = [_stamp(engine)]

    def renewed() -> None:
        seen.append(_stamp(engine))
        assert seen[-1] != seen[-2]

    register(engine, town)
    assert _stamp(engine) == seen[-1]
    administer(engine, admin, lambda conn, a: reference.add_item(conn, a, kind="venue", label="说理堂", code="room"))
    renewed()
    with write_transaction(engine) as conn:
        conn.execute(update(REFERENCE_ITEMS).where(REFERENCE_ITEMS.c.code == "room").values(label="说理室"))
    renewed()
    with write_transaction(engine) as conn:
        conn.execute(delete(REFERENCE_ITEMS).where(REFERENCE_ITEMS.c.code == "room"))
    renewed()
    with write_transaction(engine) as conn:
        add_agency(conn, code="x_court", name="西河人民法庭", kind=AgencyKind.COURT,
                   jurisdiction_code=town.places.township.code)  # fmt: skip
    renewed()
    with write_transaction(engine) as conn:
        conn.execute(update(AGENCIES).where(AGENCIES.c.code == "x_court").values(active=False))
    renewed()
    with write_transaction(engine) as conn:
        conn.execute(delete(AGENCIES).where(AGENCIES.c.code == "x_court"))
    renewed()
    village = town.places.villages[0].code
    grid = village + "0099"
    administer(engine, admin, lambda conn, a: places.add_place(conn, a, code=grid, name="新网格", parent_code=village))
    renewed()
    administer(engine, admin, lambda conn, a: places.rename_place(conn, a, code=grid, name="新一网格"))
    renewed()
    with write_transaction(engine) as conn:
        conn.execute(delete(JURISDICTIONS).where(JURISDICTIONS.c.code == grid))
    renewed()


def test_an_answer_worked_out_in_a_rolled_back_change_is_never_given(engine: Engine, town: Town) -> None:
    """A transaction adds a venue, reads the book (kept under its own, uncommitted stamp) and rolls back: the next
    read is of the committed data, not what that transaction saw."""
    path = town.places.grids[0].path
    with reads(engine) as conn:
        before = load_reference(conn, path)
    assert "ghost_room" not in before["venue"]

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), write_transaction(engine) as conn:
        reference.add_item(conn, town["admin"], kind="venue", label="未保存的说理堂", code="ghost_room")
        assert "ghost_room" in load_reference(conn, path)["venue"]
        assert "ghost_room" in reference_labels(conn)["venue"]
        raise Abandon
    # The next committed change: a counter would now stand where the rolled-back one did; a random stamp does not.
    administer(engine, town["admin"], lambda conn, a: reference.add_item(conn, a, kind="venue", label="说理堂",
                                                                          code="real_room"))  # fmt: skip
    kept, fresh = _kept_and_fresh(engine, path)
    assert kept == fresh and "real_room" in kept[0]["venue"]
    assert "ghost_room" not in kept[0]["venue"] and "ghost_room" not in kept[1]["venue"]


def test_places_alike_share_one_answer_and_each_is_offered_its_own(engine: Engine, town: Town) -> None:
    """A township's own venue: every place in the township is offered it, through one shared answer (a kept book
    holds one answer per set of local items' places that hold the place asked about, not one per place); the
    county above the township is not offered it."""
    township = town.places.township
    administer(engine, town["admin"], lambda conn, a: reference.add_item(
        conn, a, kind="venue", label="青龙镇说理堂", code="qinglong_room", township=township.code))  # fmt: skip
    grids = [g.path for g in town.places.grids]
    with reads(engine) as conn:
        offered = [load_reference(conn, path) for path in grids]
        county = load_reference(conn, town.places.county.path)
        book = ReferenceBook(conn)
        fresh = [book.at(path) for path in grids]
    assert offered == fresh and all(o is offered[0] for o in offered)
    assert offered[0]["venue"]["qinglong_room"] == "青龙镇说理堂"
    assert "qinglong_room" not in county["venue"]
    with reads(engine) as conn:
        assert load_reference(conn, town.places.county.path) == ReferenceBook(conn).at(town.places.county.path)


def test_a_case_shows_its_places_name_kept_with_the_book_and_renamed_at_once(engine: Engine, town: Town) -> None:
    """The case's place name comes with the kept book (no read of its own per view) and follows a rename at the
    next view, as on the case page and in the API's view."""
    case_id = register(engine, town)
    view = case_view(engine, town["mediator"], case_id)
    grid = next(p for p in town.places.grids + town.places.villages if p.id == view.case["jurisdiction_id"])
    assert view.place == grid.name
    assert case_page(engine, town["mediator"], case_id).place == grid.name
    administer(engine, town["admin"], lambda conn, a: places.rename_place(conn, a, code=grid.code, name="石龙一网格"))
    assert case_view(engine, town["mediator"], case_id).place == "石龙一网格"
    assert case_page(engine, town["mediator"], case_id).place == "石龙一网格"
