"""Issue 15, 最小必要, in Chromium against a real server (phone 390×844 and desktop): a mediator's case page shows
the parties masked; 查看完整信息 on the card shows the ID number and phone in full in place (the answer not kept:
no-store, not in the service worker's caches); after signing out nothing of them is left in the browser — not on
the page, not in its storage or caches, not behind Back. Screenshots in test-artifacts/screenshots/ (reveal-*)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from server_harness import Server
from test_browser_flow import (  # noqa: F401  (fixtures)
    SHOTS,
    chromium,
    demo_db,
    server,
    shot,
)
from test_case_page_browser import SIZES, mediator_on_a_new_case

from mediation_flow.accounts.personal_data import make_id_number, mask_id_number

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
ON = {"phone": "手机", "desktop": "电脑"}
ID_NUMBER = make_id_number("500101", date(1968, 8, 9), 51)
PHONE_NUMBER, MASKED_PHONE = "13712345608", "137****5608"
ADDRESS = "青龙镇龙井村三组18号"

# Everything the browser keeps for the site: its storage and the service worker's caches (URLs and bodies).
KEPT = """async () => {
  const out = [JSON.stringify(localStorage), JSON.stringify(sessionStorage)];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      out.push(request.url);
      const hit = await cache.match(request);
      out.push(hit ? await hit.text() : "");
    }
  }
  return out.join("\\n");
}"""


@pytest.mark.parametrize("size", SIZES)
def test_a_mediator_sees_the_parties_masked_and_in_full_only_on_asking(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
    size: str,
) -> None:
    more = {"#p0-phone": PHONE_NUMBER, "#p0-id": ID_NUMBER, "#p0-address": ADDRESS}
    page, url = mediator_on_a_new_case(chromium, server.base_url, f"林一与郭二院坝纠纷（{ON[size]}）", size, more)
    card = page.locator("#case-parties")
    assert card.locator("[data-identity=masked]").count() == 1
    shown = card.inner_text()
    assert mask_id_number(ID_NUMBER) in shown and MASKED_PHONE in shown and "林一" in shown
    html = page.content()
    assert ID_NUMBER not in html and PHONE_NUMBER not in html and ADDRESS not in html
    button = card.locator("[data-identity-reveal]")
    assert button.inner_text() == "查看完整信息" and button.is_visible()
    card.scroll_into_view_if_needed()
    shot(page, f"reveal-1-masked-{size}")
    card.screenshot(path=str(SHOTS / f"reveal-1-card-masked-{size}.png"))

    with page.expect_response(lambda r: r.url.endswith("/parties/full")) as answered:
        button.click()
    assert answered.value.status == 200 and answered.value.headers["cache-control"] == "no-store"
    card.locator("[data-identity=full]").wait_for()
    full = card.inner_text()
    assert ID_NUMBER in full and PHONE_NUMBER in full and ADDRESS in full
    assert "已显示完整信息" in full and card.locator("[data-identity-reveal]").count() == 0
    assert page.url == url  # in place: the address stays the case's
    card.scroll_into_view_if_needed()
    shot(page, f"reveal-2-full-{size}")
    card.screenshot(path=str(SHOTS / f"reveal-2-card-full-{size}.png"))
    page.wait_for_load_state("networkidle")
    kept = page.evaluate(KEPT)
    assert ID_NUMBER not in kept and PHONE_NUMBER not in kept and "/parties/full" not in kept

    page.click("header button:has-text('退出')")
    page.wait_for_url("**/login")
    page.wait_for_load_state("networkidle")
    for where in ("signed out", "back"):
        html, kept = page.content(), page.evaluate(KEPT)
        for number in (ID_NUMBER, PHONE_NUMBER, ADDRESS):
            assert number not in html and number not in kept, (where, number)
        if where == "signed out":
            shot(page, f"reveal-3-signed-out-{size}")
            page.go_back()  # Back: the case page is not kept (no-store), asked again it is the login page
            page.wait_for_load_state("networkidle")
    assert "/login" in page.url or page.locator("#username").count() == 1
    shot(page, f"reveal-4-back-after-sign-out-{size}")
    page.context.close()
