"""``cases.queries.user_names``: names by id, eight at a time through one statement of fixed shape. More than
eight, fewer than eight, an id nobody has and none at all each give exactly the names of the users asked for;
SQLite and PostgreSQL."""

from __future__ import annotations

from factories import PASSWORD, Town
from sqlalchemy import Engine

from mediation_flow.accounts.users import add_user
from mediation_flow.cases.queries import user_names
from mediation_flow.store.db import write_transaction
from mediation_flow.store.reads import reads
from mediation_flow.vocabulary import Role


def test_names_by_id_in_chunks_of_eight(engine: Engine, town: Town) -> None:
    with write_transaction(engine) as conn:
        added = {
            add_user(
                conn, username=f"med{n}", password=PASSWORD, role=Role.MEDIATOR, display_name=f"调解员{n}号",
                jurisdiction_code=town.places.township.code,
            ): f"调解员{n}号"
            for n in range(19)
        }  # fmt: skip
    ids = sorted(added)
    nobody = max(ids) + 1000
    with reads(engine) as conn:
        assert user_names(conn, set(ids)) == added  # three statements: 8, 8 and 3
        assert user_names(conn, set(ids[:8])) == {i: added[i] for i in ids[:8]}
        assert user_names(conn, {ids[0], nobody}) == {ids[0]: added[ids[0]]}
        assert user_names(conn, {nobody}) == {}
        assert user_names(conn, set()) == {}
