"""An ID or phone number typed into a case title is masked in every list, queue, inbox and notice, for every role,
as the case page shows it by default: the mediator and the supervisor too (they read it in full only through the
logged 查看完整信息 of the API, ``?identity=full``, or a printout). SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from factories import REFER_TO_POLICE, drive, register
from security_helpers import api_login, client_for, own_data_dir
from test_web_pages import Browser

from mediation_flow.accounts.personal_data import mask_text
from mediation_flow.cases.handoffs import read_agency_inbox, read_referred_out_queue
from mediation_flow.cases.lists import case_rows, grid_cases, own_cases, search
from mediation_flow.cases.notices import open_inbox
from mediation_flow.cases.queries import CaseFilters
from mediation_flow.cases.related import related_for_intake

ID, PHONE, LANDLINE = "11010519491231002X", "13812345678", "023-68881234"
TITLE = f"孙三（身份证{ID}，电话{PHONE}，固话{LANDLINE}）与周四相邻纠纷"
MASKED = mask_text(TITLE)


@pytest.fixture
def referred(engine: Any, town: Any) -> int:
    """A case with numbers in its title, assigned, accepted and referred to 青龙派出所 (so the liaison has it)."""
    case_id = register(engine, town, title=TITLE)
    steps = [("assign", {"mediator_id": town["mediator"].id}), ("accept", {"rights_notified": True})]
    drive(engine, case_id, town["supervisor"], [*steps, ("refer", REFER_TO_POLICE)])
    return case_id


def _titles(items: list[Any], case_id: int) -> set[str]:
    """The titles shown for ``case_id`` in a list of items (objects) or rows (dicts)."""
    rows = [i if isinstance(i, dict) else {"id": i.id, "title": i.title} for i in items]
    return {r["title"] for r in rows if r["id"] == case_id}


def test_the_mask_hides_every_number_of_the_title() -> None:
    assert ID not in MASKED and PHONE not in MASKED and "68881234" not in MASKED and "周四相邻纠纷" in MASKED


def test_core_lists_mask_the_title_for_every_role(engine: Any, town: Any, referred: int) -> None:
    grid, liaison, admin = town["grid_worker"], town["liaison"], town["admin"]
    supervisor, mediator = town["supervisor"], town["mediator"]
    for actor, want in ((grid, MASKED), (admin, MASKED), (supervisor, MASKED), (mediator, MASKED)):
        found = search(engine, actor, q=None, state=None, page=1, page_size=50)
        assert _titles(found.items, referred) == {want}, actor.username
        rows, _ = case_rows(engine, actor, CaseFilters())
        assert _titles(rows, referred) == {want}, actor.username
    assert _titles(grid_cases(engine, grid).items, referred) == {MASKED}
    assert _titles(grid_cases(engine, supervisor).items, referred) == {MASKED}
    mine = [item for group in own_cases(engine, mediator).groups.values() for item in group]
    assert _titles(mine, referred) == {MASKED}
    inbox = read_agency_inbox(engine, liaison)
    assert _titles(inbox.incoming, referred) == {MASKED}
    assert {n.title for n in open_inbox(engine, liaison) if n.case_id == referred} == {MASKED}
    assert _titles(read_referred_out_queue(engine, admin).items, referred) == {MASKED}
    assert _titles(read_referred_out_queue(engine, supervisor).items, referred) == {MASKED}
    typed = [{"role": "applicant", "name": "张三", "id_number": "11010519491231002X"}]
    for actor, want in ((grid, MASKED), (supervisor, MASKED)):
        matches = [m for p in related_for_intake(engine, actor, typed) for m in p.matches if m.case_id == referred]
        assert {m.title for m in matches} == {want}, actor.username


def test_pages_and_the_api_show_the_masked_title_to_every_role(
    engine: Any, town: Any, referred: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with own_data_dir(tmp_path, monkeypatch), client_for(engine) as web:
        for username, page_url, want in (
            ("grid_worker", "/grid", MASKED),
            ("grid_worker", "/cases", MASKED),
            ("liaison", "/inbox", MASKED),
            ("liaison", "/notices", MASKED),
            ("admin", "/referrals", MASKED),
            ("supervisor", "/referrals", MASKED),
            ("supervisor", "/cases", MASKED),
            ("mediator", "/my", MASKED),
        ):
            browser = Browser(web.app)
            assert browser.login(username).status_code == 303
            page = browser.get(page_url)
            assert page.status_code == 200, (username, page_url)
            assert want in page.text, (username, page_url)
            assert ID not in page.text and PHONE not in page.text and "68881234" not in page.text
        for username in ("grid_worker", "admin", "mediator", "supervisor"):
            listed = web.get("/api/v1/cases", headers=api_login(web, username)).json()["items"]
            assert _titles(listed, referred) == {MASKED}, username
        full = web.get(f"/api/v1/cases/{referred}", params={"identity": "full"}, headers=api_login(web, "mediator"))
        assert full.json()["title"] == TITLE  # the logged full view shows it as typed


def test_a_title_without_numbers_is_unchanged(engine: Any, town: Any) -> None:
    case_id = register(engine, town, title="张三与李四相邻通行纠纷（2023年5月）")
    found = search(engine, town["grid_worker"], q=None, state=None, page=1, page_size=50)
    assert _titles(found.items, case_id) == {"张三与李四相邻通行纠纷（2023年5月）"}
