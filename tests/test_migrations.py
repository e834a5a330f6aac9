"""Migrations: every database ends at the head revision, with the back end's own indexes."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from mediation_flow.store.migrate import alembic_config


def test_database_is_at_head_with_backend_specific_indexes(engine):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head
    names = {index["name"] for index in inspect(engine).get_indexes("dispute_case")}
    assert {"ix_case_state_path", "ix_case_jurisdiction_path"} <= names
    # LIKE on a subtree uses an index under any PostgreSQL collation; SQLite uses a range instead.
    assert ("ix_case_path_pattern" in names) == (engine.dialect.name == "postgresql")
