"""三调对接 in a real browser (Debian's Chromium via Playwright, a real server on the demo township), each path
end to end, phone (390×844) and desktop (1280×800). Screenshots go to test-artifacts/screenshots/sandiao-*.

- 警调: a mediator refers a case to 青龙派出所; the police liaison signs in, sees the notice and the case in
  the inbox, 签收, 反馈; the mediator closes it.
- 诉调: the court liaison registers a 委派 into the township; the township accepts, mediates, reports back;
  the court liaison sees the feedback.
- 访调: the petition liaison registers a 转办; the township accepts, mediates, reports back; the petition
  liaison records the 答复意见 and a 复查 request.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from server_harness import Server
from test_browser_flow import PHONE, chromium, demo_db, fire, server, shot, sign_in, today  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
DESKTOP = {"width": 1280, "height": 800}


def phone_shot(page: Any, name: str) -> None:
    """A phone screenshot, and nothing wider than the phone (no sideways scrolling)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, name)


def state_of(page: Any) -> str:
    return str(page.locator("#case-state [data-state]").get_attribute("data-state"))


def handoff_of(page: Any) -> str:
    return page.locator("#case-facts [data-handoff]").inner_text()


def register_ordinary(browser: Any, base_url: str, title: str) -> Any:
    """A mediator registers an ordinary dispute on the desktop and stays on its page."""
    page = sign_in(browser, base_url, "tiaojie", DESKTOP)
    page.goto(f"{base_url}/register")
    page.fill("#title", title)
    page.select_option("#category", "neighbourhood")
    page.fill("#p0-name", "孙三")
    page.fill("#p0-phone", "13812345678")
    page.fill("#p1-name", "周四")
    page.fill("#summary", "周四酒后打伤孙三，双方就赔偿争执不下。")
    page.click("text=提交登记")
    page.wait_for_url(re.compile(r"/cases/\d+"))
    return page


def register_referral_in(
    browser: Any, base_url: str, username: str, viewport: dict[str, int], fields: dict[str, str], name: str, right: str
) -> str:
    """An agency user hands a dispute to the township from the inbox (their path and agency preset); the
    reference number in ``fields`` is wrong for the agency, ``right`` is what they then type."""
    page = sign_in(browser, base_url, username, viewport)
    assert page.url.endswith("/inbox")
    page.click("#inbox-refer")
    page.wait_for_url(re.compile(r"/register\?source=\w+"))
    page.locator("#intake-path fieldset").wait_for()
    assert page.locator("#source option").count() == 1  # an agency registers its own path only
    if page.locator("#jurisdiction_code").count():
        page.select_option("#jurisdiction_code", index=1)  # an agency names the village it hands the case to
    page.fill("#p0-name", "吴五")
    page.fill("#p1-name", "郑六")
    page.select_option("#category", "contract")
    detail = page.locator("#a-to_beijing_detail")
    if detail.count():  # 进京访情形 applies only once 进京访 is ticked
        assert not detail.is_visible()
    for selector, value in fields.items():
        target = page.locator(selector)
        if target.evaluate("el => el.tagName") == "SELECT":
            target.select_option(value)
        elif target.get_attribute("type") == "checkbox":
            target.check()
        else:
            target.fill(value)
    page.click("text=提交登记")
    error = page.locator(".field-error").first
    error.wait_for()  # the wrong reference format first: refused in Chinese, nothing lost
    assert "格式" in error.inner_text()
    (phone_shot if viewport == PHONE else shot)(page, f"sandiao-{name}-register-error")
    page.fill("#a-reference_number", right)
    page.click("text=提交登记")
    page.wait_for_url(re.compile(r"/cases/\d+"))
    assert "已移送未签收" in handoff_of(page)
    (phone_shot if viewport == PHONE else shot)(page, f"sandiao-{name}-registered")
    url = page.url.split("?")[0]
    page.context.close()
    return url


def township_takes_it(browser: Any, base_url: str, case_url: str, name: str, report: dict[str, str], **kw: Any) -> None:
    """The mediator finds the referral among the unassigned cases, accepts, mediates, fails, reports back."""
    page = sign_in(browser, base_url, "tiaojie", DESKTOP)
    path = case_url.replace(base_url, "")
    page.click(f"a[href='{path}']")
    page.wait_for_url(case_url)
    assert "来文编号" in page.locator("#case-facts").inner_text()
    fire(page, "accept", checks=("rights_notified",))
    assert "已签收" in handoff_of(page)
    fire(page, "start_mediation", checks=("all_parties_consent",))
    fire(page, "fail", {"reason": "双方分歧过大，调解不成。"}, checks=("routes_informed",))
    fire(page, "report_back", report, checks=kw.get("checks", ()))
    assert "已反馈" in handoff_of(page)
    shot(page, f"sandiao-{name}-reported-back")
    page.context.close()


