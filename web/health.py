"""Liveness (/healthz: the process answers) and readiness (/readyz: database reachable, schema at head)."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from mediation_flow.store.migrate import alembic_config
from web.deps import EngineDep

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """No I/O, so no worker thread: the framework's own per-request cost (the benchmarks' bare endpoint)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep) -> JSONResponse:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        body = {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__}
        return JSONResponse(body, status_code=503)
    if current != head:
        body = {"status": "unavailable", "database": "ok", "migrations": f"at {current}, head is {head}"}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok", "migrations": current})
