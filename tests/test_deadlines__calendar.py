"""Deadlines on the real Chinese calendar, driven through the engine with back-dated (补录) entries by a
supervisor, on both back ends: the stored due dates must be exactly what the law and the calendar say."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from factories import intake
from sqlalchemy import select

from mediation_flow.cases.checks import check_all
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.errors import GuardFailed
from mediation_flow.store.models import Case
from mediation_flow.workflow.deadlines import clock_views
from mediation_flow.workflow.registry import REGISTRY

CASES = Case.__table__
CONSENT = {"all_parties_consent": True}


def at(day: str) -> datetime:
    """10:00 Beijing time on ``day``."""
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=UTC)


class Case_:
    def __init__(self, engine: Any, town: Any, day: str, **overrides: Any) -> None:
        self.engine, self.town = engine, town
        self.id = register_case(engine, actor=town["supervisor"], intake=intake(**overrides), effective_at=at(day))
        self.version = 1

    def fire(self, trigger: str, day: str, data: dict[str, Any] | None = None) -> None:
        result = apply_trigger(
            self.engine,
            case_id=self.id,
            actor=self.town["supervisor"],
            trigger=trigger,
            expected_version=self.version,
            data=data or {},
            effective_at=at(day),
        )
        self.version = result.version

    def row(self) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(CASES).where(CASES.c.id == self.id)).mappings().one()

    def due(self, clock: str) -> str | None:
        return self.row()["clocks"][clock].get("due")

    def start(self, accept_day: str, start_day: str | None = None) -> None:
        self.fire("assign", accept_day, {"mediator_id": self.town["mediator"].id})
        self.fire("accept", accept_day, {"rights_notified": True})
        self.fire("start_mediation", start_day or accept_day, CONSENT)


def test_thirty_day_mediation_accepted_before_national_day_2023(engine, town):
    # Registered and accepted on Thu 2023-09-28, just before the 中秋/国庆 holiday (09-29 … 10-06) with
    # the 调休 working weekend 10-07/10-08. 3 working days of acceptance: 10-07, 10-08, 10-09.
    case = Case_(engine, town, "2023-09-28")
    assert case.due("acceptance") == "2023-10-09"
    case.start("2023-09-28")
    # 30 calendar days end on Sat 2023-10-28, not a working day → the next working day, Mon 10-30.
    assert case.due("mediation") == "2023-10-30"
    assert case.row()["due_date"] == date(2023, 10, 30)
    assert case.row()["clocks"]["acceptance"]["stopped"] == "2023-09-28"


def test_three_working_day_acceptance_across_spring_festival_2024(engine, town):
    # Thu 2024-02-08: 02-09 (除夕) is a working day, 02-10 … 02-17 holiday, Sun 02-18 an adjusted
    # working day, so the third working day is Mon 02-19.
    case = Case_(engine, town, "2024-02-08")
    assert case.due("acceptance") == "2024-02-19"
    assert case.row()["due_date"] == date(2024, 2, 19)
    with engine.connect() as conn:
        spec = REGISTRY.get(conn, "people_mediation", case.row()["workflow_version"]).spec
    views = {v.name: v for v in clock_views(spec, case.row()["clocks"], today=date(2024, 2, 16))}
    assert views["acceptance"].status == "due_soon" and views["acceptance"].days_left == 2
    views = {v.name: v for v in clock_views(spec, case.row()["clocks"], today=date(2024, 2, 20))}
    assert views["acceptance"].status == "overdue"


def test_suspended_clock_stops_and_resumes_then_extension(engine, town):
    case = Case_(engine, town, "2023-03-01")
    case.start("2023-03-01", "2023-03-02")
    assert case.due("mediation") == "2023-03-31"
    case.fire("suspend", "2023-03-10", {"reason": "等待伤情鉴定"})
    clocks = case.row()["clocks"]["mediation"]
    assert clocks["paused_since"] == "2023-03-10"
    assert case.row()["due_date"] is None, "a paused clock is not a due date"
    case.fire("resume", "2023-03-20")
    # Ten days paused: 2023-03-31 + 10 = 2023-04-10 (Monday).
    assert case.due("mediation") == "2023-04-10"
    assert case.row()["clocks"]["mediation"]["paused"] == 10
    assert case.row()["due_date"] == date(2023, 4, 10)
    case.fire("extend", "2023-03-25", {"days": 10, "parties_consent": True, "reason": "双方同意延长"})
    assert case.due("mediation") == "2023-04-20"
    assert case.row()["clocks"]["mediation"]["extended"] == 10
    # The mediation clock allows 30 extra days in all: 10 used, 21 more are refused and write nothing.
    version = case.version
    with pytest.raises(GuardFailed, match="累计延长不得超过30日"):
        case.fire("extend", "2023-03-26", {"days": 21, "parties_consent": True, "reason": "再延长"})
    assert case.row()["version"] == version
    assert check_all(engine)[1] == []


def petition(engine: Any, town: Any, day: str) -> Case_:
    attributes = {
        "agency": "county_petition",
        "referring_body": "青龙镇信访办",
        "reference_number": "青信转〔2024〕7号",
        "channel": "letter",
    }
    return Case_(engine, town, day, workflow="petition_referral", source="petition", attributes=attributes)


def test_petition_sixty_day_clock_keeps_running_while_mediation_is_suspended(engine, town):
    case = petition(engine, town, "2024-02-20")
    assert case.due("petition_acceptance") == "2024-03-06"
    case.start("2024-03-01", "2024-03-04")
    assert case.due("petition_completion") == "2024-04-30"
    assert case.due("mediation") == "2024-04-01"  # 03-31 is a Sunday
    case.fire("suspend", "2024-03-10", {"reason": "等待房屋价值评估"})
    row = case.row()
    assert row["clocks"]["mediation"]["paused_since"] == "2024-03-10"
    assert row["clocks"]["petition_completion"].get("paused_since") is None
    assert row["due_date"] == date(2024, 4, 30), "the petition clock still runs and is the queue's due date"
    # Extending the petition clock needs the approval field; the mediation clock is paused.
    with pytest.raises(GuardFailed, match="批准"):
        case.fire("extend", "2024-04-20", {"clock": "petition_completion", "days": 30, "reason": "情况复杂"})
    case.fire(
        "extend",
        "2024-04-20",
        {"clock": "petition_completion", "days": 30, "reason": "情况复杂", "approval": "镇信访办主任 王某 批准"},
    )
    row = case.row()
    assert row["clocks"]["petition_completion"]["due"] == "2024-05-30"
    assert row["clocks"]["mediation"]["extended"] == 0, "only the chosen clock is extended"
    case.fire("resume", "2024-04-25")
    # Mediation paused 03-10 … 04-25 (46 days): 2024-04-01's basis 03-31 + 46 = 05-16 (Thursday).
    assert case.due("mediation") == "2024-05-16"
    assert case.due("petition_completion") == "2024-05-30"
    assert check_all(engine)[1] == []


@pytest.mark.parametrize(
    ("mode", "procedure", "due"),
    [
        ("delegated", None, "2024-04-03"),
        ("entrusted", "ordinary", "2024-03-19"),
        ("entrusted", "simplified", "2024-03-11"),
    ],
)
def test_court_clock_length_follows_the_referral_mode(engine, town, mode, procedure, due):
    attributes = {
        "agency": "qinglong_tribunal",
        "referring_body": "示例县人民法院",
        "reference_number": "（2024）示0101民诉前调123号",
        "court_mode": mode,
    }
    if procedure:
        attributes["procedure"] = procedure
    case = Case_(engine, town, "2024-03-04", workflow="court_referral", source="court", attributes=attributes)
    assert case.due("court_mediation") == due
    assert check_all(engine)[1] == []
