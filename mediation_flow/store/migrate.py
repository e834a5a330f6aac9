"""Schema migrations (Alembic) and the set-up every database gets: reference data, workflow versions."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from mediation_flow.places.reference import seed_reference
from mediation_flow.store.db import write_transaction
from mediation_flow.workflow.registry import REGISTRY


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(str(resources.files("mediation_flow.store"))) / "migrations"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision``, then load reference data and record workflow versions."""
    config = alembic_config()
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    with write_transaction(engine) as conn:
        seed_reference(conn)
    sync_workflows(engine)


def sync_workflows(engine: Engine) -> dict[str, int]:
    """Record the workflow files' versions; a second process doing the same at once is harmless."""
    for attempt in range(3):
        try:
            with write_transaction(engine) as conn:
                return REGISTRY.sync(conn)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("dispute_case")
