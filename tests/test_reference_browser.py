"""A township's own venues in a real browser (Debian's Chromium via Playwright, a real server on the demo county),
on a phone (390×844) and on a desktop (1280×800), issue 17: 白马镇's administrator adds a venue and renames one
on /admin (青龙镇's 清风茶室 is not even listed to them); then 白马镇's mediator registers a dispute — the
registration form offers 白马镇's venues, not 清风茶室 — and the 开始调解 form of the case offers the same; 青龙镇's
mediator sees the reverse. Screenshots go to test-artifacts/reference/."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_harness import Server
from test_admin_browser import SIZES, row_action, sign_in
from test_browser_flow import launch, new_page, register_in_browser

from mediation_flow.accounts.users import add_user
from mediation_flow.demo import demo_password, load_demo
from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.migrate import upgrade
from mediation_flow.vocabulary import Role

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "reference"
TOWNSHIP_ADMIN, ADMIN_PASSWORD = "baima_guanli", "baima-guanli-2026"


@pytest.fixture
def server(tmp_path):
    """The demo county (12 cases) and an administrator of 白马镇."""
    url = f"sqlite:///{tmp_path}/demo.db"
    engine = make_engine(url)
    upgrade(engine)
    load_demo(engine, cases=12)
    with write_transaction(engine) as conn:
        add_user(conn, username=TOWNSHIP_ADMIN, password=ADMIN_PASSWORD, role=Role.ADMIN,
                 display_name="白马镇管理员", jurisdiction_code="500101002")  # fmt: skip
    engine.dispose()
    with Server(url, tmp_path, workers=1) as running:
        yield running


def options(page, selector: str) -> list[str]:
    return page.locator(f"{selector} option").all_inner_texts()


def shot_list(page, selector: str, name: str) -> None:
    """A screenshot of the form holding the list ``selector``, the list shown open (every option visible)."""
    page.locator(selector).evaluate("s => { s.size = s.options.length; s.scrollIntoView(); }")
    page.locator(selector).locator("xpath=ancestor::form[1]").screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.locator(selector).evaluate("s => { s.size = 0; }")


def register_and_accept(page, browser, base_url: str, username: str, size: str) -> None:
    """Register a dispute through the form as ``username`` (no venue chosen yet), open it on ``page`` and accept
    it: the 开始调解 form is offered."""
    fields = {"#title": f"排水沟纠纷（{size}）", "#p0-name": "甲某", "#p1-name": "乙某", "#summary": "排水沟争执"}
    url = register_in_browser(browser, base_url, username, fields, selects={"#category": "neighbourhood"},
                              viewport=SIZES[size])  # fmt: skip
    page.goto(url)
    page.click("#case-actions [data-trigger=accept]")
    form = page.locator("form[data-form=accept]")
    form.locator("[name=rights_notified]").first.check()
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#case-actions [data-trigger=start_mediation]")
    page.click("#case-actions [data-trigger=start_mediation]")
    page.locator("form[data-form=start_mediation]").wait_for()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_township_admin_edits_its_venues_and_each_township_is_offered_only_its_own(server, size):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)

        # 白马镇's administrator: its venues and the county's, not 青龙镇's; adds one, renames one
        page = new_page(browser, SIZES[size])
        page.set_default_timeout(20_000)
        sign_in(page, server.base_url, TOWNSHIP_ADMIN, ADMIN_PASSWORD)
        page.goto(f"{server.base_url}/admin#reference")
        venues = page.inner_text("#reference")
        assert "白马议事厅" in venues and "黄桷树下说事点" in venues and "村调解室" in venues
        assert "清风茶室" not in venues
        assert options(page, "#add-venue select[name=township]") == ["白马镇"]  # its own township only
        assert page.locator("#add-category").count() == 0  # categories are the county's
        assert page.locator("#ref-venue-village_room details").count() == 0  # a county item: shown, not changed
        page.fill("#add-venue input[name=label]", "石龙说理堂")
        page.click("#add-venue button[type=submit]")
        page.wait_for_selector("#admin-notice")
        assert "已添加石龙说理堂（白马镇）" in page.inner_text("#admin-notice")
        page.evaluate("for (const e of document.querySelectorAll('#admin-notice, #admin-error')) e.remove()")
        page.click("#ref-venue-baima_hall summary")
        page.fill("#ref-venue-baima_hall input[name=label]", "白马镇议事厅")
        page.click("#ref-venue-baima_hall button:has-text('改名')")
        page.wait_for_selector("#admin-notice")
        assert "白马镇议事厅（旧案件仍显示原名称）" in page.inner_text("#admin-notice")
        row_action(page, "#ref-venue-huangjue_tree", "停用", confirm=True)
        assert "已停用" in page.inner_text("#ref-venue-huangjue_tree")
        page.locator("#reference").screenshot(path=str(ARTIFACTS / f"admin-township-venues-{size}.png"))
        page.context.close()

        # 白马镇's mediator: the registration form and the 开始调解 form offer 白马镇's venues only
        page = new_page(browser, SIZES[size])
        page.set_default_timeout(20_000)
        sign_in(page, server.base_url, "baima", demo_password("baima"))
        page.goto(f"{server.base_url}/register")
        offered = options(page, "#venue")
        assert offered == ["暂不选择", "村调解室", "派出所调解室", "人民法庭诉调对接室", "石龙说理堂", "白马镇议事厅"]
        assert "龙井村" not in " ".join(options(page, "#jurisdiction_code"))
        shot_list(page, "#venue", f"register-baima-{size}")
        register_and_accept(page, browser, server.base_url, "baima", size)
        venues = options(page, "form[data-form=start_mediation] [name=venue]")
        assert "白马镇议事厅" in venues and "石龙说理堂" in venues
        assert not {"清风茶室", "白马议事厅", "黄桷树下说事点"} & set(venues)
        shot_list(page, "form[data-form=start_mediation] [name=venue]", f"start-mediation-baima-{size}")
        page.context.close()

        # 青龙镇's mediator: 清风茶室, none of 白马镇's
        page = new_page(browser, SIZES[size])
        page.set_default_timeout(20_000)
        sign_in(page, server.base_url, "tiaojie", demo_password("tiaojie"))
        page.goto(f"{server.base_url}/register")
        assert options(page, "#venue") == ["暂不选择", "清风茶室", "村调解室", "派出所调解室", "人民法庭诉调对接室"]
        shot_list(page, "#venue", f"register-qinglong-{size}")
        register_and_accept(page, browser, server.base_url, "tiaojie", size)
        venues = options(page, "form[data-form=start_mediation] [name=venue]")
        assert "清风茶室" in venues and not {"白马镇议事厅", "石龙说理堂"} & set(venues)
        shot_list(page, "form[data-form=start_mediation] [name=venue]", f"start-mediation-qinglong-{size}")
        page.context.close()
        browser.close()
