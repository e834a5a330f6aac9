"""The supervisor's 督办队列 paged section by section (issue 15), on both back ends: across a section's pages, in
every sort, each of its cases is shown exactly once, in the sort's order over the whole section, and the pages
add up to the section's total; a page asked below 1 is the first, past the end the last."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from factories import drive, intake
from sqlalchemy import Engine, func, select

from mediation_flow.cases.intake import register_case
from mediation_flow.cases.queries import CaseFilters
from mediation_flow.cases.supervision import SECTIONS, SORTS, Section, supervision_page
from mediation_flow.store.tables import CASES, EVENTS
from mediation_flow.workflow.registry import REGISTRY

TODAY = date(2024, 3, 20)
OPEN = CaseFilters(open_only=True)


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=UTC)


@pytest.fixture
def queue_cases(engine: Engine, town: Any) -> None:
    """Eleven overdue cases (acceptance clocks of 3 working days, due in February or March 2024) of every grade,
    some due the same day; three due soon; seven of them escalated (open)."""
    grades = ["red", "blue", "yellow", "orange", "red", "blue", "yellow", "red", "orange", "blue", "red"]
    days = ["02-01", "02-05", "02-05", "03-01", "02-20", "03-04", "03-01", "03-11", "02-05", "03-12", "03-12"]
    made = [
        register_case(
            engine,
            actor=town["supervisor"],
            intake=intake(risk_grade=grade, title=f"第{n}号相邻纠纷"),
            effective_at=at(f"2024-{day}"),
        )
        for n, (grade, day) in enumerate(zip(grades, days, strict=True))
    ]
    for day in ("2024-03-19", "2024-03-19", "2024-03-18"):
        made.append(register_case(engine, actor=town["supervisor"], intake=intake(), effective_at=at(day)))
    for case_id in made[::3]:
        drive(
            engine, case_id, town["supervisor"], [("escalate", {"reason": "涉及多户村民"})], moments=[at("2024-03-19")]
        )
    for case_id in made[1:3]:
        steps = [("assign", {"mediator_id": town["mediator"].id}), ("escalate", {"reason": "矛盾激化"})]
        drive(engine, case_id, town["supervisor"], steps, moments=[at("2024-03-19")] * 2)


def _walk(engine: Engine, actor: Any, name: str, sort: str, rows: int) -> tuple[list[int], list[Section]]:
    """Every page of one section, from the first to the last as the page says it."""
    shown: list[Section] = []
    while True:
        number = len(shown) + 1
        page = supervision_page(engine, actor, OPEN, sort=sort, rows=rows, pages={name: number}, today=TODAY)
        section = getattr(page, name)
        assert section.page == number
        shown.append(section)
        if number == section.pages:
            return [item.id for s in shown for item in s.items], shown


def _fresh_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        open_ = CASES.c.state.notin_(REGISTRY.final_states())
        escalated = CASES.c.id.in_(select(EVENTS.c.case_id).where(EVENTS.c.trigger == "escalate"))
        counts = {
            "overdue": select(func.count()).where(CASES.c.due_date < TODAY),
            "soon": select(func.count()).where(CASES.c.due_date >= TODAY, CASES.c.due_date <= date(2024, 3, 22)),
            "escalated": select(func.count()).where(open_, escalated),
        }
        return {name: int(conn.execute(query.select_from(CASES)).scalar_one()) for name, query in counts.items()}


@pytest.mark.usefixtures("queue_cases")
def test_every_case_of_a_section_is_on_exactly_one_of_its_pages(engine: Engine, town: Any) -> None:
    supervisor = town["supervisor"]
    fresh = _fresh_counts(engine)
    assert fresh == {"overdue": 11, "soon": 3, "escalated": 7}
    for sort in SORTS:
        whole = supervision_page(engine, supervisor, OPEN, sort=sort, rows=200, today=TODAY)
        for name in SECTIONS:
            everything = [item.id for item in getattr(whole, name).items]
            assert len(everything) == len(set(everything)) == fresh[name], (sort, name)
            for rows in (1, 2, 4, 5):
                ids, pages = _walk(engine, supervisor, name, sort, rows)
                assert ids == everything, (sort, name, rows)  # each once, in the section's order over its pages
                assert {s.total for s in pages} == {fresh[name]} and len(pages) == -(-fresh[name] // rows)
                assert all(len(s.items) == rows for s in pages[:-1]) and 0 < len(pages[-1].items) <= rows


@pytest.mark.usefixtures("queue_cases")
def test_each_sort_orders_the_whole_section(engine: Engine, town: Any) -> None:
    whole = supervision_page(engine, town["supervisor"], OPEN, sort="risk", rows=200, today=TODAY)
    reds = [item.risk_grade == "red" for item in whole.overdue.items]
    assert reds == sorted(reds, reverse=True) and sum(reds) == 4, "红色优先: every red case before the rest"
    rest = [item.due_date for item in whole.overdue.items if item.risk_grade != "red"]
    assert rest == sorted(rest)
    by_due = supervision_page(engine, town["supervisor"], OPEN, sort="due", rows=200, today=TODAY)
    dues = [item.due_date for item in by_due.overdue.items]
    assert dues == sorted(dues)
    newest = supervision_page(engine, town["supervisor"], OPEN, sort="registered", rows=200, today=TODAY)
    registered = [item.registered_at for item in newest.escalated.items]
    assert registered == sorted(registered, reverse=True)


@pytest.mark.usefixtures("queue_cases")
def test_a_page_outside_the_section_is_its_first_or_last(engine: Engine, town: Any) -> None:
    supervisor = town["supervisor"]

    def section(name: str, number: int) -> Section:
        page = supervision_page(engine, supervisor, OPEN, sort="risk", rows=4, pages={name: number}, today=TODAY)
        return getattr(page, name)

    last, first = section("overdue", 3), section("overdue", 1)
    assert (last.page, last.pages, len(last.items)) == (3, 3, 3)
    for number in (4, 99, 10**9):
        beyond = section("overdue", number)
        assert (beyond.page, [i.id for i in beyond.items]) == (3, [i.id for i in last.items])
    for number in (0, -1, -(10**9)):
        below = section("overdue", number)
        assert (below.page, [i.id for i in below.items]) == (1, [i.id for i in first.items])
    assert (section("escalated", 7).page, section("soon", 7).page) == (2, 1)
    other = supervision_page(engine, supervisor, OPEN, sort="risk", rows=4, pages={"soon": 5}, today=TODAY)
    assert other.overdue.page == 1, "a section's page leaves the others' alone"


@pytest.mark.usefixtures("queue_cases")
def test_an_empty_section_is_one_empty_page(engine: Engine, town: Any) -> None:
    nothing = CaseFilters(open_only=True, village="nowhere")
    page = supervision_page(engine, town["supervisor"], nothing, sort="due", rows=4, pages={"overdue": 3}, today=TODAY)
    assert [(s.total, s.page, s.pages, s.items) for s in (page.overdue, page.soon)] == [(0, 1, 1, [])] * 2
