"""Errors as structured JSON for the API (Chinese message, stable code), never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from mediation_flow.errors import DomainError

log = logging.getLogger("mediation_flow.web")
STATUS_MESSAGES = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面或资源不存在",
    405: "不支持该请求方法",
    413: "上传内容过大",
    415: "不支持的内容类型",
    422: "提交的数据有误",
    429: "请求过于频繁，请稍后再试",
}


def error_body(code: str, message: str, **details: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **details}}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        kind = err.get("type", "")
        if kind == "json_invalid":
            message = "JSON 格式错误"
        elif kind == "missing":
            message = "缺少必填项"
        elif kind == "string_too_long":
            message = f"长度不能超过{(err.get('ctx') or {}).get('max_length')}"
        elif kind == "extra_forbidden":
            message = "未知字段"
        else:
            message = "格式不正确"
        errors.append({"field": ".".join(loc) or "(body)", "message": message})
    return errors


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
        if _page(request):
            return _html(request, 422, "提交的数据有误", _validation_errors(exc))
        return JSONResponse(
            error_body("invalid_request", "提交的数据有误", errors=_validation_errors(exc)), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = STATUS_MESSAGES.get(exc.status_code, "请求失败")
        if _page(request):
            return _html(request, exc.status_code, message)
        return JSONResponse(
            error_body(f"http_{exc.status_code}", message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if _page(request):
            return _html(request, 500, "系统内部错误，请稍后重试；数据未被修改")
        return JSONResponse(error_body("internal_error", "系统内部错误，请稍后重试；数据未被修改"), status_code=500)
