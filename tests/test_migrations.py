"""Migrations: every database ends at the head revision, with the back end's own indexes; an empty database
upgraded to head has exactly the models' schema; old revisions depend on nothing in the code."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import mediation_flow.store.models
from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.migrate import alembic_config, upgrade

VERSIONS = Path(mediation_flow.store.models.__file__).parent / "migrations" / "versions"
LIBRARIES = {"alembic", "sqlalchemy"}  # what a revision may import: never our code, never sqlmodel


def test_database_is_at_head_with_backend_specific_indexes(engine):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head
    names = {index["name"] for index in inspect(engine).get_indexes("dispute_case")}
    assert {"ix_case_state_path", "ix_case_jurisdiction_path"} <= names
    # LIKE on a subtree uses an index under any PostgreSQL collation; SQLite uses a range instead. A township's
    # queue reads PostgreSQL's township-keyed index (0020); SQLite keeps its due-date index.
    postgres = engine.dialect.name == "postgresql"
    assert ("ix_case_path_pattern" in names) == postgres
    assert ("ix_case_queue_township" in names) == postgres
    counts = {index["name"] for index in inspect(engine).get_indexes("case_count")}
    assert ("ix_case_count_place_due" in counts) == postgres
    assert "ix_case_count_due" in counts  # the header's latest due dates first (0021), on both


def test_an_empty_database_upgraded_to_head_has_the_models_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            differences = [(diff[0], diff[1].name) for diff in compare_metadata(context, SQLModel.metadata)]
    finally:
        engine.dispose()
    # The deliberate extras, which the models cannot declare for one back end only: PostgreSQL's
    # varchar_pattern_ops index for subtree LIKE (revision 0006), the township-keyed queue index on an expression
    # and the kept counts' index by place and due date (0020).
    pg_only = ["ix_case_count_place_due", "ix_case_path_pattern", "ix_case_queue_township"]
    expected = [("remove_index", name) for name in pg_only] if engine.dialect.name == "postgresql" else []
    assert sorted(differences) == expected


def test_0011_renames_the_liaison_role_and_adds_the_handoff_columns(db_url: str) -> None:
    """The old ``liaison`` (the police station's contact) becomes ``police_liaison``, without an agency until
    an administrator attaches one; cases get ``agency_id`` and ``handoff``, empty."""
    engine = make_engine(db_url)
    try:
        config = alembic_config()
        with write_transaction(engine) as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0010")
        with write_transaction(engine) as conn:
            conn.execute(
                text(
                    "INSERT INTO app_user (username, display_name, role, password_hash, is_active, created_at) "
                    "VALUES ('old', '联络员', 'liaison', 'x', TRUE, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            user = conn.execute(text("SELECT role, agency_id FROM app_user WHERE username = 'old'")).one()
            columns = {c["name"] for c in inspect(conn).get_columns("dispute_case")}
        assert tuple(user) == ("police_liaison", None)
        assert {"agency_id", "handoff"} <= columns
    finally:
        engine.dispose()


def test_revisions_import_nothing_from_the_code() -> None:
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        roots = {name.split(".")[0] for name in imported}
        assert roots <= LIBRARIES, f"{path.name} imports {sorted(roots - LIBRARIES)}"
