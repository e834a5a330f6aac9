"""The supervisor's /queue page over HTTP (both back ends): each section shows its first rows (from
mediation_flow.cases.queues for overdue and due soon) and the section's total; a filter naming nothing finds nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from factories import Town, drive, register
from sqlalchemy import Engine
from test_web_pages import app, data_dir, signed_in  # noqa: F401  (fixtures)

from mediation_flow.store import clock
from web.pages import supervisor


def _overdue_section(html: str) -> str:
    return html.split("<h2>超期", 1)[1].split("<h2>临期", 1)[0]


def test_overdue_section_pages_its_rows_and_shows_the_total(
    signed_in: Any,  # noqa: F811
    town: Town,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    month_ago = clock.utcnow() - timedelta(days=30)
    for title in ("冯一与陈二噪音纠纷", "褚三与卫四借款纠纷", "蒋五与沈六宅基地纠纷"):
        case_id = register(engine, town, "supervisor", title=title, effective_at=month_ago)
        drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])
    monkeypatch.setattr(supervisor, "PAGE_ROWS", 2)
    section = _overdue_section(signed_in("supervisor").get("/queue").text)
    assert section.startswith("（3）")
    assert "共 3 件，此处显示前 2 件" in section
    assert len(re.findall(r'data-case="\d+"', section)) == 2
    monkeypatch.setattr(supervisor, "PAGE_ROWS", 50)
    section = _overdue_section(signed_in("supervisor").get("/queue").text)
    assert len(re.findall(r'data-case="\d+"', section)) == 3 and "此处显示前" not in section


def test_a_filter_naming_nothing_finds_nothing(signed_in: Any, town: Town, engine: Engine) -> None:  # noqa: F811
    register(engine, town, "supervisor", title="冯一与陈二噪音纠纷", effective_at=clock.utcnow() - timedelta(days=30))
    supervisor_page = signed_in("supervisor")
    assert "冯一与陈二噪音纠纷" in supervisor_page.get("/queue").text
    for query in ("village=nowhere", "risk=purple", "source=nowhere&level=moon"):
        response = supervisor_page.get(f"/queue?{query}")
        assert response.status_code == 200
        assert "冯一与陈二噪音纠纷" not in response.text and "超期（0）" in response.text
