"""The case page on a township's first day, in Chromium at phone (390×844) and desktop (1280×800) size:

- a case opened from the auto-refreshing /queue is at its own address (a reload stays on it, Back returns to
  the queue), also after the queue has refreshed itself;
- the usual next step is the main button at every step of a case, and 调解成功结案 appears only after a 回访;
- 打印调解协议书 appears as soon as the agreement is recorded, without a reload;
- a state change that conflicts with what the mediator is typing keeps what was typed.

Screenshots go to test-artifacts/screenshots/ (case-page-*).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from server_harness import Server
from test_browser_flow import (  # noqa: F401  (fixtures)
    PHONE,
    chromium,
    demo_db,
    fire,
    register_in_browser,
    server,
    shot,
    sign_in,
    today,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "desktop": DESKTOP}


def mediator_on_a_new_case(
    browser: Any, base_url: str, title: str, size: str, more: dict[str, str] | None = None
) -> tuple[Any, str]:
    """A dispute registered by the grid worker through the form (``more``: other fields typed), open on the
    mediator's page; (page, its URL)."""
    fields = {"#title": title, "#p0-name": "林一", "#p1-name": "郭二", "#summary": "两家因院墙滴水发生争执。"}
    fields |= more or {}
    url = register_in_browser(
        browser, base_url, "wangge", fields, selects={"#category": "neighbourhood"}, viewport=PHONE
    )
    page = sign_in(browser, base_url, "tiaojie", SIZES[size])
    page.goto(url)
    return page, url


def main_button(page: Any) -> str:
    """The trigger of the page's main (primary) button; exactly one."""
    found = page.locator("#case-actions [data-group=primary]")
    assert found.count() == 1, page.locator("#case-actions").inner_html()
    return str(found.get_attribute("data-trigger"))


def offered(page: Any) -> list[str]:
    return [
        str(t)
        for t in page.locator("#case-actions [data-trigger]").evaluate_all("els => els.map(e => e.dataset.trigger)")
    ]


