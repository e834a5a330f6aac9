"""Offline-first registration in a real browser (issue 16): Chromium with the network switched off
(``context.set_offline``) against a real server on the demo township, with the service worker and the
IndexedDB outbox of ``web/static``.

A grid worker registers two disputes offline and reloads the page (the service worker serves it); signing out
seals the outbox (the key is gone, the entries are ciphertext); another user of the same browser sees nothing
of it; when the grid worker signs in again the two are sent: exactly two cases, registered at the times they
were recorded on the phone; sending the same entries again creates nothing. Screenshots (390×844) go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import test_browser_flow as flow
from server_harness import Server
from sqlalchemy import func, select

from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.store import clock
from mediation_flow.store.db import make_engine
from mediation_flow.store.tables import CASES, INTAKE_KEYS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]
chromium, demo_db, server = flow.chromium, flow.demo_db, flow.server  # the same real browser and server
TITLES = ("离线登记：孙一与周二灌溉用水纠纷", "离线登记：吴三与郑四借款纠纷")
SKEW = timedelta(seconds=1)  # the browser's clock against this process's
MIXED = ("离线登记：冯五与陈六宅基地纠纷", "离线登记：褚七与魏八借款纠纷", "离线登记：卫九与蒋十噪声纠纷")
# A man of 47 (as fill_dispute types him), and the same number with its check digit wrong: typed offline,
# where nothing checks it, it is refused by the server at sync.
VALID_ID = make_id_number("500101", date(clock.local_date(clock.utcnow()).year - 47, 1, 1), 13)
WRONG_CHECK_DIGIT = VALID_ID[:-1] + ("1" if VALID_ID[-1] != "1" else "2")
RAW_ENTRIES = """() => new Promise((resolve) => {
  const req = indexedDB.open("mediation_flow.outbox", 1);
  req.onsuccess = () => {
    const db = req.result;
    const tx = db.transaction(["entries", "keys"], "readonly");
    const entries = tx.objectStore("entries").getAll();
    const keys = tx.objectStore("keys").count();
    tx.oncomplete = () => resolve({
      keys: keys.result,
      entries: entries.result.map((e) => ({
        key: e.key, owner: e.owner, iv: Array.from(e.iv), data: Array.from(new Uint8Array(e.data)), failed: e.failed,
      })),
    });
  };
})"""
PUT_BACK = """(raw) => new Promise((resolve) => {
  const req = indexedDB.open("mediation_flow.outbox", 1);
  req.onsuccess = () => {
    const tx = req.result.transaction("entries", "readwrite");
    raw.forEach((e) => tx.objectStore("entries").put({
      key: e.key, owner: e.owner, iv: new Uint8Array(e.iv), data: new Uint8Array(e.data).buffer, failed: e.failed,
    }));
    tx.oncomplete = () => resolve(raw.length);
  };
})"""
PENDING = "() => self.mediationOutbox.currentSeal().then((r) => self.mediationOutbox.list(r))"


def cases_by_title(database_url: str, titles: tuple[str, ...] = TITLES) -> list[Any]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            query = select(CASES.c.id, CASES.c.title, CASES.c.registered_at).where(CASES.c.title.in_(titles))
            return list(conn.execute(query.order_by(CASES.c.id)).all())
    finally:
        engine.dispose()


def intake_keys(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(INTAKE_KEYS)).scalar_one())
    finally:
        engine.dispose()


def ready_offline(page: Any, base_url: str) -> None:
    """Open the form online once: the service worker installs and keeps it, the outbox key arrives."""
    page.goto(f"{base_url}/register")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => self.mediationOutbox.currentSeal().then((r) => !!r)")
    page.reload()  # now under the service worker, which keeps the page for offline use
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_load_state("networkidle")


def offline_grid_worker(chromium: Any, base_url: str) -> Any:
    """The grid worker's phone with the form kept for offline use, then the network switched off."""
    page = flow.sign_in(chromium, base_url, "wangge", flow.PHONE)
    ready_offline(page, base_url)
    page.context.set_offline(True)
    return page


def fill_dispute(page: Any, title: str, name: str) -> None:
    page.fill("#title", title)
    page.select_option("#category", "neighbourhood")
    page.fill("#p0-name", name)
    page.select_option("#p0-gender", "male")
    page.fill("#p0-age", "47")
    page.fill("#p1-name", "邻居")
    page.fill("#incident_place", "龙井村一组")
    page.fill("#summary", "两户因用水先后发生争执。")


