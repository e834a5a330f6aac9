"""Liveness (/healthz: the process answers) and readiness (/readyz: database reachable, schema at head)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mediation_flow.store.readiness import readiness
from web.deps import EngineDep

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """No I/O, so no worker thread: the framework's own per-request cost (the benchmarks' bare endpoint)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep) -> JSONResponse:
    ready, body = readiness(engine)
    return JSONResponse(body, status_code=200 if ready else 503)
