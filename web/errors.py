"""Errors as structured JSON for the API (Chinese message, stable code), never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mediation_flow.display.errors import translate
from mediation_flow.display.labels import label
from mediation_flow.errors import DomainError

log = logging.getLogger("mediation_flow.web")


def error_body(code: str, message: str, **details: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **details}}


def status_message(status: int) -> str:
    """What an HTTP error says when nothing more specific is known (from the glossary)."""
    return label("http_status", status, default="请求失败")


def _page(request: Request) -> bool:
    """Errors of the pages (everything outside /api and the OpenAPI docs) are shown as HTML."""
    path = request.url.path
    return not (path.startswith("/api") or path.startswith("/docs") or path == "/openapi.json")


def _html(request: Request, status: int, message: str, errors: list[dict[str, str]] | None = None) -> Response:
    from web.pages.common import html_error

    return html_error(request, status, message, errors)


def install_api_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if _page(request):
            return _html(request, exc.status, exc.message, getattr(exc, "errors", None))
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 429 and "retry_after" in exc.details:
            headers = {"Retry-After": str(exc.details["retry_after"])}
        return JSONResponse(error_body(**exc.as_dict()), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = translate(exc.errors())
        if _page(request):
            return _html(request, 422, status_message(422), errors)
        return JSONResponse(error_body("invalid_request", status_message(422), errors=errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = status_message(exc.status_code)
        if isinstance(exc.detail, str) and not exc.detail.isascii():  # our own, in Chinese (e.g. a body limit)
            message = exc.detail
        if _page(request):
            return _html(request, exc.status_code, message)
        return JSONResponse(
            error_body(f"http_{exc.status_code}", message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _page(request):
            return _html(request, 500, status_message(500))
        return JSONResponse(error_body("internal_error", status_message(500)), status_code=500)
