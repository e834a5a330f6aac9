"""The JSON API under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from web.api import account, auth, cases, meta, queues, reports

router = APIRouter(prefix="/api/v1")
router.include_router(auth.router)
router.include_router(account.router)
router.include_router(meta.router)
router.include_router(cases.router)
router.include_router(queues.router)
router.include_router(reports.router)