def test_police_path_mediator_refers_liaison_signs_and_answers_mediator_closes(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
) -> None:
    page = register_ordinary(chromium, server.base_url, "孙三与周四人身损害赔偿纠纷")
    case_url = page.url.split("?")[0]
    fire(page, "accept", checks=("rights_notified",))
    fire(page, "refer", {"target": "police", "agency": "qinglong_police", "reason": "涉嫌治安违法，移送派出所处理。"})
    assert state_of(page) == "referred" and "已移送未签收" in handoff_of(page)
    with page.expect_download() as letter:
        page.click("text=打印移送函")
    assert letter.value.suggested_filename.endswith(".docx")
    shot(page, "sandiao-police-referred")
    page.context.close()

    police = sign_in(chromium, server.base_url, "paichusuo", PHONE)
    assert police.url.endswith("/inbox")
    unread = int(police.locator("[data-unread]").get_attribute("data-unread") or 0)
    path = case_url.replace(server.base_url, "")
    assert unread > 0 and police.locator(f"#inbox-notices a[href='{path}']").count() == 1  # 新
    row = police.locator(f"#inbox-incoming a[href='{path}']")
    assert row.count() == 1
    assert "签收期限" in police.locator("#inbox-incoming").inner_text()
    phone_shot(police, "sandiao-police-inbox-phone")
    police.goto(case_url)
    assert "****" in police.locator("#case-body").inner_text()  # parties masked for the agency
    fire(police, "acknowledge", {"handler": "赵勇"})
    assert "已签收" in handoff_of(police)
    police.goto(f"{server.base_url}/inbox")  # signed for: its notice is read, here and in the header's count
    assert police.locator(f"#inbox-notices a[href='{path}']").count() == 0
    assert int(police.locator("[data-unread]").get_attribute("data-unread") or 0) == unread - 1
    phone_shot(police, "sandiao-police-inbox-signed-phone")
    police.goto(f"{server.base_url}/notices")
    assert "移送案件至本单位" in police.locator("main").inner_text()
    police.goto(case_url)
    fire(
        police,
        "agency_feedback",
        {
            "result": "mediated",
            "document_number": "青公调〔2026〕15号",
            "decided_on": today().isoformat(),
            "content": "经治安调解，双方达成赔偿协议。",
        },
    )
    assert "已反馈" in handoff_of(police)
    phone_shot(police, "sandiao-police-answered-phone")
    police.context.close()

    mediator = sign_in(chromium, server.base_url, "tiaojie", DESKTOP)
    mediator.goto(case_url)
    fire(mediator, "close", {"outcome": "派出所已治安调解结案。"})
    assert state_of(mediator) == "closed"
    shot(mediator, "sandiao-police-closed")
    mediator.context.close()


def test_court_path_delegated_in_township_reports_back_court_sees_feedback(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
) -> None:
    fields = {
        "#a-reference_number": "法院委派第15号",
        "#a-court_mode": "delegated",
        "#a-judge": "钱法官",
        "#title": "吴五与郑六买卖合同纠纷",
        "#summary": "货款纠纷，经法院诉前委派调解。",
    }
    right = "（2026）示0101民诉前调15号"
    case_url = register_referral_in(chromium, server.base_url, "fating", DESKTOP, fields, "court", right)
    report = {"result": "failed", "reported_on": today().isoformat(), "content": "调解不成，案卷退回法院。"}
    township_takes_it(chromium, server.base_url, case_url, "court", report, checks=("file_returned",))

    court = sign_in(chromium, server.base_url, "fating", PHONE)
    assert "已反馈" in court.locator("#inbox-sent").inner_text()
    phone_shot(court, "sandiao-court-inbox-phone")
    court.goto(case_url)
    assert "调解不成，案卷退回法院。" in court.locator("#case-timeline").inner_text()
    phone_shot(court, "sandiao-court-feedback-phone")
    court.context.close()


def test_petition_path_transfer_in_report_back_reply_and_review(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
) -> None:
    fields = {
        "#a-reference_number": "第45号",
        "#a-channel": "letter",
        "#a-repeat": "true",
        "#a-to_beijing": "true",
        "#a-to_beijing_detail": "ticket",
        "#title": "吴五与郑六土地承包纠纷",
        "#summary": "多次写信反映承包地被占。",
    }
    right = "县信转〔2026〕45号"
    case_url = register_referral_in(chromium, server.base_url, "xinfang", PHONE, fields, "petition", right)
    report = {
        "result": "failed",
        "reported_on": today().isoformat(),
        "content": "调解不成。",
        "completion_report": "已释法明理，建议信访部门依法答复。",
    }
    township_takes_it(chromium, server.base_url, case_url, "petition", report)

    petition = sign_in(chromium, server.base_url, "xinfang", DESKTOP)
    petition.goto(case_url)
    day = today().isoformat()
    fire(petition, "petition_reply", {"replied_on": day, "content": "依法答复信访人：维持村委会处理意见。"})
    fire(
        petition,
        "request_review",
        {"requested_on": day, "review_body": "示例市信访局", "reason": "信访人不服答复意见。"},
    )
    clocks = petition.locator("#case-clocks").inner_text()
    assert "复查期限" in clocks
    shot(petition, "sandiao-petition-review-requested")
    petition.context.close()
