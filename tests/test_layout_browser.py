"""Layout on a phone (390×844) and a desktop (1366×768) in a real browser (Debian's Chromium via Playwright, a
real server on the demo township), found in a browser walk-through:

- 转出待反馈 (/referrals) and 中止案件 (/suspended) on a phone: no sideways scrolling, neither of the page nor of
  the list (each row is a card), every badge wholly in view (the deadline badges were cut off by the table's
  wrapper and the 调解员 column lay off-screen);
- the charts of 统计 (/dashboard) and 年度报告 (/reports): their text at least 12 px on screen (a chart drawn
  in a fixed coordinate box and scaled down to its card had 7.4–10.5 px text on a phone, 12.1 px in a
  half-width card at 1366 px).

Screenshots go to test-artifacts/layout/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import Server
from test_browser_flow import chromium_path, demo_database, launch, new_page
from test_county_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "layout"
PHONE = {"width": 390, "height": 844}
SIZES = {"phone": PHONE, "desktop": {"width": 1366, "height": 768}}
SMALLEST_CHART_TEXT_PX = 12

# What sticks out, on the page: the page's own width; each list's wrapper that scrolls sideways; each badge
# that lies outside the viewport or outside the visible box of a wrapper that clips it.
OVERFLOW = """(selector) => {
  const inside = (r, box) => r.left >= box.left - 0.5 && r.right <= box.right + 0.5;
  const wraps = [...document.querySelectorAll(selector)];
  const clipped = [...document.querySelectorAll(selector + ' .badge')].filter(badge => {
    const r = badge.getBoundingClientRect();
    if (!inside(r, {left: 0, right: window.innerWidth})) return true;
    for (let p = badge.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible' && !inside(r, p.getBoundingClientRect())) return true;
    }
    return false;
  });
  return {
    page: document.documentElement.scrollWidth,
    wraps: wraps.map(w => [w.scrollWidth, w.clientWidth]),
    badges: document.querySelectorAll(selector + ' .badge').length,
    clipped: clipped.map(b => b.textContent),
  };
}"""


# Each chart text's size on screen: its font size in the chart's user units times the chart's scale.
CHART_TEXT = """() => [...document.querySelectorAll('svg.chart text')].map(t => ({
  text: t.textContent,
  px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
}))"""


def assert_fits_a_phone(page: Any, selector: str, *, badges: bool) -> None:
    seen = page.evaluate(OVERFLOW, selector)
    assert seen["page"] == PHONE["width"], seen
    assert seen["wraps"] and all(scroll <= client for scroll, client in seen["wraps"]), seen
    assert seen["clipped"] == [], seen
    if badges:
        assert seen["badges"] > 0, seen  # the demo has referrals with deadlines: the check looked at some


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A server on the demo township and Debian's Chromium: (the server's address, the browser)."""
    chromium_path()  # fails in CI, skips elsewhere, when it is missing
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("layout")
    url = demo_database(folder, 120)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Server(url, folder, workers=1) as server, sync_playwright() as p:
        browser = launch(p)
        yield server.base_url, browser
        browser.close()


def signed_in(demo: tuple[str, Any], viewport: dict[str, int]) -> Any:
    base_url, browser = demo
    page = new_page(browser, viewport)
    page.set_default_timeout(30_000)
    sign_in(page, base_url, "sifasuo")
    return page


@pytest.mark.parametrize("device", SIZES)
def test_referred_out_and_suspended_lists_fit_a_phone(demo, device):
    base_url = demo[0]
    page = signed_in(demo, SIZES[device])
    page.goto(f"{base_url}/referrals")
    assert page.locator("#referrals tr[data-case]").count() > 0
    page.screenshot(path=str(ARTIFACTS / f"referrals-{device}.png"), full_page=True)
    if device == "phone":
        assert_fits_a_phone(page, "#referrals", badges=True)
    page.goto(f"{base_url}/suspended")
    assert page.locator("#suspended tr[data-case]").count() > 0
    page.screenshot(path=str(ARTIFACTS / f"suspended-{device}.png"), full_page=True)
    if device == "phone":
        assert_fits_a_phone(page, "#suspended", badges=False)
    page.context.close()


@pytest.mark.parametrize("device", SIZES)
def test_chart_text_is_readable(demo, device):
    base_url = demo[0]
    page = signed_in(demo, SIZES[device])
    for path in ("/dashboard", "/reports"):
        page.goto(f"{base_url}{path}")
        texts = page.evaluate(CHART_TEXT)
        assert len(texts) >= 10, texts  # the demo's charts have bars: the check looked at them
        small = [t for t in texts if t["px"] < SMALLEST_CHART_TEXT_PX]
        assert small == [], small[:5]
        page.screenshot(path=str(ARTIFACTS / f"{path.strip('/')}-{device}.png"), full_page=True)
    page.context.close()
