"""The administrator's daily work and everyone's own account, in a real browser (Debian's Chromium via
Playwright, a real server on a small demo township), on a phone (390×844) and on a desktop (1280×800):
add a village and a grid, add a mediator and disable one, reset a password (the one-time password shown
once); the new mediator's first sign-in with the temporary password must change it at /account; a demo
account is told to change its demo password and does. Screenshots go to test-artifacts/admin/."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_harness import Server
from test_browser_flow import launch, new_page

from mediation_flow.demo import demo_password, load_demo
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "admin"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    engine = make_engine(url)
    upgrade(engine)
    load_demo(engine, cases=40)  # open cases of the last 40 days among them: the queue has rows
    engine.dispose()
    with Server(url, tmp_path, workers=1) as running:
        yield running


def sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def row_action(page, row: str, button: str, *, confirm: bool = False) -> None:
    """Open the row's 修改 and press one of its buttons (answering OK to its question when ``confirm``)."""
    page.evaluate("for (const e of document.querySelectorAll('#admin-notice, #admin-error')) e.remove()")
    page.click(f"{row} summary")
    if confirm:
        page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"{row} button:has-text('{button}')")
    page.wait_for_selector("#admin-notice, #admin-error")


@pytest.mark.parametrize("size", list(SIZES))
def test_admin_sets_up_places_and_accounts_and_a_new_mediator_changes_the_temporary_password(server, size):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    suffix = "7" if size == "phone" else "8"
    with sync_playwright() as p:
        browser = launch(p)
        page = new_page(browser, SIZES[size])
        page.set_default_timeout(20_000)
        sign_in(page, server.base_url, "admin", demo_password("admin"))
        assert page.url.endswith("/admin")
        assert "演示密码" in page.inner_text("#weak-password")

        # a village under the township, then a grid under it
        village, grid = f"50010100109{suffix}", f"50010100109{suffix}001"
        page.click("summary:has-text('新增辖区')")
        page.select_option("#place-parent", "500101001")
        page.fill("#place-code", village)
        page.fill("#place-name", f"新{suffix}村")
        page.click("#places form[action='/admin/places'] button[type=submit]")
        page.wait_for_selector("#admin-notice")
        assert f"已添加新{suffix}村" in page.inner_text("#admin-notice")
        page.click("summary:has-text('新增辖区')")
        page.select_option("#place-parent", village)
        page.fill("#place-code", grid)
        page.fill("#place-name", f"新{suffix}村第一网格")
        page.click("#places form[action='/admin/places'] button[type=submit]")
        page.wait_for_selector(f"#place-{grid}")
        # a wrong code is refused with the reason, and what was typed stays
        page.click("summary:has-text('新增辖区')")
        page.select_option("#place-parent", "500101001")
        page.fill("#place-code", "123")
        page.fill("#place-name", "错村")
        page.click("#places form[action='/admin/places'] button[type=submit]")
        page.wait_for_selector("#admin-error")
        assert "12位" in page.inner_text("#admin-error") and page.input_value("#place-name") == "错村"

        # a mediator for the new village: the one-time password is shown once
        username = f"xin{suffix}"
        page.click("summary:has-text('新增账号')")
        page.fill("#account-username", username)
        page.fill("#account-name", f"调解员 新{suffix}")
        page.select_option("#account-role", "mediator")
        page.select_option("#account-place", village)
        page.click("#accounts form[action='/admin/accounts'] button[type=submit]")
        page.wait_for_selector("#one-time-password")
        temporary = page.inner_text("#one-time-password").strip()
        assert len(temporary) == 12
        page.screenshot(path=str(ARTIFACTS / f"admin-{size}.png"), full_page=True)

        # disable another mediator; reset a password
        row_action(page, "#account-tiaojie2", "停用", confirm=True)
        assert "已停用" in page.inner_text("#admin-notice")
        assert "停用" in page.inner_text("#account-tiaojie2 td:nth-child(5)")
        row_action(page, "#account-tiaojie", "重置密码", confirm=True)
        reset = page.inner_text("#one-time-password").strip()
        assert len(reset) == 12 and reset != temporary
        assert "重置密码" in page.inner_text("#changes")

        # the new mediator signs in with the temporary password: /account first, everything else leads there
        other = new_page(browser, SIZES[size])
        other.set_default_timeout(20_000)
        sign_in(other, server.base_url, username, temporary)
        assert other.url.endswith("/account") and other.is_visible("#must-change")
        other.goto(f"{server.base_url}/my")
        assert other.url.endswith("/account")
        other.fill("#current-password", temporary)
        other.fill("#new-password", f"xin{suffix}-own-pass")
        other.fill("#new-password-again", f"xin{suffix}-own-pass")
        other.screenshot(path=str(ARTIFACTS / f"account-first-sign-in-{size}.png"), full_page=True)
        other.click("form[action='/account/password'] button[type=submit]")
        other.wait_for_selector("#password-changed")
        other.goto(f"{server.base_url}/my")
        assert other.url.endswith("/my")
        browser.close()


