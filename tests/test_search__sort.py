"""案件查询 sorted on the server (issue 16): the desktop table's column links order by case number, risk,
registration time and due date, both ways, on both back ends; a phone keeps the list (the same page, CSS)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from factories import Town, register
from sqlalchemy import Engine
from test_web_pages import app, data_dir, signed_in  # noqa: F401 - the page fixtures

from mediation_flow.cases.queries import CaseFilters, list_cases
from mediation_flow.store import clock


def numbers_in_table(html: str) -> list[str]:
    table = html[html.index('<table class="case-grid">') :]
    return re.findall(r'<td><a href="/cases/\d+">([^<]+)</a></td>', table)


def test_the_table_sorts_by_number_risk_registration_and_due_date(
    engine: Engine,
    town: Town,
    signed_in: Any,  # noqa: F811
) -> None:
    now = clock.utcnow()
    made = [
        register(engine, town, "supervisor", title="甲", risk_grade="blue", effective_at=now - timedelta(hours=3)),
        register(engine, town, "supervisor", title="乙", risk_grade="red", effective_at=now - timedelta(hours=1)),
        register(engine, town, "supervisor", title="丙", risk_grade="yellow", effective_at=now - timedelta(hours=2)),
    ]
    with engine.connect() as conn:
        by = {
            sort: [r["id"] for r in list_cases(conn, town["supervisor"], CaseFilters(), today=now.date(), sort=sort)[0]]
            for sort in ("number", "-number", "risk", "-risk", "registered", "-registered", "nonsense")
        }
    assert by["number"] == made and by["-number"] == made[::-1]
    assert by["risk"] == [made[1], made[2], made[0]] and by["-risk"] == [made[0], made[2], made[1]]
    assert (
        by["registered"] == [made[0], made[2], made[1]]
        and by["-registered"] == by["nonsense"] == by["registered"][::-1]
    )

    page = signed_in("supervisor")
    newest = page.get("/cases").text
    assert 'aria-sort="descending"><a href="/cases?q=&amp;state=&amp;sort=registered"' in newest
    assert "案件名称" in newest and 'class="cases case-list"' in newest  # the table and the phone's list
    numbered = page.get("/cases?sort=number").text
    assert 'aria-sort="ascending"' in numbered and "sort=-number" in numbered
    assert numbers_in_table(numbered) == sorted(numbers_in_table(numbered))
    assert numbers_in_table(page.get("/cases?sort=-number").text) == numbers_in_table(numbered)[::-1]
    assert page.get("/cases?sort=%3Cscript%3E").status_code == 200  # unknown: newest first, no error
    due = numbers_in_table(page.get("/cases?sort=due").text)
    assert sorted(due) == sorted(numbers_in_table(numbered))
