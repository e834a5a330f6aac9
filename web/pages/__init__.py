"""The Jinja2 + htmx pages: sign-in, intake, case pages, queues, dashboard and workflow diagrams."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from web.pages import admin, auth, cases, files, intake, lists, notices, reports, supervisor, workflows
from web.pages.common import LoginRequired
from web.session import install_sessions

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install_pages(app: FastAPI) -> None:
    """Mount the static files, the session cookie and every page router (security headers: web.middleware)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, intake, lists, cases, files, notices, supervisor, workflows, admin, reports):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = f"/login?next={request.url.path}"
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=200, headers={"HX-Redirect": target, "Vary": "HX-Request"})
        return RedirectResponse(target, status_code=303, headers={"Vary": "HX-Request"})

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if not request.url.path.startswith("/api") and response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Vary"] = "HX-Request"
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    install_sessions(app)