def test_a_demo_account_is_led_to_change_its_demo_password(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = new_page(browser, SIZES["phone"])
        page.set_default_timeout(20_000)
        sign_in(page, server.base_url, "wangge", demo_password("wangge"))
        page.click("#weak-password a")
        page.wait_for_url(lambda u: u.endswith("/account"))
        page.fill("#current-password", demo_password("wangge"))
        page.fill("#new-password", "short")
        page.fill("#new-password-again", "short")
        page.click("form[action='/account/password'] button[type=submit]")
        page.wait_for_selector(".field-error")
        assert "至少8位" in page.inner_text(".field-error")
        page.fill("#current-password", demo_password("wangge"))
        page.fill("#new-password", "wangge-new-2024")
        page.fill("#new-password-again", "wangge-new-2024")
        page.click("form[action='/account/password'] button[type=submit]")
        page.wait_for_selector("#password-changed")
        assert not page.is_visible("#weak-password")
        page.screenshot(path=str(ARTIFACTS / "account-changed-phone.png"), full_page=True)
        browser.close()


def test_a_case_opened_from_the_auto_refreshing_queue_has_its_own_address(server):
    """The queue refreshes itself every minute (hx-get on #queue); a case opened from it is at /cases/N, so a
    reload shows the case and Back returns to the queue (not to the login page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = new_page(browser, SIZES["desktop"])
        page.set_default_timeout(20_000)
        sign_in(page, server.base_url, "sifasuo", demo_password("sifasuo"))
        page.goto(f"{server.base_url}/queue")
        link = page.locator("#queue td a[href^='/cases/']").first
        href = link.get_attribute("href")
        link.click()
        page.wait_for_url(lambda u: u.endswith(href))
        page.reload()
        assert page.url.endswith(href) and page.is_visible("#case-actions")
        page.go_back()
        page.wait_for_url(lambda u: u.endswith("/queue"))
        browser.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_clerk_enters_a_paper_ledger_step_for_the_mediator_who_did_it(tmp_path, size):
    """录入员: a case registered last year is accepted as the ledger says — on the day it says, by the mediator
    it names; the timeline shows the mediator and that the clerk typed it in."""
    from datetime import datetime

    from factories import intake
    from playwright.sync_api import sync_playwright

    from mediation_flow.accounts.admin_log import administer
    from mediation_flow.accounts.management import create_account
    from mediation_flow.accounts.policy import CONSOLE
    from mediation_flow.accounts.users import actor_for
    from mediation_flow.cases.intake import register_case
    from mediation_flow.store import clock
    from mediation_flow.vocabulary import Role

    url = f"sqlite:///{tmp_path}/demo.db"
    engine = make_engine(url)
    upgrade(engine)
    load_demo(engine, cases=2)
    account, _ = administer(engine, CONSOLE, lambda conn, a: create_account(
        conn, a, username="luru", role=Role.CLERK, display_name="录入员 小周", jurisdiction_code="500101001",
        password="luru-pass-1",
    ))  # fmt: skip
    with engine.connect() as conn:
        clerk = actor_for(conn, account.id)
    year = clock.local_date(clock.utcnow()).year - 1
    case_id = register_case(engine, actor=clerk, intake={**intake(), "jurisdiction_code": "500101001001"},
                            effective_at=datetime(year, 5, 6, 9, 0))  # fmt: skip
    engine.dispose()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Server(url, tmp_path, workers=1) as server, sync_playwright() as p:
        browser = launch(p)
        page = new_page(browser, SIZES[size])
        page.set_default_timeout(20_000)
        sign_in(page, server.base_url, "luru", "luru-pass-1")
        page.goto(f"{server.base_url}/cases/{case_id}")
        page.click("[data-trigger=accept]")
        page.wait_for_selector("form[data-form=accept]")
        page.check("#t-accept-rights_notified")
        page.fill("#t-accept-effective", f"{year}-05-07T10:30")
        page.select_option("#t-accept-acted-by", label="李明")
        page.screenshot(path=str(ARTIFACTS / f"clerk-form-{size}.png"), full_page=True)
        page.click("form[data-form=accept] button[type=submit]")
        page.wait_for_selector(".flash.ok")
        latest = page.inner_text("#case-timeline li:first-child .when")
        assert "李明" in latest and "录入员 小周代录" in latest and f"{year}年5月7日" in latest
        browser.close()


def _admin_page(browser, base_url: str, viewport: dict[str, int]):
    page = new_page(browser, viewport)
    page.set_default_timeout(20_000)
    sign_in(page, base_url, "admin", demo_password("admin"))
    return page


@pytest.mark.parametrize("size", ["phone", "desktop-1366"])
def test_the_admin_forms_put_each_label_over_its_field_styled_as_the_other_forms(server, size):
    """新增辖区, 新增账号 and 我的账号's 修改密码 lay out as every other form of the app (登记纠纷, a step's form):
    each label over its field, the fields the width of the form and styled alike, not in a page's two-column grid
    (.grid2) that put a label beside another's field."""
    from playwright.sync_api import sync_playwright

    viewport = SIZES["phone"] if size == "phone" else {"width": 1366, "height": 768}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page = _admin_page(browser, server.base_url, viewport)
        page.click("summary:has-text('新增辖区')")
        page.click("summary:has-text('新增账号')")
        for form in ("#places form[action='/admin/places']", "#accounts form[action='/admin/accounts']", "/account"):
            if form == "/account":  # 我的账号's 修改密码 had the same page grid
                page.goto(f"{server.base_url}/account")
                form = "form[action='/account/password']"
            fields = page.eval_on_selector(
                form,
                """f => [...f.querySelectorAll('label[for]')].map(l => {
                    const field = document.getElementById(l.htmlFor), a = l.getBoundingClientRect(),
                          b = field.getBoundingClientRect(), s = getComputedStyle(field);
                    return {id: field.id, label: [a.left, a.bottom], field: [b.left, b.top, b.width, b.height],
                            radius: s.borderTopLeftRadius, form: f.getBoundingClientRect().width};
                })""",
            )
            assert len(fields) >= 3
            for f in fields:
                left, top, width, height = f["field"]
                assert abs(f["label"][0] - left) < 2 and f["label"][1] <= top + 1, f  # the label over its field
                assert width > f["form"] - 4, f  # as wide as the form
                assert height >= 38 and f["radius"] == "6px", f  # the app's field style
            page.locator(form).screenshot(path=str(ARTIFACTS / f"form-{form.split('/')[-1][:-2]}-{size}.png"))
        browser.close()


