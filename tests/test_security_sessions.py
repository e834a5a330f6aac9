"""Issue 14, finding 6: signing out ends the session on the server — a copy of the cookie taken before the
sign-out no longer signs anyone in — and the session cookie is ``Secure`` when the site is served over
HTTPS (``MEDIATION_FLOW_SECURE_COOKIES``: auto by default, always, never). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from factories import PASSWORD
from fastapi.testclient import TestClient
from security_helpers import api_login, own_data_dir
from sqlalchemy import func, select
from test_web_pages import csrf_of

from mediation_flow.store.tables import SESSIONS
from web.app import create_app
from web.session import SESSION_COOKIE


def _sign_in(client: TestClient, username: str = "mediator") -> str:
    csrf = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 303, answer.text[:300]
    return answer.headers["set-cookie"]


def test_a_cookie_copied_before_sign_out_stops_working(engine: Any, town: Any, tmp_path: Any, monkeypatch: Any) -> None:
    with own_data_dir(tmp_path, monkeypatch):
        app = create_app(engine)
        with TestClient(app, follow_redirects=False) as browser, TestClient(app, follow_redirects=False) as thief:
            _sign_in(browser)
            stolen = browser.cookies[SESSION_COOKIE]
            thief.cookies.set(SESSION_COOKIE, stolen)
            assert thief.get("/my").status_code == 200  # the copy works while the session is open
            other = TestClient(app, follow_redirects=False)
            _sign_in(other)  # the same user on another device
            csrf = csrf_of(browser.get("/my").text)
            assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
            after = thief.get("/my")
            assert after.status_code == 303 and after.headers["location"].startswith("/login")
            assert other.get("/my").status_code == 200  # only the session signed out ends
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SESSIONS)).scalar() == 1


@pytest.mark.parametrize(
    ("setting", "scheme", "secure"),
    [("auto", "https", True), ("auto", "http", False), ("always", "http", True), ("never", "https", False)],
)
def test_the_session_cookie_is_secure_over_https(
    engine: Any, town: Any, tmp_path: Any, monkeypatch: Any, setting: str, scheme: str, secure: bool
) -> None:
    with own_data_dir(tmp_path, monkeypatch, secure_cookies=setting):
        app = create_app(engine)
        with TestClient(app, base_url=f"{scheme}://testserver", follow_redirects=False) as client:
            cookie = client.get("/login").headers["set-cookie"]  # the session (its CSRF token) starts here
    assert ("; secure" in cookie.lower()) is secure, cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


@contextmanager
def _signed_in_browser(engine: Any, tmp_path: Any, monkeypatch: Any) -> Iterator[tuple[TestClient, TestClient]]:
    """The mediator signed in in a browser (a page open), and an API client beside it."""
    with own_data_dir(tmp_path, monkeypatch):
        app = create_app(engine)
        with TestClient(app, follow_redirects=False) as browser, TestClient(app) as api:
            _sign_in(browser)
            assert browser.get("/my").status_code == 200
            yield browser, api


def _signed_out(browser: TestClient) -> bool:
    after = browser.get("/my")
    return after.status_code == 303 and after.headers["location"].startswith("/login")


def test_disabling_an_account_ends_its_browser_sessions_for_good(
    engine: Any, town: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """A session open when the account was disabled does not come back when the account is re-enabled."""
    with _signed_in_browser(engine, tmp_path, monkeypatch) as (browser, api):
        admin, url = api_login(api, "admin"), "/api/v1/admin/accounts/mediator"
        assert api.patch(url, headers=admin, json={"active": False}).status_code == 200
        assert _signed_out(browser)
        assert api.patch(url, headers=admin, json={"active": True}).status_code == 200
        assert _signed_out(browser)
    mediator = SESSIONS.c.user_id == town["mediator"].id  # the admin's API token has a session of its own
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SESSIONS).where(mediator)).scalar() == 0


def test_a_password_changed_elsewhere_ends_this_browser_session(
    engine: Any, town: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    with _signed_in_browser(engine, tmp_path, monkeypatch) as (browser, api):
        change = {"current_password": PASSWORD, "new_password": "new-pass-99"}
        changed = api.post("/api/v1/account/password", json=change, headers=api_login(api, "mediator"))
        assert changed.status_code == 200, changed.text
        assert _signed_out(browser)
