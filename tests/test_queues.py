"""Overdue and due-soon queues, judged from ``today`` (never a stored flag), on both back ends, in the
core and through the API; risk overrides put red cases on top; conversions are recorded as events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from factories import PASSWORD, intake
from fastapi.testclient import TestClient
from sqlalchemy import select

from mediation_flow.accounts.users import actor_for, add_user
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.notices import notices, unread_count
from mediation_flow.cases.queues import QueueFilters, due_soon_until, queue
from mediation_flow.errors import GuardFailed, InvalidData
from mediation_flow.places.jurisdictions import add_jurisdiction
from mediation_flow.store.db import write_transaction
from mediation_flow.store.models import Case, CaseEvent
from mediation_flow.vocabulary import Role
from web.app import create_app

CASES, EVENTS = Case.__table__, CaseEvent.__table__


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=UTC)


def new_case(engine: Any, town: Any, day: str, **overrides: Any) -> int:
    return register_case(engine, actor=town["supervisor"], intake=intake(**overrides), effective_at=at(day))


@pytest.fixture
def cases(engine, town) -> dict[str, int]:
    """Acceptance clocks (3 working days) around the 2024 Spring Festival, in two villages."""
    village0, village1 = town.places.villages[0].code, town.places.villages[1].code
    made = {
        "late_yellow": new_case(engine, town, "2024-02-08", risk_grade="yellow", jurisdiction_code=village0),  # 02-19
        "late_red": new_case(engine, town, "2024-02-01", risk_grade="red", jurisdiction_code=village1),  # 02-05
        "soon_blue": new_case(engine, town, "2024-02-15", risk_grade="blue", jurisdiction_code=village0),  # 02-20
        "paused": new_case(engine, town, "2024-01-10", risk_grade="red", source="police", jurisdiction_code=village0),
    }
    steps = [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True}),
        ("suspend", {"reason": "等待鉴定"}),
    ]
    for version, (trigger, data) in enumerate(steps, start=1):
        apply_trigger(
            engine,
            case_id=made["paused"],
            actor=town["supervisor"],
            trigger=trigger,
            expected_version=version,
            data=data,
            effective_at=at("2024-01-11"),
        )
    return made


def ids(page: Any) -> list[int]:
    return [item["id"] for item in page.items]


def test_queues_are_judged_from_today_red_first(engine, town, cases):
    supervisor = town["supervisor"]
    with engine.connect() as conn:
        overdue = queue(conn, supervisor, "overdue", today=date(2024, 2, 20))
        soon = queue(conn, supervisor, "due_soon", today=date(2024, 2, 20))
        earlier = queue(conn, supervisor, "overdue", today=date(2024, 2, 6))
        nothing_yet = queue(conn, supervisor, "overdue", today=date(2024, 2, 5))
    assert ids(overdue) == [cases["late_red"], cases["late_yellow"]]
    assert overdue.total == 2
    red = overdue.items[0]
    assert red["due_date"] == date(2024, 2, 5) and red["days_late"] == 15
    # 02-06 … 02-09, then (02-10 … 02-17 holiday) 02-18 (调休 Sunday), 02-19, 02-20
    assert red["working_days_late"] == 7
    assert [c["name"] for c in red["clocks"]] == ["acceptance"] and red["clocks"][0]["status"] == "overdue"
    assert red["state_label"] == "已登记" and red["jurisdiction_name"]
    assert ids(soon) == [cases["soon_blue"]]
    assert soon.due_soon_until == date(2024, 2, 22)
    assert ids(earlier) == [cases["late_red"]], "the same rows, judged on another day, give another answer"
    assert nothing_yet.total == 0
    assert cases["paused"] not in ids(overdue) + ids(soon), "a paused clock is never late"


def test_due_soon_horizon_counts_working_days():
    assert due_soon_until(date(2024, 2, 8), 2) == date(2024, 2, 18)  # 02-09, then 02-18 (调休 Sunday)
    assert due_soon_until(date(2023, 9, 28), 2) == date(2023, 10, 8)  # 调休 weekend 10-07, 10-08
    assert due_soon_until(date(2024, 3, 1), 0) == date(2024, 3, 3)


def test_queue_filters(engine, town, cases):
    supervisor, today = town["supervisor"], date(2024, 2, 20)
    with engine.connect() as conn:

        def only(**kwargs: Any) -> list[int]:
            return ids(queue(conn, supervisor, "overdue", today=today, filters=QueueFilters(**kwargs)))

        assert only(risk_grade="red") == [cases["late_red"]]
        assert only(village=town.places.villages[0].code) == [cases["late_yellow"]]
        assert only(level="village") == [cases["late_red"], cases["late_yellow"]]
        assert only(level="township") == []
        assert only(source="initiative") == [cases["late_red"], cases["late_yellow"]]
        assert only(source="police") == []
        assert only(mediator_id=town["mediator"].id) == []
        with pytest.raises(InvalidData) as info:
            only(level="galaxy", risk_grade="purple", village="nowhere")
        assert {e["field"] for e in info.value.details["errors"]} == {"level", "risk_grade", "village"}
        village_mediator = queue(conn, town["other_village_mediator"], "overdue", today=today)
        assert ids(village_mediator) == [cases["late_red"]], "a user sees only their own subtree"
        paged = queue(conn, supervisor, "overdue", today=today, page=2, page_size=1)
        assert ids(paged) == [cases["late_yellow"]] and paged.total == 2


def test_risk_override_puts_a_case_on_top_and_is_recorded(engine, town, cases):
    case_id = cases["late_yellow"]
    with pytest.raises(GuardFailed):
        apply_trigger(
            engine,
            case_id=case_id,
            actor=town["supervisor"],
            trigger="set_risk",
            expected_version=1,
            data={"grade": "yellow", "reason": "无变化"},
        )
    apply_trigger(
        engine,
        case_id=case_id,
        actor=town["supervisor"],
        trigger="set_risk",
        expected_version=1,
        data={"grade": "red", "reason": "当事人扬言报复，涉及人数增加"},
    )
    with engine.connect() as conn:
        overdue = queue(conn, town["supervisor"], "overdue", today=date(2024, 2, 20))
        event = conn.execute(select(EVENTS.c.data).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == 2)).scalar()
        grade = conn.execute(select(CASES.c.risk_grade).where(CASES.c.id == case_id)).scalar()
    assert grade == "red"
    assert event == {"grade": "red", "reason": "当事人扬言报复，涉及人数增加", "from_grade": "yellow"}
    # Both red now: the later due date (more days late) is first.
    assert ids(overdue) == [cases["late_red"], case_id]


def test_conversion_is_recorded_with_date_and_note(engine, town, cases):
    case_id = cases["late_red"]
    apply_trigger(
        engine,
        case_id=case_id,
        actor=town["mediator"],
        trigger="mark_conversion",
        expected_version=1,
        data={"type": "petition", "occurred_on": "2024-02-10", "detail": "当事人赴县信访局上访"},
    )
    with engine.connect() as conn:
        event = (
            conn.execute(select(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.trigger == "mark_conversion"))
            .mappings()
            .one()
        )
    assert (event["from_state"], event["to_state"]) == ("registered", "registered")
    assert event["data"] == {"type": "petition", "occurred_on": "2024-02-10", "detail": "当事人赴县信访局上访"}
    with pytest.raises(InvalidData):
        apply_trigger(
            engine,
            case_id=case_id,
            actor=town["mediator"],
            trigger="mark_conversion",
            expected_version=2,
            data={"type": "alien_abduction", "occurred_on": "2024-02-10", "detail": "x"},
        )


def test_queue_api(engine, town, cases):
    with TestClient(create_app(engine)) as client:

        def login(username: str) -> dict[str, str]:
            token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            return {"Authorization": f"Bearer {token.json()['access_token']}"}

        headers = login("supervisor")
        response = client.get("/api/v1/queues/overdue", params={"today": "2024-02-20"}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert [i["id"] for i in body["items"]] == [cases["late_red"], cases["late_yellow"]]
        assert body["items"][0]["clocks"][0]["status_label"] == "超期"
        soon = client.get("/api/v1/queues/due-soon", params={"today": "2024-02-20"}, headers=headers).json()
        assert [i["id"] for i in soon["items"]] == [cases["soon_blue"]]
        assert soon["items"][0]["clocks"][0]["status_label"] == "临期"
        red = client.get("/api/v1/queues/overdue", params={"today": "2024-02-20", "risk_grade": "red"}, headers=headers)
        assert [i["id"] for i in red.json()["items"]] == [cases["late_red"]]
        bad = client.get("/api/v1/queues/overdue", params={"level": "galaxy"}, headers=headers)
        assert bad.status_code == 422 and bad.json()["error"]["errors"][0]["message"].startswith("处理层级")
        bad_date = client.get("/api/v1/queues/overdue", params={"today": "yesterday"}, headers=headers)
        assert bad_date.status_code == 422
        assert client.get("/api/v1/queues/overdue", headers=login("grid_worker")).status_code == 403
        assert client.get("/api/v1/queues/overdue").status_code == 401


def test_each_townships_queue_is_exactly_its_own_cases(engine, town):
    """A county of two townships: each township's supervisor reads exactly its own township's overdue and due-soon
    cases, in queue order, page by page, and the county's supervisor reads both (a village filter: that village's
    only), and so are their deadline notices. On PostgreSQL both read a township-keyed index (migration 0020): the
    answer must not change."""
    places = town.places
    with write_transaction(engine) as conn:
        other = add_jurisdiction(conn, code="500101002", name="白马镇", level="township", parent_id=places.county.id)
        villages = [
            add_jurisdiction(conn, code=f"500101002{n:03d}", name=f"白马{n}村", level="village", parent_id=other.id)
            for n in (1, 2)
        ]
        made = {}
        for name, code in (("baima_sup", other.code), ("county_sup", places.county.code)):
            user_id = add_user(conn, username=name, password="county-2026-pass", role=Role.SUPERVISOR,
                               jurisdiction_code=code)  # fmt: skip
            made[name] = actor_for(conn, user_id)
    baima, county = made["baima_sup"], made["county_sup"]
    assert baima is not None and county is not None
    grades = ["red", "yellow", "blue"]
    days = ["2024-01-29", "2024-02-01", "2024-02-05", "2024-02-08", "2024-02-15"]
    for n, day in enumerate(days * 2):
        new_case(engine, town, day, risk_grade=grades[n % 3], jurisdiction_code=places.villages[n % 2].code)
        register_case(engine, actor=baima, intake=intake(risk_grade=grades[(n + 1) % 3],
                      jurisdiction_code=villages[n % 2].code), effective_at=at(day))  # fmt: skip
    today = date(2024, 2, 20)
    with engine.connect() as conn:
        rows = conn.execute(select(CASES.c.id, CASES.c.jurisdiction_path, CASES.c.due_date, CASES.c.risk_grade)).all()

        def expected(kind: str, path: str) -> list[int]:
            until = due_soon_until(today, 2)
            found = [r for r in rows if r.due_date is not None and r.jurisdiction_path.startswith(path)
                     and (r.due_date < today if kind == "overdue" else today <= r.due_date <= until)]  # fmt: skip
            return [r.id for r in sorted(found, key=lambda r: (r.risk_grade != "red", r.due_date, r.id))]

        def paged(actor: Any, kind: Any, filters: QueueFilters | None = None) -> list[int]:
            """Every page of 3 in turn (with the total each page gives), then one past the end."""
            got: list[int] = []
            for page in range(1, 10):
                read = queue(conn, actor, kind, today=today, filters=filters, page=page, page_size=3)
                got += ids(read)
                if not read.items:
                    break
                assert read.total == len(set(got)) or len(read.items) == 3, (actor.username, kind, page)
            assert read.total == len(got)
            return got

        for kind in ("overdue", "due_soon"):
            for actor, path in ((town["supervisor"], places.township.path), (baima, other.path),
                                (county, places.county.path)):  # fmt: skip
                mine = expected(kind, path)
                assert mine, (actor.username, kind)
                assert paged(actor, kind) == mine, (actor.username, kind)
            village = QueueFilters(village=villages[1].code)
            assert paged(county, kind, village) == expected(kind, villages[1].path)
            assert paged(baima, kind, village) == expected(kind, villages[1].path)
            assert paged(town["supervisor"], kind, village) == []
        assert set(expected("overdue", places.township.path)).isdisjoint(expected("overdue", other.path))
        # The deadline notices (and the header's count of them) read the same index for a township's supervisor.
        for actor, path in ((town["supervisor"], places.township.path), (baima, other.path),
                            (county, places.county.path)):  # fmt: skip
            inbox = notices(conn, actor, now=at("2024-02-20"))
            due = {n.case_id for n in inbox if n.kind in ("overdue", "due_soon")}
            assert due == set(expected("overdue", path) + expected("due_soon", path)), actor.username
            assert unread_count(conn, actor, now=at("2024-02-20")) == sum(n.unread for n in inbox)
