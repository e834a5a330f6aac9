"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from mediation_flow.store.db import get_engine
from mediation_flow.store.migrate import sync_workflows
from web.api import router as api_router
from web.errors import install_api_error_handlers
from web.health import router as health_router
from web.middleware import configure_logging, install_security
from web.pages import install_pages


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="mediation_flow",
        version="0.1.0",
        description="矛盾纠纷调解案件管理：登记、受理、调解、协议、转办、回访、结案与统计。",
    )
    app.state.engine = engine or get_engine()
    sync_workflows(app.state.engine)
    install_api_error_handlers(app)
    app.include_router(api_router)
    install_pages(app)

    app.include_router(health_router)
    configure_logging()
    install_security(app)  # outermost, around the 500 handler too: every response gets the headers

    return app
