"""The pages in a real browser: Debian's Chromium driven by Playwright against a real uvicorn server on a
temp SQLite database loaded with the demo township. Screenshots go to test-artifacts/screenshots/.

Scenario: a grid worker logs a dispute on a phone-sized screen (a wrong ID number first: inline error,
nothing typed lost; a draft survives a reload); a mediator accepts it, records a session and an agreement,
follows up and closes it, each step updating the page in place; a supervisor sees a case in the overdue
queue once time has moved forward 40 days (paging that section to its second page and back, on a desktop and a
phone), escalates it, and sees the dashboard change.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import intake
from server_harness import Server
from sqlalchemy import select

from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.accounts.users import actor_for
from mediation_flow.cases.intake import register_case
from mediation_flow.demo import demo_password, load_demo
from mediation_flow.store import clock
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.tables import USERS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LOCALE = "zh-CN"  # the users' language: page locale, Accept-Language and the browser's own labels (选择文件)
CHROMIUM_ARGS = [
    f"--lang={LOCALE}",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is required for the browser tests in CI (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return path


class OffsetServer(Server):
    """The same server in demo mode with the clock moved forward (MEDIATION_FLOW_CLOCK_OFFSET_DAYS)."""

    def __init__(self, database_url: str, data_dir: Path, *, days: int) -> None:
        super().__init__(database_url, data_dir, workers=1)
        self.days = days

    def env(self) -> dict[str, str]:
        return {**super().env(), "MEDIATION_FLOW_DEMO_MODE": "true", "MEDIATION_FLOW_CLOCK_OFFSET_DAYS": str(self.days)}


def demo_database(folder: Path, cases: int) -> str:
    """A SQLite database in ``folder`` with the demo township and ``cases`` cases; its URL."""
    url = f"sqlite:///{folder}/demo.db"
    engine = make_engine(url)
    upgrade(engine)
    load_demo(engine, cases=cases)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("browser")
    return demo_database(folder, 40), folder


@pytest.fixture(scope="module")
def server(demo_db: tuple[str, Path]) -> Iterator[Server]:
    with Server(*demo_db, workers=1) as running:
        yield running


def launch(playwright: Any) -> Any:
    """Debian's Chromium, in Chinese (every browser test starts it here). Its own labels (the file picker's
    选择文件) follow LANGUAGE, not the page's locale, and need Debian's ``chromium-l10n``."""
    # LANGUAGE only: LANG keeps the system's UTF-8 codeset (a zh_CN.UTF-8 locale the system lacks would leave
    # Chromium an ASCII file-name codeset, and every Chinese download would be saved as "download").
    env = {**os.environ, "LANGUAGE": LOCALE.replace("-", "_")}
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, env=env)


def new_page(browser: Any, viewport: dict[str, int], **options: Any) -> Any:
    """A page in a new browser context of ``viewport``, in the users' locale (every browser test's context)."""
    return browser.new_context(viewport=viewport, locale=LOCALE, **options).new_page()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def sign_in(browser: Any, base_url: str, username: str, viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
    page = new_page(browser, viewport, **options)
    page.set_default_timeout(15_000)
    page.goto(f"{base_url}/")
    page.fill("#username", username)
    page.fill("#password", demo_password(username))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_load_state("networkidle")
    return page


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def today() -> date:
    return clock.local_date(clock.utcnow())


def register_in_browser(
    browser: Any,
    base_url: str,
    username: str,
    fields: dict[str, str],
    *,
    selects: dict[str, str],
    checks: tuple[str, ...] = (),
    viewport: dict[str, int] = DESKTOP,
) -> str:
    """Register a dispute through the form as ``username``; returns the new case's URL."""
    page = sign_in(browser, base_url, username, viewport)
    page.goto(f"{base_url}/register")
    for selector, value in fields.items():
        page.fill(selector, value)
    for selector, value in selects.items():
        page.select_option(selector, value)
    for selector in checks:
        page.check(selector)
    page.click("text=提交登记")
    page.wait_for_url(re.compile(r"/cases/\d+"))
    url = page.url.split("?")[0]
    page.context.close()
    return url


