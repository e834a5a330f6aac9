"""我的案件 (/my): the cases waiting to be accepted (待受理) and the mediator's own, nearest deadline first, as the
page says; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from factories import drive, register

from mediation_flow.cases.lists import own_cases
from mediation_flow.store import clock


def test_waiting_and_own_cases_come_nearest_deadline_first(engine: Any, town: Any) -> None:
    now = clock.utcnow()
    days_ago = (1, 5, 3)  # registered in this order: the newest first, so an order by registration is not the answer
    ids = [
        register(engine, town, "supervisor", title=f"相邻纠纷{n}", effective_at=now - timedelta(days=n))
        for n in days_ago
    ]
    waiting = own_cases(engine, town["mediator"]).unassigned
    mine = [i for i in waiting if i.id in ids]
    assert [i.id for i in mine] == [ids[1], ids[2], ids[0]]  # 5, 3, 1 days ago: the first due the soonest
    assert [i.due_date for i in mine] == sorted(i.due_date for i in mine) and mine[0].due_date < mine[-1].due_date
    for case_id in (ids[0], ids[1]):
        drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})])
    own = [i for group in own_cases(engine, town["mediator"]).groups.values() for i in group if i.id in ids]
    assert [i.id for i in own] == [ids[1], ids[0]]
