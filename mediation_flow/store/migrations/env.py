"""Alembic environment: runs against the connection handed over by mediation_flow.store.migrate."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import mediation_flow.store.models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic is called by hand without our CLI
    raise RuntimeError("run migrations through `mediation-flow db upgrade`")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
