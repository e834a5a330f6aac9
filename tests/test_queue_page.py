"""The supervisor's /queue page over HTTP (both back ends): each section is paged on its own (issue 15), its
上一页 / 下一页 keeping the filters, the sort and the other sections' pages, the minute's refresh keeping the page;
a page number past the end shows the last page, a bad one the first, each with a Chinese note (the API: a
structured 422); a filter naming nothing finds nothing."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from factories import PASSWORD, Town, drive, register
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from test_web_pages import app, data_dir, signed_in  # noqa: F401  (fixtures)

from mediation_flow.store import clock
from web.pages import supervisor


def _section(html: str, name: str = "overdue") -> str:
    return html.split(f'data-section="{name}"', 1)[1].split("</section>", 1)[0]


def _rows(section: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-case="(\d+)"', section)]


def _link(section: str, rel: str) -> str | None:
    found = re.search(rf'href="([^"]*)" rel="{rel}"', section)
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def five_overdue(town: Town, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Five overdue cases, shown two to a page."""
    month_ago = clock.utcnow() - timedelta(days=30)
    made = []
    for title in (
        "冯一与陈二噪音纠纷",
        "褚三与卫四借款纠纷",
        "蒋五与沈六宅基地纠纷",
        "韩七与杨八排水纠纷",
        "朱九与秦十养殖纠纷",
    ):
        case_id = register(engine, town, "supervisor", title=title, effective_at=month_ago)
        drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])
        made.append(case_id)
    monkeypatch.setattr(supervisor, "PAGE_ROWS", 2)
    return made


def test_a_section_pages_to_its_end_keeping_the_filters_and_the_other_pages(
    signed_in: Any,  # noqa: F811
    five_overdue: list[int],
) -> None:
    page = signed_in("supervisor")
    url: str | None = "/queue?source=initiative&sort=due&escalated_page=2"
    seen: list[int] = []
    for number in (1, 2, 3):
        assert url is not None
        section = _section(page.get(url).text)
        assert section.split("</h2>", 1)[0].endswith("超期（5）") and f"第 {number} / 3 页" in section
        rows = _rows(section)
        assert len(rows) == (2 if number < 3 else 1)
        seen += rows
        previous, url = _link(section, "prev"), _link(section, "next")
        assert (previous is None) == (number == 1) and (url is None) == (number == 3)
        for link in filter(None, (previous, url)):
            query = parse_qs(urlsplit(link).query)
            assert query["source"] == ["initiative"] and query["sort"] == ["due"] and query["escalated_page"] == ["2"]
            assert urlsplit(link).fragment == "queue-overdue"
    assert sorted(seen) == sorted(five_overdue), "every case once across the pages"
    assert "此处显示前" not in page.get("/queue").text
    back = _link(_section(page.get("/queue?overdue_page=2").text), "prev")
    assert back == "/queue#queue-overdue", "back to the first page: no page number left in the address"


def test_the_minute_refresh_keeps_the_section_page(signed_in: Any, five_overdue: list[int]) -> None:  # noqa: F811
    page = signed_in("supervisor")
    second = _rows(_section(page.get("/queue?overdue_page=2&sort=due").text))
    fragment = page.get("/queue?overdue_page=2&sort=due", **{"HX-Request": "true"}).text
    assert fragment.startswith('<div id="queue"') and "<html" not in fragment
    assert 'hx-get="/queue?overdue_page=2&amp;sort=due"' in fragment and 'hx-trigger="every 60s"' in fragment
    assert _rows(_section(fragment)) == second and "第 2 / 3 页" in _section(fragment)


@pytest.mark.parametrize(
    ("asked", "shown", "note"),
    [
        ("4", 3, "没有这一页，显示的是最后一页。"),
        ("9" * 300, 3, "没有这一页，显示的是最后一页。"),
        ("0", 1, "页码无效，显示的是第一页。"),
        ("-1", 1, "页码无效，显示的是第一页。"),
        ("-" + "9" * 40, 1, "页码无效，显示的是第一页。"),
        ("abc", 1, "页码无效，显示的是第一页。"),
        ("", 1, "页码无效，显示的是第一页。"),
        ("２", 1, "页码无效，显示的是第一页。"),
        ("3", 3, None),
    ],
)
def test_a_bad_page_number_shows_a_page_and_says_so(
    signed_in: Any,  # noqa: F811
    five_overdue: list[int],
    asked: str,
    shown: int,
    note: str | None,
) -> None:
    response = signed_in("supervisor").get(f"/queue?{urlencode({'overdue_page': asked})}")
    assert response.status_code == 200
    section = _section(response.text)
    assert f"第 {shown} / 3 页" in section and len(_rows(section)) == (1 if shown == 3 else 2)
    assert (note in section) if note else ("flash warn" not in section)
    assert "flash warn" not in _section(response.text, "soon"), "the other sections were asked nothing"


def test_a_page_number_longer_than_any_query_value_is_refused_in_chinese(
    signed_in: Any,  # noqa: F811
    five_overdue: list[int],
) -> None:
    response = signed_in("supervisor").get(f"/queue?overdue_page={'9' * 5000}")
    assert response.status_code == 422 and "内容过长（不能超过500个字）" in response.text


def test_the_queue_api_answers_a_bad_page_with_a_structured_422(app: Any, town: Town) -> None:  # noqa: F811
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={"username": "supervisor", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for bad in ("0", "-1", "abc", "9" * 40):
            response = client.get("/api/v1/queues/overdue", params={"page": bad}, headers=headers)
            assert response.status_code == 422, bad
            error = response.json()["error"]
            assert error["code"] == "invalid_request" and [e["field"] for e in error["errors"]] == ["page"]
        past = client.get("/api/v1/queues/overdue", params={"page": "99"}, headers=headers)
        assert past.status_code == 200 and past.json()["items"] == [] and past.json()["page"] == 99


def test_a_filter_naming_nothing_finds_nothing(signed_in: Any, town: Town, engine: Engine) -> None:  # noqa: F811
    register(engine, town, "supervisor", title="冯一与陈二噪音纠纷", effective_at=clock.utcnow() - timedelta(days=30))
    supervisor_page = signed_in("supervisor")
    assert "冯一与陈二噪音纠纷" in supervisor_page.get("/queue").text
    for query in ("village=nowhere", "risk=purple", "source=nowhere&level=moon"):
        response = supervisor_page.get(f"/queue?{query}")
        assert response.status_code == 200
        assert "冯一与陈二噪音纠纷" not in response.text and "超期（0）" in response.text