@pytest.fixture
def grid_case(chromium: Any, server: Server) -> str:
    """The grid worker's dispute of the first test, registered afresh: each test sets up what it needs."""
    return register_in_browser(
        chromium,
        server.base_url,
        "wangge",
        {
            "#title": "赵一与钱二宅基地界址纠纷",
            "#p0-name": "赵一",
            "#p0-phone": "13812345678",
            "#p0-id": make_id_number("500101", date(1975, 5, 20), 31),
            "#p1-name": "钱二",
            "#summary": "两户因宅基地界址发生争执，钱二扬言要动手。",
            "#people_involved": "3",
        },
        selects={"#category": "housing_homestead"},
        checks=("#h-threat_of_violence",),
        viewport=PHONE,
    )


def test_grid_worker_logs_a_dispute_on_a_phone(chromium: Any, server: Server) -> None:
    page = sign_in(chromium, server.base_url, "wangge", PHONE)
    assert page.url.endswith("/grid")
    assert page.locator("h1").inner_text() == "我的网格"
    shot(page, "01-grid-worker-home")
    page.click("text=＋ 登记纠纷")
    page.wait_for_url("**/register")
    page.fill("#title", "赵一与钱二宅基地界址纠纷")
    page.select_option("#category", "housing_homestead")
    page.fill("#p0-name", "赵一")
    page.fill("#p0-phone", "13812345678")
    page.fill("#p0-id", "110101199003071235")  # wrong check digit
    page.fill("#p1-name", "钱二")
    page.fill("#summary", "两户因宅基地界址发生争执，钱二扬言要动手。")
    page.fill("#people_involved", "3")
    page.check("#h-threat_of_violence")
    page.click("text=＋ 添加当事人")  # a third party, without losing anything typed
    page.locator("#p2-name").wait_for()
    assert page.input_value("#summary") == "两户因宅基地界址发生争执，钱二扬言要动手。"
    page.fill("#p2-name", "村民小组")
    page.select_option("#p2-kind", "organisation")

    # A dropped connection: the form is loaded again, what was typed comes back from the local draft
    # (the draft holds three parties, so the page asks the server for three rows).
    page.goto(f"{server.base_url}/register")
    page.wait_for_url("**/register?parties=3")
    page.locator("#p2-name").wait_for()
    assert page.input_value("#p2-name") == "村民小组"
    assert page.input_value("#title") == "赵一与钱二宅基地界址纠纷"
    assert page.input_value("#p0-id") == "" and page.input_value("#p0-phone") == ""  # never kept in the browser
    assert page.is_checked("#h-threat_of_violence")
    assert page.locator("[data-draft-note]").is_visible()
    page.fill("#p0-phone", "13812345678")
    page.fill("#p0-id", "110101199003071235")  # still the wrong check digit

    page.click("text=提交登记")
    error = page.locator("#e-parties-0-id_number")
    error.wait_for()
    assert "校验" in error.inner_text() or "证件" in error.inner_text() or "身份证" in error.inner_text()
    assert page.input_value("#summary") == "两户因宅基地界址发生争执，钱二扬言要动手。"
    assert page.input_value("#p1-name") == "钱二"
    shot(page, "02-register-inline-error")

    page.fill("#p0-id", make_id_number("500101", date(1975, 5, 20), 31))
    page.click("text=提交登记")
    page.wait_for_url(re.compile(r"/cases/\d+"))
    assert "已登记" in page.locator("#action-form").inner_text()
    assert page.locator("#case-state [data-state]").get_attribute("data-state") == "registered"
    assert "****" in page.locator("text=/1\\d{2}\\*{4}\\d{4}/").first.inner_text()  # grid workers see masked phones
    # the 当事人 section (the 关联纠纷 panel, loaded after the page, lists the parties again)
    assert page.locator("#case-body [aria-labelledby=h-parties] .party").count() == 3
    shot(page, "03-registered-case-phone")
    page.goto(f"{server.base_url}/register")
    assert page.input_value("#title") == ""  # the draft was cleared once the case was registered
    page.context.close()


