"""Security headers, a request id, and one structured (JSON) log line per request.

A plain ASGI middleware (no BaseHTTPMiddleware): it wraps ``send`` to add headers and to learn the
status, so streamed responses stay streamed. Every log message goes through
``personal_data.mask_text``: an ID number or a mobile number typed into a URL never reaches the log.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any, TextIO
from urllib.parse import unquote_plus

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mediation_flow.accounts.personal_data import mask_text
from mediation_flow.store.reads import RequestReads, begin_request, end_request

REQUEST_ID_HEADER = "X-Request-ID"
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("mediation_flow.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, masked message, request id and any ``extra`` fields."""

    FIELDS = ("method", "path", "status", "duration_ms", "client")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_text(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                value = getattr(record, name)
                entry[name] = mask_text(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class _OffPathHandler(logging.handlers.QueueHandler):
    """Queues records for ``_WRITER``'s thread: formatting and the write to stderr happen off the request
    path. The record is queued as it is (the standard ``prepare`` would format it here, on the request)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


_WRITER: logging.handlers.QueueListener | None = None


def configure_logging(level: int = logging.INFO, *, stderr: bool = True) -> logging.Handler | None:
    """Send the ``mediation_flow`` loggers to stderr as JSON lines, written by a thread of their own; idempotent.
    Records still propagate at once, so a root handler (a test's log capture, a host's logging set-up) sees
    them too. ``flush_logs`` (called at shutdown and at exit) writes whatever is queued. With ``stderr`` False
    (``MEDIATION_FLOW_LOG_STDERR=false``: the test suite) only the level is set: the records go to the host's
    handlers alone, and no thread writes to a stderr a test runner has swapped."""
    global _WRITER
    logger = logging.getLogger("mediation_flow")
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    if not stderr:
        return None
    for handler in logger.handlers:
        if isinstance(handler, _OffPathHandler):
            return handler
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    stderr = _StderrHandler()
    stderr.setFormatter(JsonFormatter())
    handler = _OffPathHandler(records)
    _WRITER = logging.handlers.QueueListener(records, stderr)
    _WRITER.start()
    atexit.register(_WRITER.stop)  # a clean exit writes what is queued
    logger.addHandler(handler)
    return handler


def flush_logs() -> None:
    """Write every queued log line now: the writer thread is stopped after the queue's last record (what
    ``stop`` does) and started again."""
    if _WRITER is not None and _WRITER._thread is not None:
        _WRITER.stop()
        _WRITER.start()


class SecurityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        reads, reads_token = begin_request()  # the request's shared read connection (store.reads)
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                await _released(reads)  # the answer is made: a page that did not render (a file) gives it back
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                present = {k.lower() for k, _ in headers}
                extra = {"Content-Security-Policy": CSP, **SECURITY_HEADERS, REQUEST_ID_HEADER: request_id}
                if not path.startswith("/static/"):  # pages, API answers, files: personal data is never cached
                    extra["Cache-Control"] = "no-store"
                for name, value in extra.items():
                    if name.lower().encode() not in present or name == REQUEST_ID_HEADER:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            try:
                await _released(reads)  # a request that failed before its answer
            finally:
                end_request(reads_token)
                # Decoded before masking: a percent-encoded or "+"-spaced number would slip past mask_text.
                query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
                access_log.info(  # not "path status": a 15-digit place code and a status would read as an ID number
                    "%s %s%s → %s",
                    scope.get("method", ""),
                    path,
                    f"?{query}" if query else "",
                    status,
                    extra={
                        "request_id": request_id,
                        "method": scope.get("method", ""),
                        "path": path + (f"?{query}" if query else ""),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "client": (scope.get("client") or ("-",))[0],
                    },
                )
                request_id_var.reset(token)


_RELEASES: list[anyio.CapacityLimiter] = []


async def _released(reads: RequestReads) -> None:
    """Return the request's read connection if it still holds one (its ROLLBACK is a round trip: in a worker
    thread). On a limiter of its own: waiting for one of the default worker threads, which may all be waiting
    for a pooled connection, while holding one could deadlock (store.reads). Shielded: a client that went away
    does not leave the connection checked out."""
    if not reads.held():
        return
    if not _RELEASES:
        _RELEASES.append(anyio.CapacityLimiter(4))
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(reads.release, limiter=_RELEASES[0])


def install_security(app: Starlette) -> None:
    """Wrap the whole middleware stack, Starlette's ServerErrorMiddleware included, so that even a 500
    page carries the headers and the request id (``add_middleware`` would sit inside it)."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityMiddleware(build())  # type: ignore[method-assign]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