def test_every_admin_input_has_a_type_an_autocomplete_and_the_app_style(server):
    """No bare <input> on /admin: each says what it holds (type), whether the browser may fill it in
    (autocomplete: a place's or a person's name is not the admin's own), and looks like the app's fields."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = _admin_page(browser, server.base_url, SIZES["phone"])
        page.evaluate("for (const d of document.querySelectorAll('#main details')) d.open = true")
        inputs = page.eval_on_selector_all(
            "#main input:not([type=hidden])",
            """all => all.map(i => ({name: i.name, form: i.form && i.form.getAttribute('action'),
                type: i.getAttribute('type'), autocomplete: i.getAttribute('autocomplete'),
                radius: getComputedStyle(i).borderTopLeftRadius, height: i.getBoundingClientRect().height}))""",
        )
        assert len(inputs) > 20
        for i in inputs:
            assert i["type"] in {"text", "tel", "password", "file", "search", "number"}, i
            assert i["type"] == "file" or i["autocomplete"], i
            assert i["radius"] == "6px" and i["height"] >= 38, i
        browser.close()


def test_retiring_a_place_and_disabling_an_account_ask_first_naming_which(server):
    """撤销此辖区 and 停用 (an account) change nothing until the administrator confirms the question, which
    names the place or the account; 取消 leaves everything as it was."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = _admin_page(browser, server.base_url, SIZES["phone"])
        place, account = "#place-500101001004002", "#account-tiaojie2"
        place_name = page.inner_text(f"{place} td:first-child").strip()
        account_name = page.inner_text(f"{account} td:first-child").strip()
        asked: list[str] = []
        accept = [False]  # what the administrator answers: 取消 first, then OK
        page.on("dialog", lambda d: (asked.append(d.message), d.accept() if accept[0] else d.dismiss()))

        page.click(f"{place} summary")
        colour = "el => getComputedStyle(el).backgroundColor"  # taking away looks unlike the other buttons: red
        retire, edit = page.locator(f"{place} button:has-text('撤销此辖区')"), page.locator(f"{place} button").first
        assert retire.evaluate(colour) != edit.evaluate(colour), (retire.evaluate(colour), edit.evaluate(colour))
        page.click(f"{place} button:has-text('撤销此辖区')")
        page.wait_for_timeout(1000)
        assert asked and place_name in asked[-1] and "撤销" in asked[-1], asked
        assert "已撤销" not in page.inner_text(place) and not page.is_visible("#admin-notice")
        page.click(f"{account} summary")
        assert page.locator(f"{account} button:has-text('停用')").evaluate(colour) == retire.evaluate(colour)
        page.click(f"{account} button:has-text('停用')")
        page.wait_for_timeout(1000)
        assert len(asked) == 2 and account_name in asked[-1] and "tiaojie2" in asked[-1], asked
        assert "启用" in page.inner_text(f"{account} td:nth-child(5)") and not page.is_visible("#admin-notice")
        page.reload()
        assert "已撤销" not in page.inner_text(place) and "启用" in page.inner_text(f"{account} td:nth-child(5)")

        accept[0] = True
        row_action(page, place, "撤销此辖区")
        assert len(asked) == 3 and "已撤销" in page.inner_text(place)
        row_action(page, account, "停用")
        assert len(asked) == 4 and "停用" in page.inner_text(f"{account} td:nth-child(5)")
        browser.close()