@pytest.mark.parametrize("size", SIZES)
def test_a_case_opened_from_the_queue_is_at_its_own_address(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
    size: str,
) -> None:
    page = sign_in(chromium, server.base_url, "sifasuo", SIZES[size])  # the supervisor's home is /queue
    page.clock.install()  # the queue refreshes itself every minute: move the page's clock instead of waiting
    page.goto(f"{server.base_url}/queue")
    assert page.url.endswith("/queue")
    page.evaluate("document.querySelector('#queue').dataset.before = 'refresh'")
    page.clock.run_for(61_000)
    page.wait_for_function("() => !document.querySelector('#queue').dataset.before")  # swapped for a fresh one
    link = page.locator("#queue tr[data-case] td:first-child a").first
    href = str(link.get_attribute("href"))
    title = link.inner_text()
    assert re.fullmatch(r"/cases/\d+", href)
    link.click()
    page.wait_for_url(f"{server.base_url}{href}")
    assert page.locator("h1").inner_text() == title
    shot(page, f"case-page-from-queue-{size}")
    page.reload()
    assert page.url == f"{server.base_url}{href}" and page.locator("h1").inner_text() == title
    page.go_back()
    page.wait_for_url(f"{server.base_url}/queue")
    page.locator("#queue").wait_for()
    assert page.locator("h1").inner_text() == "督办队列"
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_usual_next_step_leads_and_the_agreement_prints_at_once(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
    size: str,
) -> None:
    page, _ = mediator_on_a_new_case(chromium, server.base_url, f"林一与郭二滴水纠纷（{size}）", size)
    page.evaluate("window.__stay = 'same page'")
    day = today().isoformat()
    assert main_button(page) == "accept"
    shot(page, f"case-page-registered-{size}")
    rare = page.locator("#case-actions .actions.rare [data-trigger]")
    assert {"refer", "withdraw", "escalate"} <= {
        str(t) for t in rare.evaluate_all("els => els.map(e => e.dataset.trigger)")
    }
    assert offered(page)[-rare.count() :] == rare.evaluate_all("els => els.map(e => e.dataset.trigger)")

    fire(page, "accept", checks=("rights_notified",))
    assert main_button(page) == "start_mediation"
    fire(page, "start_mediation", {"venue": "qingfeng_teahouse"}, checks=("all_parties_consent",))
    assert main_button(page) == "record_session"
    fire(page, "record_session", {"session_date": day, "content": "双方到场，各自陈述。"})
    assert main_button(page) == "reach_agreement"  # a session is on record: the agreement comes first
    assert page.locator("text=打印调解协议书").count() == 0
    fire(
        page,
        "reach_agreement",
        {
            "form": "written",
            "facts": "郭二家屋檐滴水落入林一院内。",
            "terms": "郭二加装接水槽。",
            "performance": "十日内完成",
            "signed_on": day,
        },
    )
    button = page.locator("#case-attachments a", has_text="打印调解协议书")
    button.wait_for()  # no reload: the answer refreshed 附件与打印 too
    assert main_button(page) == "start_follow_up"
    shot(page, f"case-page-agreed-{size}")
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename.startswith("调解协议书")

    fire(page, "start_follow_up")
    assert main_button(page) == "record_visit"
    assert "close_resolved" not in offered(page)  # refused whatever is typed until a 回访 is recorded
    shot(page, f"case-page-follow-up-{size}")
    fire(page, "record_visit", {"visited_on": day, "performed": "full", "satisfaction": "satisfied"})
    assert main_button(page) == "close_resolved"
    fire(page, "close_resolved")
    assert page.locator("#case-state [data-state]").get_attribute("data-state") == "resolved"
    assert page.evaluate("window.__stay") == "same page"
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_a_conflicting_state_change_keeps_what_was_typed(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
    size: str,
) -> None:
    mediator, case_url = mediator_on_a_new_case(chromium, server.base_url, f"林一与郭二排水纠纷（{size}）", size)
    fire(mediator, "accept", checks=("rights_notified",))
    fire(mediator, "start_mediation", checks=("all_parties_consent",))
    mediator.click("#case-actions [data-trigger=reach_agreement]")
    form = mediator.locator("form[data-form=reach_agreement]")
    form.wait_for()
    form.locator("[name=form]").select_option("written")
    form.locator("[name=facts]").fill("雨水经郭二家排水沟流入林一院坝。")
    form.locator("[name=terms]").fill("郭二改建排水沟，林一不再追究。")
    form.locator("[name=note]").fill("双方当场签字")

    supervisor = sign_in(chromium, server.base_url, "sifasuo")  # meanwhile: 中止调解 (waiting for an appraisal)
    supervisor.goto(case_url)
    fire(supervisor, "suspend", {"reason": "等待排水沟损坏程度鉴定"})
    supervisor.context.close()

    form.locator("[name=signed_on]").fill(today().isoformat())
    form.locator("button[type=submit]").click()
    warning = mediator.locator("#action-form .flash.warn")
    warning.wait_for()
    assert "案件已被他人更新" in warning.inner_text()
    assert not re.search(r"第\s*\d+\s*版", warning.inner_text())  # not the record's version (现为第3版)
    kept = mediator.locator("#kept-input").inner_text()
    for typed in ("雨水经郭二家排水沟流入林一院坝。", "郭二改建排水沟，林一不再追究。", "双方当场签字"):
        assert typed in kept
    assert mediator.locator("#case-state [data-state]").get_attribute("data-state") == "suspended"  # the fresh case
    assert main_button(mediator) == "resume"
    shot(mediator, f"case-page-conflict-kept-{size}")
    mediator.context.close()


def test_a_refused_step_shows_its_error_in_view_on_a_touch_phone(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
) -> None:
    """A written agreement sent without its 履行方式 is refused on the field; on a phone, tapped, the answer is in
    view (the page used to jump ~1,500 px down to 附件与打印, the error out of sight above it)."""
    fields = {"#title": "林一与郭二围墙纠纷（手机）", "#p0-name": "林一", "#p1-name": "郭二", "#summary": "围墙倒塌。"}
    url = register_in_browser(
        chromium, server.base_url, "wangge", fields, selects={"#category": "neighbourhood"}, viewport=PHONE
    )
    page = sign_in(chromium, server.base_url, "tiaojie", PHONE, is_mobile=True, has_touch=True)
    page.goto(url)
    fire(page, "accept", checks=("rights_notified",))
    fire(page, "start_mediation", checks=("all_parties_consent",))
    page.locator("#case-actions [data-trigger=reach_agreement]").tap()
    form = page.locator("form[data-form=reach_agreement]")
    form.wait_for()
    assert "（协议形式为“书面协议（调解协议书）”时必填）" in form.locator("label[for$=performance]").inner_text()
    form.locator("[name=form]").select_option("written")
    form.locator("[name=facts]").fill("郭二家围墙倒塌压坏林一菜地。")
    form.locator("[name=terms]").fill("郭二赔偿林一损失。")
    form.locator("[name=signed_on]").fill(today().isoformat())
    form.locator("button[type=submit]").tap()
    error = page.locator("#action-form .flash.error")
    error.wait_for()
    page.wait_for_timeout(300)  # let any scroll after the swap happen
    top = error.evaluate("el => el.getBoundingClientRect().top")
    assert 0 <= top < PHONE["height"] / 2, top
    assert "请填写“履行方式、地点、期限”" in page.locator("#action-form").inner_text()
    shot(page, "case-page-refused-in-view-phone")
    page.context.close()


