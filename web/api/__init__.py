"""The JSON API under /api/v1."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from web.api import account, admin, audit, auth, cases, handoffs, meta, queues, related, reports
from web.api.schemas import ErrorResponse

# Every API error is the same structured body (web.errors); documented once for every route.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 413, 422, 429)
}
router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)
router.include_router(auth.router)
router.include_router(account.router)
router.include_router(meta.router)
router.include_router(cases.router)
router.include_router(related.router)
router.include_router(audit.router)
router.include_router(queues.router)
router.include_router(handoffs.router)
router.include_router(reports.router)
router.include_router(admin.router)
