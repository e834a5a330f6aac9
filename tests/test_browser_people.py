"""The same people again and the search that finds them, in a real browser (issue 16): Chromium against a
real server on the demo township. A grid worker registers two disputes of the same person on a phone; the
second's case page shows the related-disputes panel; a supervisor dismisses the link on a desktop; a
mediator finds the person by a spaced phone number on a phone. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import test_browser_flow as flow
from server_harness import Server

from mediation_flow.accounts.personal_data import make_id_number

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
chromium, demo_db, server = flow.chromium, flow.demo_db, flow.server  # the same real browser and server
ZHOU_ID = make_id_number("500101", date(1968, 3, 9), 57)


def _register(chromium: Any, server: Server, title: str) -> str:
    return flow.register_in_browser(
        chromium,
        server.base_url,
        "wangge",
        {
            "#title": title,
            "#p0-name": "周大勇",
            "#p0-phone": "139 0011 2233",
            "#p0-id": ZHOU_ID,
            "#p1-name": "吴小梅",
            "#summary": "两户因排水沟走向再次发生争执。",
            "#people_involved": "2",
        },
        selects={"#category": "neighbourhood"},
        viewport=flow.PHONE,
    )


def test_related_disputes_search_and_a_dismissed_link(chromium: Any, server: Server) -> None:
    first = _register(chromium, server, "周大勇与吴小梅排水纠纷")

    page = flow.sign_in(chromium, server.base_url, "wangge", flow.PHONE)  # at registration: a hint as they type
    page.goto(f"{server.base_url}/register")
    page.fill("#p0-name", "周大勇")
    page.fill("#p0-id", " ".join([ZHOU_ID[:6], ZHOU_ID[6:14], ZHOU_ID[14:]]))
    page.locator("#p0-id").blur()
    hint = page.locator("#register-related .related-hint")
    hint.wait_for()
    assert "周大勇：该当事人近两年涉及1起纠纷" in hint.inner_text()
    assert "身份证号相同（关联度强）" in hint.inner_text()
    hint.scroll_into_view_if_needed()
    page.screenshot(path=str(flow.SHOTS / "people-00-related-at-registration-phone.png"))
    page.context.close()

    second = _register(chromium, server, "周大勇与吴小梅排水纠纷（再次）")

    page = flow.sign_in(chromium, server.base_url, "wangge", flow.PHONE)
    page.goto(second)
    panel = page.locator("#case-related")
    panel.locator(".related-summary").first.wait_for()
    assert panel.locator(".related-summary").first.inner_text() == "该当事人近两年涉及1起纠纷"
    zhou, wu = panel.locator(".party").nth(0), panel.locator(".party").nth(1)
    assert zhou.locator(f'a[href="{first.removeprefix(server.base_url)}"]').count() == 1
    assert "身份证号相同（关联度强）" in zhou.inner_text() and ZHOU_ID not in zhou.inner_text()  # masked
    assert "同村同名（关联度弱）" in wu.inner_text()  # the other party: a name in the same village
    text = panel.inner_text()
    assert "确认关联" not in text  # a grid worker cannot decide links
    panel.scroll_into_view_if_needed()
    flow.shot(page, "people-01-related-disputes-phone")
    page.context.close()

    page = flow.sign_in(chromium, server.base_url, "sifasuo")
    page.goto(second)
    panel = page.locator("#case-related")
    panel.locator("text=排除").first.wait_for()
    flow.shot(page, "people-02-related-disputes-desktop")
    panel.locator("button:has-text('排除')").first.click()
    page.locator("#case-related .flash").wait_for()
    panel = page.locator("#case-related")
    assert "已排除" in panel.inner_text()
    assert panel.locator(".related-summary").first.inner_text() == "近两年未发现该当事人涉及其他纠纷"
    page.reload()
    page.locator("#case-related .related-summary").first.wait_for()
    assert "已排除" in page.locator("#case-related").inner_text()  # dismissed stays dismissed
    page.context.close()

    page = flow.sign_in(chromium, server.base_url, "tiaojie", flow.PHONE)
    page.goto(f"{server.base_url}/cases")
    page.fill("#q", "+86 139-0011-2233")
    page.click("#case-search button[type=submit]")
    page.wait_for_url(lambda url: "q=" in url)
    titles = page.locator("#case-table .title").all_inner_texts()
    assert sorted(titles) == sorted(["周大勇与吴小梅排水纠纷", "周大勇与吴小梅排水纠纷（再次）"])
    flow.shot(page, "people-03-search-by-phone-phone")
    page.fill("#q", "吴小梅")
    page.locator("summary:has-text('更多条件')").click()
    page.select_option("#f-category", "neighbourhood")
    flow.shot(page, "people-04-search-filters-phone")
    page.click("#case-search button[type=submit]")
    page.wait_for_url(lambda url: "category=neighbourhood" in url)
    assert len(page.locator("#case-table .title").all_inner_texts()) == 2
    page.context.close()

    page = flow.sign_in(chromium, server.base_url, "sifasuo")
    page.goto(f"{server.base_url}/cases?q=周大勇")
    assert len(page.locator("#case-table .title").all_inner_texts()) == 2
    flow.shot(page, "people-05-search-desktop")
    page.context.close()
