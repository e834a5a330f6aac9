"""Is the database ready to serve: reachable, and its schema at the migrations' head (``/readyz``)."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from mediation_flow.store.migrate import alembic_config


def readiness(engine: Engine) -> tuple[bool, dict[str, str]]:
    """(ready, what to answer): unreachable, behind the head, or ready at ``migrations``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        return False, {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__}
    if current != head:
        return False, {"status": "unavailable", "database": "ok", "migrations": f"at {current}, head is {head}"}
    return True, {"status": "ready", "database": "ok", "migrations": str(current)}