def in_view(page: Any, selector: str) -> tuple[float, float]:
    """(top, bottom) of the element in the viewport, after any scroll the swap started has ended."""
    page.wait_for_timeout(300)
    box = page.locator(selector).first.evaluate("el => (r => [r.top, r.bottom])(el.getBoundingClientRect())")
    return float(box[0]), float(box[1])


def phone_mediator_on_a_new_case(browser: Any, base_url: str, title: str) -> Any:
    """A dispute registered by the grid worker, open on the mediator's phone (390×844, touch)."""
    fields = {"#title": title, "#p0-name": "林一", "#p1-name": "郭二", "#summary": "两家因院墙滴水发生争执。"}
    selects = {"#category": "neighbourhood"}
    url = register_in_browser(browser, base_url, "wangge", fields, selects=selects, viewport=PHONE)
    page = sign_in(browser, base_url, "tiaojie", PHONE, is_mobile=True, has_touch=True)
    page.goto(url)
    return page


def test_a_completed_step_lands_on_the_new_state_and_the_next_steps_on_a_touch_phone(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
) -> None:
    """After 开始调解 is confirmed on a phone, the case's new state and its next buttons are in view (the page used to
    stay scrolled down at the answer's 已完成, the state and the buttons out of sight above it)."""
    page = phone_mediator_on_a_new_case(chromium, server.base_url, "林一与郭二院墙纠纷（手机，完成一步）")
    fire(page, "accept", checks=("rights_notified",))
    page.locator("#case-actions [data-trigger=start_mediation]").tap()
    form = page.locator("form[data-form=start_mediation]")
    form.wait_for()
    form.locator("[name=all_parties_consent]").check()
    form.locator("button[type=submit]").tap()
    page.locator("#action-form .flash.ok").wait_for()
    top, _ = in_view(page, "#case-state")
    assert -1 <= top < PHONE["height"] / 2, top  # at the top (scrolled to it: a fraction of a pixel above)
    assert page.locator("#case-state [data-state]").get_attribute("data-state") == "mediating"
    _, bottom = in_view(page, "#case-actions [data-group=primary]")
    assert bottom <= PHONE["height"], bottom  # the next step's button, below the state, is in view too
    _, bottom = in_view(page, "#action-form .flash.ok")
    assert bottom <= PHONE["height"], bottom  # and so is 已完成：开始调解
    shot(page, "case-page-completed-in-view-phone")
    page.context.close()


def test_the_case_page_shows_no_record_version_on_a_touch_phone(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
) -> None:
    """The record's version (第N版: the optimistic-concurrency counter, meaningless to a mediator) is not on the page,
    before or after a step; the forms still carry it, hidden, and the next form carries the new one."""
    page = phone_mediator_on_a_new_case(chromium, server.base_url, "林一与郭二院墙纠纷（手机，版本）")
    assert not re.search(r"第\s*\d+\s*版", page.locator("main").inner_text())
    fire(page, "accept", checks=("rights_notified",))
    assert not re.search(r"第\s*\d+\s*版", page.locator("main").inner_text())
    page.locator("#case-actions [data-trigger=start_mediation]").tap()
    form = page.locator("form[data-form=start_mediation]")
    form.wait_for()
    assert form.locator("input[type=hidden][name=expected_version]").input_value() == "2"
    assert not re.search(r"第\s*\d+\s*版", page.locator("main").inner_text())
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "case-page-no-version-phone")
    page.context.close()


JOINT = {"tribunal": ("joint_court", "joint_judge"), "police_station": ("joint_police", "joint_officer")}


