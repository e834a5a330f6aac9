"""The text-input policy (``mediation_flow.textinput``) at the edge, for every route: the path parameters, the
query string and the text of a form or JSON body are checked before any route or dependency (sign-in
included) runs, so a NUL byte or another refused character never reaches the database — PostgreSQL answers
a NUL with an error — and is answered with a 422 that says what to remove. Fields then normalise and bound
their own text (``textinput.Line`` / ``Text``).

``BodyLimit``: a request body over its route's limit is refused (413, the same structured error or page as
any other) while it streams in, with or without a Content-Length — a chunked upload is not read to the end,
and a 30 MB JSON body is refused before anyone is signed in. 1 MB for forms and JSON; the uploads their own."""

from __future__ import annotations

import json
import re

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mediation_flow.cases.attachments import MAX_BYTES as ATTACHMENT_BYTES
from mediation_flow.errors import InvalidData
from mediation_flow.ledger.read import MAX_BYTES as LEDGER_BYTES
from mediation_flow.textinput import QUERY_LIMIT, first_refused

BODY_LIMIT = 1024 * 1024  # JSON and forms; an attachment or a ledger file has its route's own limit
# (path, limit in bytes, what the 413 says)
ROUTE_LIMITS = [
    (re.compile(r"/cases/[0-9]+/attachments"), ATTACHMENT_BYTES + 256 * 1024, "文件不能超过10MB"),
    (re.compile(r"/api/v1/reports/ledger/import"), LEDGER_BYTES + 1024 * 1024, "文件过大（上限64MB）"),
]
DEFAULT_LIMIT = (BODY_LIMIT, "提交的内容过大（上限1MB）")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_bad_text(request: Request) -> None:
    """An app-wide dependency: InvalidData (422) for refused characters or an overlong query value."""
    reason = first_refused(list(request.path_params.values()))
    field = "(path)"
    if reason is None:
        items = request.query_params.multi_items()
        reason, field = first_refused([value for item in items for value in item], QUERY_LIMIT), "(query)"
    if reason is None:
        reason, field = first_refused(await _body_text(request)), "(body)"
    if reason is not None:
        raise InvalidData([{"field": field, "message": reason}], message=reason)


async def _body_text(request: Request) -> list[object]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return [json.loads(await request.body())]
        except (ValueError, RecursionError):  # not JSON (or nested too deep): the route answers itself
            return []
    if content_type in _FORMS:
        form = await request.form(max_files=5, max_fields=400)  # what the page forms allow (web.session)
        return [value for key, item in form.multi_items() for value in (key, item) if isinstance(value, str)]
    return []


class BodyLimit:
    """Counts the body as the route reads it; over the limit, the read raises HTTPException(413) with a
    Chinese message, which the app's error handlers answer (JSON for the API, a page for the pages). Plain
    ASGI: nothing is buffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit, too_large = next(((n, m) for p, n, m in ROUTE_LIMITS if p.fullmatch(path)), DEFAULT_LIMIT)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        received = 0

        async def limited() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > limit:
                raise HTTPException(413, too_large)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)
