"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from mediation_flow.cases.attachments import clean_partials
from mediation_flow.store.config import get_settings
from mediation_flow.store.db import get_engine
from mediation_flow.store.migrate import sync_workflows
from web import heap
from web.api import router as api_router
from web.errors import install_api_error_handlers
from web.health import router as health_router
from web.input_guard import BodyLimit, refuse_bad_text
from web.middleware import configure_logging, flush_logs, install_security
from web.pages import install_pages


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    thresholds = heap.settle()  # the worker's start-up objects are never walked by the collector again
    yield
    heap.unsettle(thresholds)
    flush_logs()  # a clean shutdown leaves no access-log line unwritten


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="mediation_flow",
        version="0.1.0",
        description="矛盾纠纷调解案件管理：登记、受理、调解、协议、转办、回访、结案与统计。",
        dependencies=[Depends(refuse_bad_text)],  # the text-input policy before any route or sign-in
        # No Swagger UI / ReDoc: they need inline script and a CDN, which the CSP forbids; /openapi.json
        # describes the API for any client or viewer run elsewhere.
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = engine or get_engine()
    clean_partials(get_settings().data_dir)  # uploads a crash interrupted (each worker: only stale ones)
    sync_workflows(app.state.engine)
    install_api_error_handlers(app)
    app.include_router(api_router)
    install_pages(app)

    app.include_router(health_router)
    app.add_middleware(BodyLimit)  # outside the pages' middleware, inside the error handlers
    configure_logging(stderr=get_settings().log_stderr)
    install_security(app)  # outermost, around the 500 handler too: every response gets the headers

    return app
