"""The Jinja2 + htmx pages: sign-in, intake, case pages, queues, dashboard and workflow diagrams."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.pages import (
    account,
    admin,
    agency,
    auth,
    cases,
    county,
    files,
    intake,
    lists,
    notices,
    pwa,
    related,
    reports,
    supervisor,
    workflows,
)
from web.pages.common import LoginRequired, MustChangePassword
from web.session import install_sessions

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install_pages(app: FastAPI) -> None:
    """Mount the static files, the session cookie and every page router (security headers: web.middleware)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (
        auth,
        intake,
        lists,
        cases,
        related,
        files,
        notices,
        supervisor,
        county,
        agency,
        workflows,
        admin,
        account,
        reports,
        pwa,
    ):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = f"/login?next={request.url.path}"
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=200, headers={"HX-Redirect": target, "Vary": "HX-Request"})
        return RedirectResponse(target, status_code=303, headers={"Vary": "HX-Request"})

    @app.exception_handler(MustChangePassword)
    async def _password(request: Request, exc: MustChangePassword) -> Response:
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=200, headers={"HX-Redirect": "/account", "Vary": "HX-Request"})
        return RedirectResponse("/account", status_code=303, headers={"Vary": "HX-Request"})

    app.add_middleware(PageHeaders)
    install_sessions(app)


class PageHeaders:
    """Every HTML page (not the API) varies on ``HX-Request`` (full page or fragment) and is not cached.

    Plain ASGI: it edits the response's start message (a ``BaseHTTPMiddleware`` would cost a task group
    and a memory stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Vary"] = "HX-Request"
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
