"""Signed session cookie (Starlette SessionMiddleware) and the per-session CSRF token of the pages.

The cookie holds only the user id, the CSRF token, the password stamp and the server-side session's random
id (signing out deletes that session: the cookie, or a copy of it, stops working), signed with the
settings' secret key; it is HttpOnly, SameSite=Lax, and Secure over HTTPS (``MEDIATION_FLOW_SECURE_COOKIES``).
Every state-changing page request (POST) must carry the token, either as the ``X-CSRF-Token`` header (htmx,
set once on ``<body hx-headers>``) or as the hidden ``csrf_token`` field of a plain form.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import FastAPI, Request
from starlette.datastructures import FormData
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mediation_flow.accounts.policy import Actor
from mediation_flow.errors import DomainError
from mediation_flow.store.config import get_settings

SESSION_COOKIE = "mf_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class CsrfFailed(DomainError):
    code = "csrf_failed"
    status = 403


def install_sessions(app: FastAPI) -> None:
    settings = get_settings()
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_minutes * 60,
        same_site="lax",
        https_only=settings.secure_cookies == "always",
    )
    if settings.secure_cookies == "auto":
        app.add_middleware(SecureOverHttps)


class SecureOverHttps:
    """Marks every cookie ``Secure`` when the request came over HTTPS (``scope["scheme"]``, which uvicorn's
    ``--proxy-headers`` takes from the proxy's ``X-Forwarded-Proto``): the session never travels in clear
    once the site is served over HTTPS, and plain-HTTP development still works."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v + b"; secure" if k.lower() == b"set-cookie" and b"; secure" not in v.lower() else v)
                    for k, v in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_secure)


def csrf_token(request: Request) -> str:
    """This session's token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, form: FormData | None) -> None:
    """The session's token must come back as the header or as the form field (either will do: a page
    swapped in by htmx keeps the ``<body>`` of the page before it, so its header may lag one sign-in)."""
    expected = request.session.get("csrf")
    given = [request.headers.get(CSRF_HEADER), form.get(CSRF_FIELD) if form is not None else None]
    if not isinstance(expected, str) or not any(
        isinstance(value, str) and hmac.compare_digest(expected, value) for value in given
    ):
        raise CsrfFailed("页面已过期或请求来源不明，请刷新页面后重试")


async def verified_form(request: Request) -> FormData:
    """The submitted form, after the CSRF check (a FastAPI dependency for every page POST)."""
    form = await request.form(max_files=5, max_fields=400)
    check_csrf(request, form)
    return form


def sign_in(request: Request, actor: Actor, stamp: str, token: str) -> None:
    """A fresh session for the user (no fixation: the old contents and token are dropped). ``stamp``
    fingerprints the password hash, so changing the password ends this session; ``token`` names the
    server-side session (``accounts.sessions.start_session``), which signing out ends."""
    request.session.clear()
    request.session["uid"] = actor.id
    request.session["st"] = stamp
    request.session["sid"] = token
    request.session["csrf"] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


def session_user_id(request: Request) -> int | None:
    uid = request.session.get("uid")
    return uid if isinstance(uid, int) else None


def session_token(request: Request) -> str | None:
    token = request.session.get("sid")
    return token if isinstance(token, str) else None


def session_stamp(request: Request) -> str:
    stamp = request.session.get("st")
    return stamp if isinstance(stamp, str) else ""
