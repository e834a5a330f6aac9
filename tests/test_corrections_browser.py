"""更正 in a real browser (Debian's Chromium, a real server on the demo township), on a phone (390×844) and a
desktop: the supervisor opens a case a grid worker registered, corrects a party's phone (a wrong number is
refused in Chinese and what was typed stays), and the history shows the correction with the original value
and the reason. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from server_harness import Server
from test_browser_flow import DESKTOP, PHONE, chromium, demo_db, register_in_browser, server, shot, sign_in  # noqa: F401

from mediation_flow.accounts.personal_data import make_id_number

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def reveal(page: Any) -> str:
    """查看完整信息 on the parties' card; its text in full."""
    page.click("#case-parties [data-identity-reveal]")
    page.locator("#case-parties [data-identity=full]").wait_for()
    return page.inner_text("#case-parties")


def correction_form(browser: Any, running: Server, size: str, fields: dict[str, str], selects: dict[str, str]) -> Any:
    """A case the grid worker registers with ``fields``, opened by the supervisor with the 更正 form showing."""
    case_url = register_in_browser(browser, running.base_url, "wangge", fields, selects=selects)
    page = sign_in(browser, running.base_url, "sifasuo", PHONE if size == "phone" else DESKTOP)
    page.goto(case_url)
    page.click("[data-trigger=correct]")
    page.wait_for_selector("[data-form=correct]")
    return page


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_supervisor_corrects_a_party_phone_and_the_history_keeps_both(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
    size: str,
) -> None:
    fields = {
        "#title": "孙三与周四排水纠纷",
        "#p0-name": "孙三",
        "#p0-phone": "13812340000",
        "#p1-name": "周四",
        "#summary": "两户因排水沟堵塞发生争执。",
        "#people_involved": "2",
    }
    page = correction_form(chromium, server, size, fields, {"#category": "neighbourhood"})
    page.select_option("#t-correct-what", "party_phone")
    page.select_option("#t-correct-party", "1")
    page.fill("#t-correct-value", "1381234")
    page.fill("#t-correct-reason", "与申请书核对，电话号码登记有误")
    page.click("text=确认更正")
    page.wait_for_selector("[data-form=correct] .field-error")
    error = page.inner_text("[data-form=correct]")
    assert "手机" in error or "电话" in error, error
    assert page.input_value("#t-correct-reason") == "与申请书核对，电话号码登记有误"
    shot(page, f"16-supervisor-correction-refused-{size}")
    page.fill("#t-correct-value", "13912345678")
    page.click("text=确认更正")
    page.wait_for_selector("#case-timeline li[data-trigger=correct]")
    entry = page.inner_text("#case-timeline li[data-trigger=correct]")
    assert "当事人联系电话" in entry and "孙三" in entry
    assert "138****0000" in entry and "139****5678" in entry  # the page masks them for everyone (最小必要)
    assert "与申请书核对，电话号码登记有误" in entry
    assert "139****5678" in page.inner_text("#case-parties")  # updated in place, no reload
    assert "13912345678" in reveal(page)  # the supervisor sees it in full on asking
    page.locator("#case-timeline li[data-trigger=correct]").scroll_into_view_if_needed()
    shot(page, f"17-supervisor-correction-done-{size}")
    page.context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_supervisor_corrects_an_id_number_and_the_birth_date_follows(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
    size: str,
) -> None:
    """Issue 17: the birth date and sex typed at registration follow the corrected ID number on the party's card,
    in place; the history names what the number brought with it."""
    fields = {
        "#title": "钱五与吴六借款纠纷",
        "#p0-name": "钱五",
        "#p0-id": make_id_number("110105", date(1970, 3, 4), 11),
        "#p0-birth": "1970-03-04",
        "#p1-name": "吴六",
        "#summary": "借款到期未还。",
        "#people_involved": "2",
    }
    page = correction_form(chromium, server, size, fields, {"#category": "neighbourhood", "#p0-gender": "male"})
    assert "1970年3月4日" in reveal(page)
    page.select_option("#t-correct-what", "party_id_number")
    page.select_option("#t-correct-party", "1")
    page.fill("#t-correct-value", make_id_number("110105", date(1981, 6, 7), 24))
    page.fill("#t-correct-reason", "与身份证核对，号码登记有误")
    page.click("text=确认更正")
    page.wait_for_selector("#case-timeline li[data-trigger=correct]")
    parties = page.inner_text("#case-parties")  # updated in place (no reload), masked again
    assert "1981年" in parties and "女" in parties and "1970年" not in parties
    parties = reveal(page)
    assert "1981年6月7日" in parties and "女" in parties and "1970年3月4日" not in parties
    assert "出生日期、性别" in page.inner_text("#case-timeline li[data-trigger=correct]")
    page.locator("#case-parties").scroll_into_view_if_needed()
    shot(page, f"17b-supervisor-id-correction-{size}")
    page.context.close()