def sign_in_here(page: Any, base_url: str, username: str) -> None:
    """Sign in within the same browser context (the same IndexedDB and caches)."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", flow.demo_password(username))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_load_state("networkidle")


def test_two_disputes_registered_offline_survive_reload_and_sign_out_and_are_sent_once(
    chromium: Any, server: Server, demo_db: tuple[str, Any]
) -> None:
    url, base = demo_db[0], server.base_url
    page = offline_grid_worker(chromium, base)
    context = page.context
    recorded: list[tuple[datetime, datetime]] = []
    for title, name in zip(TITLES, ("孙一", "吴三"), strict=True):
        before = clock.utcnow()
        fill_dispute(page, title, name)
        page.click("text=提交登记")
        page.locator("[data-outbox-note]:has-text('已保存在手机上，联网后自动提交')").wait_for()
        recorded.append((before, clock.utcnow()))
        assert page.input_value("#title") == ""  # the form is ready for the next one
    pending = page.locator("[data-outbox-pending]")
    pending.locator("[data-outbox-entry]").nth(1).wait_for()
    assert "已保存在手机上，联网后自动提交（2件）" in pending.inner_text()
    assert re.search(r"记录于 ?\d{4}年[1-9]\d?月[1-9]\d?日 \d{2}:\d{2}", pending.inner_text())  # as the pages write it
    page.screenshot(path=str(flow.SHOTS / "offline-01-saved-on-the-phone.png"))
    pending.scroll_into_view_if_needed()
    page.screenshot(path=str(flow.SHOTS / "offline-02-pending-list.png"))

    page.reload()  # offline: the service worker serves the kept page; the outbox opens with the kept key
    pending.locator("[data-outbox-entry]").nth(1).wait_for()
    assert all(title in pending.inner_text() for title in TITLES)
    raw = page.evaluate(RAW_ENTRIES)
    assert len(raw["entries"]) == 2 and raw["keys"] == 1
    assert cases_by_title(url) == []  # nothing has reached the server

    page.click("header button:has-text('退出')")  # offline: the key goes at once, the session ends when online
    page.locator("h1:has-text('未联网，尚未退出')").wait_for()
    page.screenshot(path=str(flow.SHOTS / "offline-03-sign-out-offline.png"))
    sealed = page.evaluate(RAW_ENTRIES)
    assert sealed["keys"] == 0 and len(sealed["entries"]) == 2
    assert not [n for n in page.evaluate("() => caches.keys()") if n.startswith("mediation_flow.pages")]
    typed = [t.encode("utf-8") for t in TITLES] + ["孙一".encode()]
    for entry in sealed["entries"]:
        stored = bytes(entry["data"])
        assert not any(text in stored for text in typed)  # ciphertext only
        assert "wangge" not in entry["owner"] and "孙一" not in entry["owner"]

    context.set_offline(False)
    page.goto(f"{base}/account")
    page.click("header button:has-text('退出')")
    page.wait_for_url("**/login")
    assert cases_by_title(url) == []  # without the key nothing could be sent

    sign_in_here(page, base, "tiaojie")  # another user of the same browser
    page.goto(f"{base}/register")
    page.wait_for_function("() => self.mediationOutbox.currentSeal().then((r) => !!r)")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(PENDING) == []
    assert page.locator("[data-outbox-pending]").is_hidden()
    assert not any(t in page.content() for t in TITLES)
    assert cases_by_title(url) == []  # the other user's session sent nothing of it
    page.click("header button:has-text('退出')")
    page.wait_for_url("**/login")

    sign_in_here(page, base, "wangge")  # the grid worker again: the outbox opens and is sent
    assert page.url.endswith("/grid")
    page.wait_for_function(f"() => document.body.innerText.includes({TITLES[1]!r})")
    cases = cases_by_title(url)
    assert [c.title for c in cases] == list(TITLES)
    for case, (before, after) in zip(cases, recorded, strict=True):
        registered = clock.ensure_aware(case.registered_at)
        # the browser's clock: Chromium's Date.now() drifts a few ms from the system's (seen 4 ms ahead in CI)
        assert before - SKEW <= registered <= after + SKEW, (registered, before, after)
    page.reload()
    synced = page.locator("#synced")
    assert all(t in synced.inner_text() for t in TITLES)
    page.screenshot(path=str(flow.SHOTS / "offline-04-home-synced-phone.png"), full_page=True)
    assert page.evaluate(RAW_ENTRIES)["entries"] == []

    keys = intake_keys(url)
    page.evaluate(PUT_BACK, sealed["entries"])  # the same entries sent again (a replay)
    replay = "() => self.mediationOutbox.sync().then((rs) => rs.map((r) => [r.state, r.answer.replayed]))"
    results = page.evaluate(replay)
    assert results == [["sent", True], ["sent", True]]
    assert len(cases_by_title(url)) == 2 and intake_keys(url) == keys
    context.close()


def test_party_rows_without_a_reload_focus_on_the_first_error_and_the_sorted_table(
    chromium: Any, server: Server
) -> None:
    base = server.base_url
    page = flow.sign_in(chromium, base, "wangge", flow.PHONE)
    page.goto(f"{base}/register")
    page.evaluate("() => { window.stillHere = true; }")  # gone if the page reloads
    page.click("text=＋ 添加当事人")
    page.locator("#p2-name").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "p2-name"
    page.fill("#p1-name", "李四")
    page.fill("#p2-name", "王五")
    page.click("[data-party='1'] [data-remove-party]")
    assert page.input_value("#p1-name") == "王五" and page.locator("#p2-name").count() == 0
    assert page.locator("[data-party='1'] [data-party-title]").inner_text() == "第2位当事人 · 身份"
    assert page.evaluate("() => window.stillHere === true")
    page.fill("#p0-name", "张三")
    page.fill("#summary", "两户争执。")
    page.click("text=提交登记")  # no title, no category: the server says so and the first one gets the focus
    page.locator("#e-title").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "title"
    assert page.input_value("#p1-name") == "王五"
    page.screenshot(path=str(flow.SHOTS / "field-01-first-error-focused-phone.png"))
    page.context.close()

    page = flow.sign_in(chromium, base, "sifasuo")
    page.goto(f"{base}/cases?sort=number")
    table = page.locator("table.case-grid")
    assert table.is_visible() and page.locator("ul.case-list").is_hidden()
    page.click("th a[data-sort='risk']")
    page.wait_for_url(lambda url: "sort=risk" in url)
    assert page.locator("th[aria-sort='ascending'] a[data-sort='risk']").count() == 1
    page.screenshot(path=str(flow.SHOTS / "field-02-sorted-table-desktop.png"))
    page.context.close()


def test_an_entry_the_server_refuses_stays_pending_with_its_reason_while_the_others_are_sent(
    chromium: Any, server: Server, demo_db: tuple[str, Any]
) -> None:
    url, base = demo_db[0], server.base_url
    page = offline_grid_worker(chromium, base)
    context = page.context
    for title, name in zip(MIXED, ("冯五", "褚七", "卫九"), strict=True):
        fill_dispute(page, title, name)
        if title == MIXED[1]:
            page.fill("#p0-id", WRONG_CHECK_DIGIT)
        page.click("text=提交登记")
        page.locator("[data-outbox-note]:has-text('已保存在手机上，联网后自动提交')").wait_for()
    pending = page.locator("[data-outbox-pending]")
    pending.locator("[data-outbox-entry]").nth(2).wait_for()
    assert cases_by_title(url, MIXED) == []

    context.set_offline(False)  # the "online" event: the outbox is sent from this page
    pending.locator("[data-outbox-sent] li").nth(1).wait_for()
    pending.locator("[data-failed]").wait_for()
    assert [c.title for c in cases_by_title(url, MIXED)] == [MIXED[0], MIXED[2]]
    text = pending.inner_text()
    assert "已保存在手机上，联网后自动提交（1件）" in text
    kept = pending.locator("[data-outbox-entry]")
    assert kept.count() == 1 and MIXED[1] in kept.inner_text()
    assert "未能提交：" in kept.inner_text() and "身份证号码校验位错误" in kept.inner_text()
    state = pending.locator("[data-outbox-state]").inner_text()
    assert state == "未能提交的登记请修改后重新提交，或删除。"  # not "正在提交……": nothing is being sent
    sent = pending.locator("[data-outbox-sent]").inner_text()
    assert MIXED[0] in sent and MIXED[2] in sent and MIXED[1] not in sent
    pending.scroll_into_view_if_needed()
    page.screenshot(path=str(flow.SHOTS / "offline-05-one-refused-kept-phone.png"))

    page.reload()  # still kept with its reason, and not sent again
    kept.first.wait_for()
    assert "身份证号码校验位错误" in kept.inner_text()
    assert page.evaluate("() => self.mediationOutbox.sync().then((rs) => rs.length)") == 0
    assert len(cases_by_title(url, MIXED)) == 2

    kept.locator("button:has-text('填回表单修改')").click()  # back into the form, corrected, sent
    assert page.input_value("#title") == MIXED[1] and page.input_value("#p0-id") == WRONG_CHECK_DIGIT
    page.fill("#p0-id", VALID_ID)
    page.click("text=提交登记")
    page.wait_for_url(lambda address: "new=1" in address)
    assert [c.title for c in cases_by_title(url, MIXED)] == [MIXED[0], MIXED[2], MIXED[1]]
    assert page.evaluate(RAW_ENTRIES)["entries"] == []
    context.close()