def test_on_a_phone_each_place_and_account_is_a_card_with_its_buttons_in_view(server):
    """At 390px the tree and the accounts are cards (the app's row-cards, as 督办队列's): nothing to scroll
    sideways, a row's buttons whole and in view (they were squeezed into the last column, 停用 one character a
    line, partly off the screen)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = _admin_page(browser, server.base_url, SIZES["phone"])
        for row, button in (("#account-tiaojie2", "停用"), ("#place-500101001004002", "撤销此辖区")):
            page.click(f"{row} summary")
            box = page.locator(f"{row} button:has-text('{button}')").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES["phone"]["width"], box
            assert box["height"] < 50, box  # its words on one line
        buttons = page.locator("#account-tiaojie2 details button").all_inner_texts()
        assert buttons == ["保存角色和辖区", "重置密码", "停用"], buttons  # what takes away comes last
        wide = page.eval_on_selector_all(".table-wrap", "all => all.map(e => e.scrollWidth - e.clientWidth)")
        assert wide and max(wide) <= 1, wide
        page.locator("#account-tiaojie2").screenshot(path=str(ARTIFACTS / "admin-account-card-phone.png"))
        browser.close()


@pytest.mark.parametrize("size", ["phone", "desktop-1366"])
def test_a_place_still_in_use_offers_no_retiring_and_says_why(server, size):
    """撤销此辖区 on a place that still has accounts in use (or places under it) would only be refused after the
    question: the button is shown disabled with the reason beside it (尚有在用账号1个，不能撤销), nothing asked;
    a place with neither is offered it as before. The server still refuses a forced request (409, its reason)."""
    import re

    from playwright.sync_api import sync_playwright

    viewport = SIZES["phone"] if size == "phone" else {"width": 1366, "height": 768}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page = _admin_page(browser, server.base_url, viewport)
        asked: list[str] = []
        page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        grid, township, empty = "#place-500101001001001", "#place-500101001", "#place-500101001004002"
        page.click(f"{grid} summary")
        retire = page.locator(f"{grid} button:has-text('撤销此辖区')")
        why = page.locator(f"{grid} .retire-why")
        assert retire.is_disabled() and why.inner_text() == "尚有在用账号1个，不能撤销"  # 陈红 (wangge) works there
        assert retire.get_attribute("aria-describedby") == why.get_attribute("id")
        for box in (retire.bounding_box(), why.bounding_box()):
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
        assert float(retire.evaluate("el => getComputedStyle(el).opacity")) < 1  # looks unavailable
        retire.click(force=True)
        page.wait_for_timeout(500)
        assert not asked and not page.is_visible("#admin-error") and "已撤销" not in page.inner_text(grid)
        page.locator(grid).screenshot(path=str(ARTIFACTS / f"admin-place-in-use-{size}.png"))
        page.click(f"{township} summary")
        said = page.inner_text(f"{township} .retire-why")
        assert re.fullmatch(r"尚有下级辖区\d+个、在用账号\d+个，不能撤销", said), said
        page.click(f"{empty} summary")
        assert page.locator(f"{empty} button:has-text('撤销此辖区')").is_enabled()
        assert page.locator(f"{empty} .retire-why").count() == 0

        # the server's refusal stays the guard: the button forced back on, the request is refused with the reason
        page.evaluate(
            """sel => { const b = document.querySelector(sel + " button[disabled]"); b.disabled = false;
            b.type = "submit";
            b.insertAdjacentHTML("beforebegin", '<input type="hidden" name="action" value="retire">'); }""",
            grid,
        )
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click(f"{grid} button:has-text('撤销此辖区')")
        assert answer.value.status == 409
        page.wait_for_selector("#admin-error")
        assert "尚有在用账号1个，请先移走或停用" in page.inner_text("#admin-error")
        assert "已撤销" not in page.inner_text(grid) and not asked
        browser.close()
