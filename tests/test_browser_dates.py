"""Dates in a real browser (issue 13, point 6): a mediator typing a 调解日期 in the future, on a phone and on a
desktop, sees the Chinese message next to the field and keeps what was typed; the supervisor sees the
suspended cases in 查看中止案件 from the navigation, and a suspended case's paused clock as 已中止.
Screenshots in test-artifacts/screenshots/ (dates-*.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from server_harness import Server
from test_browser_flow import DESKTOP, PHONE, chromium, demo_db, shot, sign_in, today  # noqa: F401  (fixtures)

from mediation_flow.display.formats import cn_date

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def server(demo_db: tuple[str, Path]) -> Iterator[Server]:  # noqa: F811
    with Server(*demo_db, workers=1) as running:
        yield running


def _mediating_case(page: Any, base_url: str) -> str:
    """A case in mediation (调解中) of the mediator's township, from the case search."""
    page.goto(f"{base_url}/cases?state=mediating")
    hrefs = page.locator("main a[href^='/cases/']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return next(h for h in hrefs if re.fullmatch(r"/cases/\d+", h))


@pytest.mark.parametrize(("viewport", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_a_future_session_date_is_refused_next_to_the_field_and_kept(
    chromium: Any,  # noqa: F811
    server: Server,
    viewport: dict[str, int],
    name: str,
) -> None:
    page = sign_in(chromium, server.base_url, "tiaojie", viewport)
    page.goto(server.base_url + _mediating_case(page, server.base_url))
    page.locator("#case-actions [data-trigger=record_session]").click()
    form = page.locator("form[data-form=record_session]")
    form.wait_for()
    tomorrow = (today() + timedelta(days=1)).isoformat()
    form.locator("[name=session_date]").fill(tomorrow)
    form.locator("[name=content]").fill("在清风茶室组织双方面对面调解。")
    form.locator("button[type=submit]").click()
    page.locator("form[data-form=record_session] .field-error").first.wait_for()
    form = page.locator("form[data-form=record_session]")
    described = form.locator("[name=session_date]").get_attribute("aria-describedby")
    error = page.locator(f"[id='{described}']")
    assert error.inner_text().strip() == f"“调解日期”不能晚于今天（{cn_date(today())}，北京时间）"
    assert form.locator("[name=session_date]").input_value() == tomorrow
    assert form.locator("[name=content]").input_value() == "在清风茶室组织双方面对面调解。"
    field_box = form.locator("[name=session_date]").bounding_box()
    error_box = error.bounding_box()
    assert field_box and error_box and abs(error_box["y"] - field_box["y"]) < 120  # beside the field, not elsewhere
    shot(page, f"dates-future-session-{name}")
    page.context.close()


@pytest.mark.parametrize(("viewport", "name"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_supervisor_sees_the_suspended_cases(
    chromium: Any,  # noqa: F811
    server: Server,
    viewport: dict[str, int],
    name: str,
) -> None:
    page = sign_in(chromium, server.base_url, "sifasuo", viewport)
    page.locator("nav a[href='/suspended']").click()
    page.wait_for_url("**/suspended")
    assert page.locator("h1").inner_text().startswith("中止案件")
    rows = page.locator("#suspended tr[data-case]")
    assert rows.count() >= 1
    assert "等待伤情鉴定" in rows.first.inner_text()
    assert re.search(r"调解期限：已用\d+个自然日，剩余-?\d+个自然日", rows.first.inner_text())
    shot(page, f"dates-suspended-queue-{name}")
    rows.first.locator("a").first.click()
    page.wait_for_url(re.compile(r"/cases/\d+"))
    paused = page.locator("#case-clocks [data-paused=mediation]")
    assert "中止前已用" in paused.inner_text() and "如今天恢复，截止" in paused.inner_text()
    assert page.locator("#case-clocks [data-clock=mediation]").inner_text() == "已中止"
    shot(page, f"dates-suspended-case-{name}")
    page.context.close()
