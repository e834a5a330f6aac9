"""Reference data is kept while nothing is written (``store.unchanged``, issue 15: every case page and form read
it) and never stale: after a township's venue is added, retired or renamed, or a partner agency added, what is
offered and what is labelled equal a fresh read; with nothing written a second read gives the kept answer.
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from factories import Town
from sqlalchemy import Connection, Engine

from mediation_flow.accounts.admin_log import administer
from mediation_flow.places import reference_changes as reference
from mediation_flow.places.agencies import add_agency
from mediation_flow.places.reference import ReferenceBook, _read_labels, load_reference, reference_labels
from mediation_flow.store.db import write_transaction
from mediation_flow.store.reads import reads
from mediation_flow.vocabulary import AgencyKind


def _kept_and_fresh(engine: Engine, path: str) -> tuple[Any, Any]:
    with reads(engine) as conn:
        kept = (load_reference(conn, path), reference_labels(conn))
        fresh = (ReferenceBook(conn).at(path), _read_labels(conn))
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
