"""The county's supervisor (县司法局) in a real browser (Debian's Chromium via Playwright, a real server on the
demo: 青龙镇 and 白马镇), on a phone (390×844) and a desktop (1280×800): the townships side by side, sorted by a
column's link (no script needed), a number followed to its cases (as many as it says), the county's report with
a paragraph per township; the township's supervisor sees only their own township. Screenshots go to
test-artifacts/county/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from server_harness import Server
from test_browser_flow import chromium_path, demo_database, launch, new_page

from mediation_flow.demo import demo_password

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "county"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


def sign_in(page, base_url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", demo_password(username))
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)


def test_county_supervisor_compares_townships_and_drills_down(tmp_path):
    chromium_path()  # fails in CI, skips elsewhere, when it is missing
    from playwright.sync_api import sync_playwright

    url = demo_database(tmp_path, 120)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Server(url, tmp_path, workers=1) as server, sync_playwright() as p:
        browser = launch(p)
        for device, (width, height) in SIZES.items():
            page = new_page(browser, {"width": width, "height": height})
            page.set_default_timeout(30_000)
            sign_in(page, server.base_url, "xianju")
            page.goto(f"{server.base_url}/county?year=2025")
            rows = page.locator("#county-table tbody tr")
            assert rows.count() == 2
            assert {rows.nth(i).get_attribute("data-township") for i in range(2)} == {"500101001", "500101002"}
            assert "示例县合计" in page.inner_text("#county-table tfoot")
            page.screenshot(path=str(ARTIFACTS / f"county-{device}.png"), full_page=True)
            # sorted by a column's link: ascending, then the other way
            page.click('a[data-sort="taken_in"]')
            page.wait_for_url(lambda u: "sort=taken_in" in u and "order=asc" in u)
            cells = page.locator('#county-table tbody td[data-col="taken_in"] a').all_inner_texts()
            assert [int(c) for c in cells] == sorted(int(c) for c in cells)
            first = page.locator("#county-table tbody tr").first.get_attribute("data-township")
            assert first == "500101002"  # 白马镇 has fewer cases
            # a number to its cases: as many as it says
            cell = page.locator('#county-table tbody tr[data-township="500101001"] td[data-col="taken_in"] a')
            number = cell.inner_text()
            cell.click()
            page.wait_for_url(lambda u: "/reports/cases" in u)
            assert page.inner_text("[data-total]") == number
            page.go_back()
            overdue = page.locator('#county-table tbody tr[data-township="500101001"] td[data-col="overdue"] a')
            number = overdue.inner_text()
            overdue.click()
            page.wait_for_url(lambda u: "/dashboard/cases" in u)
            assert page.inner_text("[data-total]") == number
            if device == "desktop":
                page.screenshot(path=str(ARTIFACTS / "county-overdue-cases.png"), full_page=True)
            page.goto(f"{server.base_url}/county?year=2025")
            page.click("text=年度报告（含各乡镇段落）")
            page.wait_for_url(lambda u: "/county/report" in u)
            text = page.inner_text("#county-report-text")
            assert re.search(r"青龙镇：", text) and re.search(r"白马镇：", text)
            page.screenshot(path=str(ARTIFACTS / f"county-report-{device}.png"), full_page=True)
            # the dashboard's numbers link to their cases too
            page.goto(f"{server.base_url}/dashboard?year=2025")
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{device}.png"), full_page=True)
            registered = page.locator('a[data-stat="registered"]')
            number = registered.locator("b").inner_text()
            registered.click()
            page.wait_for_url(lambda u: "/reports/cases" in u)
            assert page.inner_text("[data-total]") == number
            page.context.close()
        # the township's supervisor: their own township only, no county row, no county report
        page = new_page(browser, {"width": 1280, "height": 800})
        sign_in(page, server.base_url, "sifasuo")
        page.goto(f"{server.base_url}/county?year=2025")
        rows = page.locator("#county-table tbody tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-township") == "500101001"
        assert page.locator("#county-table tfoot").count() == 0
        page.screenshot(path=str(ARTIFACTS / "county-township-user.png"), full_page=True)
        answer = page.goto(f"{server.base_url}/county/report?county=500101&year=2025")
        assert answer is not None and answer.status == 404
        browser.close()
