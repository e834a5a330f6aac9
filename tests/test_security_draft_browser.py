"""Issue 14, finding 7, in Chromium against a real server (phone 390×844 and desktop): the register page's
draft is kept per user, never holds an ID number or a phone, and is gone from the browser after signing out
— the next user of the same device gets an empty form. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from server_harness import Server
from test_browser_flow import DESKTOP, PHONE, chromium, demo_db, new_page, server, shot  # noqa: F401  (fixtures)

from mediation_flow.demo import demo_password

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
PREFIX = "mediation_flow.draft."


def _drafts(page: Any) -> dict[str, Any]:
    raw = page.evaluate(
        "p => Object.fromEntries(Object.keys(localStorage).filter(k => k.startsWith(p))"
        ".map(k => [k, localStorage.getItem(k)]))",
        PREFIX,
    )
    return {key: json.loads(value) for key, value in raw.items()}


def _sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", demo_password(username))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.mark.parametrize(("viewport", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_draft_is_per_user_holds_no_identity_and_goes_at_sign_out(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
    viewport: dict[str, int],
    name: str,
) -> None:
    page = new_page(chromium, viewport)
    context = page.context
    page.set_default_timeout(15_000)
    _sign_in(page, server.base_url, "wangge")
    page.goto(f"{server.base_url}/register")
    page.fill("#title", "孙三与周四噪音纠纷")
    page.fill("#p0-name", "孙三")
    page.fill("#p0-phone", "13912345678")
    page.fill("#p0-id", "11010519491231002X")
    page.fill("#summary", "楼上夜间噪音。")
    drafts = _drafts(page)
    assert len(drafts) == 1, drafts
    (key, draft), *_ = drafts.items()
    assert key.startswith(PREFIX + "register.") and key != PREFIX + "register"
    assert draft["data"]["title"] == "孙三与周四噪音纠纷"
    stored = json.dumps(drafts, ensure_ascii=False)
    assert "13912345678" not in stored and "11010519491231002X" not in stored
    page.reload()
    assert page.input_value("#title") == "孙三与周四噪音纠纷" and page.input_value("#p0-id") == ""
    shot(page, f"14-draft-restored-without-identity-{name}")

    page.click("text=退出")
    page.wait_for_url("**/login")
    assert _drafts(page) == {}
    shot(page, f"14-signed-out-draft-gone-{name}")
    _sign_in(page, server.base_url, "tiaojie")  # the next user of the same device
    page.goto(f"{server.base_url}/register")
    assert page.input_value("#title") == "" and page.input_value("#summary") == ""
    assert not page.locator("[data-draft-note]").is_visible()
    shot(page, f"14-next-user-empty-form-{name}")
    context.close()