def test_a_refused_registration_keeps_its_errors_on_a_phone(chromium: Any, server: Server) -> None:
    """Sent with only the first party's name, the form comes back with its errors. The local draft, which holds the
    second row's fields, used to reload the page for two rows (?parties=2), and the errors were gone."""
    page = sign_in(chromium, server.base_url, "wangge", PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{server.base_url}/register")
    page.fill("#p0-name", "赵一")
    page.select_option("#p1-role", "respondent")  # a second row with a value: kept in the draft
    page.fill("#title", "")
    page.locator("text=提交登记").tap()
    summary = page.locator("text=/提交的内容有\\d+处需要修改/")
    summary.wait_for()
    page.wait_for_timeout(500)  # a reload, if the draft asked for one, would have happened by now
    assert "parties=" not in page.url and summary.is_visible()
    assert page.input_value("#p0-name") == "赵一"
    shot(page, "register-refused-keeps-errors-phone")
    page.context.close()


def fire(page: Any, trigger: str, fill: dict[str, str] | None = None, *, checks: tuple[str, ...] = ()) -> None:
    """Open a trigger's inline form (or press its button), fill it, submit, wait for the in-place update."""
    version = page.locator("#case-state").get_attribute("data-version")
    button = page.locator(f"#case-actions [data-trigger={trigger}]")
    if button.evaluate("el => el.tagName") == "A":
        button.click()
        form = page.locator(f"form[data-form={trigger}]")
        form.wait_for()
        settled(page)  # the form's hx-post is wired up
        for name, value in (fill or {}).items():
            target = form.locator(f"[name={name}]")
            if target.evaluate("el => el.tagName") == "SELECT":
                target.select_option(value)
            else:
                target.fill(value)
        for name in checks:
            form.locator(f"[name={name}]").first.check()
        form.locator("button[type=submit]").click()
    else:
        button.click()
    page.wait_for_function(
        "v => document.querySelector('#case-state').dataset.version !== v", arg=version, timeout=15_000
    )
    settled(page)


def settled(page: Any) -> None:
    """Wait until htmx has settled what it swapped in: new content is wired up (its hx-post etc.) only in the
    settle step, ~20 ms after the swap (htmx 2's defaultSettleDelay), longer on a loaded machine. A form
    submitted before that posts as a plain form (a full page load), not as the fragment the test waits for."""
    page.wait_for_function("() => !document.querySelector('.htmx-added, .htmx-settling, .htmx-swapping')")


def test_mediator_takes_the_case_to_a_resolved_close(chromium: Any, server: Server, grid_case: str) -> None:
    page = sign_in(chromium, server.base_url, "tiaojie")
    assert page.url.endswith("/my")
    shot(page, "04-mediator-my-cases")
    page.click(f"a[href='{grid_case.replace(server.base_url, '')}']")  # no reload since signing in
    page.wait_for_url(grid_case)
    assert page.locator("text=13812345678").count() == 0  # masked for everyone by default (最小必要)
    page.click("#case-parties [data-identity-reveal]")  # 查看完整信息
    page.locator("#case-parties [data-identity=full]").wait_for()
    assert page.locator("text=13812345678").count() == 1  # mediators see the full phone number on asking
    page.evaluate("window.__stay = 'same page'")
    day = today().isoformat()

    fire(page, "accept", checks=("rights_notified",))
    assert page.locator("#case-state [data-state]").get_attribute("data-state") == "accepted"
    assert page.locator("#case-clocks [data-clock=mediation]").get_attribute("data-status") == "on_time"
    shot(page, "05-accepted")

    fire(page, "start_mediation", {"venue": "qingfeng_teahouse"}, checks=("all_parties_consent",))
    fire(page, "record_session", {"session_date": day, "content": "在清风茶室组织双方面对面调解，释法明理。"})
    assert page.locator("#case-timeline li[data-trigger=record_session]").count() == 1
    fire(
        page,
        "reach_agreement",
        {
            "form": "written",
            "facts": "两户宅基地界址不清，双方各有责任。",
            "terms": "以村委会测量结果为界，钱二拆除越界围墙。",
            "performance": "十日内在村委会见证下履行",
            "amount": "2000",
            "signed_on": day,
        },
    )
    assert page.locator("#case-state [data-state]").get_attribute("data-state") == "agreed"
    shot(page, "06-agreement")
    page.select_option("#att-kind", "agreement")
    page.set_input_files("#att-file", str(SHOTS / "06-agreement.png"))  # a photo of the signed agreement
    page.click("#case-attachments button[type=submit]")
    page.locator("#upload-result >> text=已上传").wait_for()
    assert page.locator("#case-attachments li[data-attachment]").count() == 1
    with page.expect_download() as download:
        page.click("text=打印调解协议书")
    assert download.value.suggested_filename.startswith("调解协议书") and download.value.suggested_filename.endswith(
        ".docx"
    )
    fire(page, "start_follow_up")
    fire(page, "record_visit", {"visited_on": day, "performed": "full", "satisfaction": "satisfied"})
    fire(page, "close_resolved")
    assert page.locator("#case-state [data-state]").get_attribute("data-state") == "resolved"
    assert page.locator("#case-state .badge.state.final").count() == 1
    assert page.locator("#case-actions [data-trigger=close_resolved]").count() == 0
    assert page.locator("#case-timeline li").count() == 9  # register + 7 steps + the upload's note
    assert page.evaluate("window.__stay") == "same page"  # every step updated the page in place
    shot(page, "07-resolved")
    page.context.close()


def test_supervisor_sees_overdue_after_time_moves_escalates_and_dashboard_changes(
    chromium: Any, server: Server, demo_db: tuple[str, Path]
) -> None:
    case_url = register_in_browser(
        chromium,
        server.base_url,
        "wangge",
        {
            "#title": "孙三与周四相邻通行纠纷",
            "#p0-name": "孙三",
            "#p1-name": "周四",
            "#summary": "周四在通道上堆放柴草，影响孙三通行。",
        },
        selects={"#category": "neighbourhood"},
        viewport=PHONE,
    )
    case_id = case_url.rsplit("/", 1)[1]

    today_page = sign_in(chromium, server.base_url, "sifasuo")
    assert today_page.url.endswith("/queue")
    assert today_page.locator(".demo-banner").count() == 0
    assert today_page.locator(f"#queue tr[data-case='{case_id}'].overdue").count() == 0
    today_page.context.close()
    register_older_cases(demo_db[0], 25)  # 40 days on, more overdue cases than a page of the section shows

    with OffsetServer(*demo_db, days=40) as later:
        page = sign_in(chromium, later.base_url, "sifasuo")
        assert page.locator(".demo-banner").inner_text() == "演示模式：系统时间已调整 40 天"
        walk_to_the_second_page_of_the_overdue_section(page, "08a-queue-page-2-desktop")
        phone = sign_in(chromium, later.base_url, "sifasuo", PHONE)
        walk_to_the_second_page_of_the_overdue_section(phone, "08b-queue-page-2-phone")
        phone.context.close()
        newest_first = f"{later.base_url}/queue?sort=registered"  # the case just registered: on the first page
        page.goto(newest_first)
        row = page.locator(f"#queue tr[data-case='{case_id}']").first
        assert "overdue" in (row.get_attribute("class") or "")
        assert "超期" in page.locator("#queue h2").first.inner_text()
        shot(page, "08-supervisor-overdue-queue")
        page.goto(f"{later.base_url}/dashboard")
        before = int(page.locator("[data-stat=escalated] b").inner_text())
        shot(page, "09-dashboard-before")

        page.goto(newest_first)
        page.locator(f"#queue tr[data-case='{case_id}'] >> text=提级").first.click()
        form = page.locator("form[data-form=escalate]")
        form.wait_for()
        level_before = page.locator("#case-state").inner_text()
        form.locator("[name=reason]").fill("已超期四十天且有激化风险，提请村调委会处理。")
        form.locator("button[type=submit]").click()
        page.wait_for_function(
            "v => document.querySelector('#case-state').innerText !== v", arg=level_before, timeout=15_000
        )
        assert "村（社区）级处理" in page.locator("#case-state").inner_text()
        assert page.locator("#case-timeline li[data-trigger=escalate]").count() == 1
        shot(page, "10-escalated")

        page.goto(f"{later.base_url}/dashboard")
        after = int(page.locator("[data-stat=escalated] b").inner_text())
        assert after == before + 1
        assert page.locator("svg.chart").count() >= 4
        shot(page, "11-dashboard-after")
        page.goto(newest_first)
        assert page.locator(f"#queue tr[data-case='{case_id}']").count() == 2  # overdue and escalated
        page.context.close()


def register_older_cases(url: str, count: int) -> None:
    """``count`` disputes the township's supervisor registered 3 to 8 days ago (their acceptance long due 40 days
    on), through the core, beside the running server."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            user_id = conn.execute(select(USERS.c.id).where(USERS.c.username == "sifasuo")).scalar_one()
            supervisor = actor_for(conn, user_id)
        assert supervisor is not None
        for n in range(count):
            moment = clock.utcnow() - timedelta(days=3 + n % 6, hours=n)
            register_case(
                engine, actor=supervisor, intake=intake(title=f"第{n + 1}户院坝排水纠纷"), effective_at=moment
            )
    finally:
        engine.dispose()


def walk_to_the_second_page_of_the_overdue_section(page: Any, name: str) -> None:
    """From the queue's first page, 下一页 of the overdue section and back; the page's minute refresh asks for
    the page shown. A screenshot of the second page."""
    base = page.url.split("/queue")[0]
    page.goto(f"{base}/queue")
    section = page.locator("[data-section=overdue]")
    first = section.locator("tr[data-case]").evaluate_all("rows => rows.map(r => r.dataset.case)")
    pages = int(re.search(r"第 1 / (\d+) 页", section.locator(".pager").inner_text()).group(1))  # type: ignore[union-attr]
    assert len(first) == 20 and pages >= 2
    assert page.locator("[data-section=overdue] a[rel=prev]").count() == 0
    section.locator("a[rel=next]").click()
    page.wait_for_url(re.compile(r"overdue_page=2"))
    section = page.locator("[data-section=overdue]")
    assert f"第 2 / {pages} 页" in section.locator(".pager").inner_text()
    second = section.locator("tr[data-case]").evaluate_all("rows => rows.map(r => r.dataset.case)")
    assert second and not set(second) & set(first)
    assert "overdue_page=2" in (page.locator("#queue").get_attribute("hx-get") or "")
    assert page.locator("[data-section=soon] .pager, [data-section=overdue] .pager").count() >= 1
    shot(page, name)
    section.locator(".pager").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{name}-pager.png"))  # the screen as seen at the section's end
    section.locator("a[rel=prev]").click()
    page.wait_for_url(lambda url: "overdue_page" not in url)
    again = page.locator("[data-section=overdue] tr[data-case]").evaluate_all("rows => rows.map(r => r.dataset.case)")
    assert again == first


def test_workflow_diagram_is_drawn_by_the_vendored_mermaid(chromium: Any, server: Server) -> None:
    page = sign_in(chromium, server.base_url, "tiaojie")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.click("header >> text=流程")
    page.wait_for_url("**/workflows")
    page.click("a[href='/workflows/people_mediation']")
    page.wait_for_url("**/workflows/people_mediation")
    svg = page.locator("pre.mermaid svg")
    svg.wait_for()
    drawn = page.locator("pre.mermaid").inner_text()
    assert "已登记" in drawn and "调解成功结案" in drawn
    assert all(url.startswith(server.base_url) for url in requests), "a page loaded something from elsewhere"
    page.locator(".diagram").screenshot(path=str(SHOTS / "12-workflow-diagram.png"))
    page.context.close()


def test_a_stale_form_shows_the_message_and_the_fresh_case(
    chromium: Any, server: Server, demo_db: tuple[str, Path]
) -> None:
    mediator = sign_in(chromium, server.base_url, "tiaojie")
    supervisor = sign_in(chromium, server.base_url, "sifasuo")
    mediator.goto(f"{server.base_url}/register")
    mediator.fill("#title", "韩一与杨二排水纠纷")
    mediator.select_option("#category", "neighbourhood")
    mediator.fill("#p0-name", "韩一")
    mediator.fill("#summary", "雨水排向邻家院坝。")
    mediator.click("text=提交登记")
    mediator.wait_for_url(re.compile(r"/cases/\d+"))
    case_url = mediator.url.split("?")[0]
    mediator.click("#case-actions [data-trigger=reject]")
    form = mediator.locator("form[data-form=reject]")
    form.wait_for()
    form.locator("[name=reason]").fill("已由人民法院受理")

    supervisor.goto(case_url)  # meanwhile the supervisor adds a note: the case moves to version 2
    fire(supervisor, "add_note", {"text": "已电话联系申请人，其表示愿意调解。"})

    form.locator("button[type=submit]").click()
    mediator.locator("#action-form .flash.warn").wait_for()
    assert "案件已被他人更新" in mediator.locator("#action-form .flash.warn").inner_text()
    assert "已电话联系申请人" in mediator.locator("#case-timeline").inner_text()  # the fresh case, in place
    assert mediator.locator("form[data-form=reject] [name=reason]").input_value() == "已由人民法院受理"
    assert mediator.locator("form[data-form=reject] [name=expected_version]").input_value() == "2"
    shot(mediator, "13-stale-version")
    mediator.locator("form[data-form=reject] button[type=submit]").click()
    mediator.wait_for_function("() => document.querySelector('#case-state [data-state]').dataset.state === 'rejected'")
    mediator.context.close()
    supervisor.context.close()
