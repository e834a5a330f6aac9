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


# The header's pieces as laid out: the brand, each navigation link, who is signed in and 退出 (tops and sides).
HEADER = """() => {
  const box = e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom, left: r.left,
    right: r.right, text: e.textContent.trim()}; };
  const h = document.querySelector('header.top'), who = h.querySelector('.who');
  return {
    height: h.getBoundingClientRect().height, page: document.documentElement.scrollWidth,
    brand: box(h.querySelector('.brand')), who: box(who), logout: box(h.querySelector('form button')),
    links: [...h.querySelectorAll('nav > a')].map(box), cut: who.scrollWidth > who.clientWidth,
  };
}"""
HEADER_USERS = {  # user: the lines their navigation takes on a phone
    "paichusuo": 1, "fating": 1, "xinfang": 1, "wangge": 1, "tiaojie": 1, "sifasuo": 2, "xianju": 2,
}  # fmt: skip


def same_line(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two boxes side by side: each one's middle within the other's height."""
    return (
        a["top"] <= (b["top"] + b["bottom"]) / 2 <= a["bottom"]
        and b["top"] <= (a["top"] + a["bottom"]) / 2 <= b["bottom"]
    )


@pytest.mark.parametrize("user", HEADER_USERS)
def test_the_header_fits_a_phone_the_user_beside_the_brand_and_the_navigation_below(demo, user):
    """On a phone a partner agency's header (赵勇（青龙派出所）, 移交纠纷 …) took three lines: the brand, the links,
    then the user and 退出 wrapped below them. Now the user and 退出 sit beside the brand, the links on the line
    below — one line for an agency, the grid worker and the mediator, two for a supervisor's ten links — nothing
    off the screen; a name too long for the line is cut with … (the whole on hover and on 我的账号). On a desktop
    the header stays one line."""
    base_url, browser = demo
    page = new_page(browser, PHONE)
    page.set_default_timeout(30_000)
    sign_in(page, base_url, user)
    seen = page.evaluate(HEADER)
    assert seen["page"] == PHONE["width"], seen
    pieces = [seen["brand"], seen["who"], seen["logout"], *seen["links"]]
    assert all(p["left"] >= 0 and p["right"] <= PHONE["width"] for p in pieces), pieces
    assert same_line(seen["brand"], seen["who"]) and same_line(seen["who"], seen["logout"]), seen
    assert not seen["cut"], seen  # the demo's names fit whole
    lines = {round(link["top"]) for link in seen["links"]}
    assert all(link["top"] >= seen["brand"]["bottom"] for link in seen["links"]), seen
    rows = sorted(lines)
    grouped = [t for i, t in enumerate(rows) if i == 0 or t - rows[i - 1] > 8]  # a pixel's difference is a line
    assert len(grouped) == HEADER_USERS[user], (user, seen["links"])
    page.locator("header.top").screenshot(path=str(ARTIFACTS / f"header-{user}-phone.png"))

    page.evaluate(
        "document.querySelector('header.top .who').textContent = '赵勇（示例县公安局青龙镇派出所社区警务室）'"
    )
    long = page.evaluate(HEADER)
    assert long["cut"] and same_line(long["brand"], long["who"]) and same_line(long["who"], long["logout"]), long
    assert long["logout"]["right"] <= PHONE["width"] and long["page"] == PHONE["width"], long
    page.locator("header.top").screenshot(path=str(ARTIFACTS / f"header-{user}-phone-long-name.png"))

    page.set_viewport_size(SIZES["desktop"])
    page.reload()
    wide = page.evaluate(HEADER)
    everything = [wide["brand"], wide["who"], wide["logout"], *wide["links"]]
    assert all(same_line(wide["brand"], p) for p in everything) and wide["height"] < 64, wide
    assert wide["who"]["left"] > max(link["right"] for link in wide["links"]), wide  # after the links, as before
    page.locator("header.top").screenshot(path=str(ARTIFACTS / f"header-{user}-desktop.png"))
    page.context.close()