def test_the_joint_mediation_fields_show_only_when_their_agency_is_ticked_on_a_touch_phone(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
) -> None:
    """开始调解: the court's and the judge's fields appear when 人民法庭 is ticked among the 联合调解单位（一庭两所）,
    the police station's and the officer's when 派出所 is (the workflow's shown_when); hidden they are disabled, so
    not sent nor required. Without script the form shows every field. What is sent is recorded as before."""
    page = phone_mediator_on_a_new_case(chromium, server.base_url, "林一与郭二院墙纠纷（手机，一庭两所）")
    fire(page, "accept", checks=("rights_notified",))
    case_url = page.url
    page.locator("#case-actions [data-trigger=start_mediation]").tap()
    form = page.locator("form[data-form=start_mediation][data-shown-ready]")  # register.js has judged it
    form.wait_for()

    def shown() -> set[str]:
        names = [n for pair in JOINT.values() for n in pair]
        found = {n for n in names if form.locator(f"[name={n}]").is_visible()}
        assert all(form.locator(f"[name={n}]").is_disabled() for n in set(names) - found)
        assert not any(form.locator(f"[name={n}]").is_disabled() for n in found)
        return found

    assert shown() == set()
    shot(page, "case-page-joint-hidden-phone")
    form.locator("[name=joint_agencies][value=tribunal]").tap()
    assert shown() == set(JOINT["tribunal"])
    form.locator("[name=joint_agencies][value=police_station]").tap()
    assert shown() == set(JOINT["tribunal"]) | set(JOINT["police_station"])
    form.locator("[name=joint_agencies][value=tribunal]").tap()
    assert shown() == set(JOINT["police_station"])
    form.locator("[name=joint_police]").select_option(index=1)
    form.locator("[name=joint_officer]").fill("赵勇")
    shot(page, "case-page-joint-police-phone")

    plain = sign_in(chromium, server.base_url, "tiaojie", PHONE, java_script_enabled=False)
    plain.goto(f"{case_url}/do/start_mediation")  # without script: the form's own page, every field in it
    for name in (n for pair in JOINT.values() for n in pair):
        assert plain.locator(f"[name={name}]").is_visible() and plain.locator(f"[name={name}]").is_enabled(), name
    plain.context.close()

    form.locator("[name=all_parties_consent]").tap()
    form.locator("button[type=submit]").tap()
    page.locator("#action-form .flash.ok").wait_for()
    assert page.locator("#case-state [data-state]").get_attribute("data-state") == "mediating"
    assert "赵勇" in page.locator("#case-timeline").inner_text()
    page.context.close()


def test_a_ticked_joint_unit_without_its_name_is_refused_by_the_field_on_a_touch_phone(
    chromium: Any,  # noqa: F811
    server: Server,  # noqa: F811
) -> None:
    """开始调解 with 人民法庭 ticked among the 联合调解单位 and a judge typed but no court chosen: refused, the Chinese
    message under the court's field (shown, in view, what was typed kept); the court chosen, the step is taken."""
    page = phone_mediator_on_a_new_case(chromium, server.base_url, "林一与郭二院墙纠纷（手机，一庭两所未选法庭）")
    fire(page, "accept", checks=("rights_notified",))
    page.locator("#case-actions [data-trigger=start_mediation]").tap()
    form = page.locator("form[data-form=start_mediation][data-shown-ready]")
    form.wait_for()
    form.locator("[name=all_parties_consent]").tap()
    form.locator("[name=joint_agencies][value=tribunal]").tap()
    assert "（联合调解单位（一庭两所）勾选“人民法庭”时必填）" in form.locator("label[for$=joint_court]").inner_text()
    form.locator("[name=joint_judge]").fill("王法官")
    form.locator("button[type=submit]").tap()
    error = page.locator("form[data-form=start_mediation] [id$=joint_court-err]")
    error.wait_for()
    assert error.inner_text() == "联合调解单位（一庭两所）勾选“人民法庭”时，请选择“参加联合调解的人民法庭”"
    court = page.locator("form[data-form=start_mediation] [name=joint_court]")
    assert court.is_visible() and court.get_attribute("aria-invalid") == "true"
    assert court.get_attribute("aria-describedby") == error.get_attribute("id")
    page.wait_for_timeout(300)
    top, bottom = error.evaluate("el => (r => [r.top, r.bottom])(el.getBoundingClientRect())")
    court_top = court.evaluate("el => el.getBoundingClientRect().bottom")
    assert 0 <= court_top <= top and bottom <= PHONE["height"] + 400, (court_top, top, bottom)
    assert page.locator("form[data-form=start_mediation] [name=joint_judge]").input_value() == "王法官"
    error.scroll_into_view_if_needed()
    shot(page, "case-page-joint-unit-unnamed-phone")
    court.select_option(index=1)
    page.locator("form[data-form=start_mediation] button[type=submit]").tap()
    page.locator("#action-form .flash.ok").wait_for()
    assert page.locator("#case-state [data-state]").get_attribute("data-state") == "mediating"
    assert "王法官" in page.locator("#case-timeline").inner_text()
    page.context.close()
