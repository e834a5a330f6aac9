"""A year of 三调 cases for the report tests: every path, in and out, in every handoff state, entered through
the engine (apply_trigger) with back-dated times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from factories import Town, drive
from report_cases import agreement, at, enter
from sqlalchemy import Engine

from mediation_flow.store.models import Case

Steps = list[tuple[str, dict[str, Any]]]
PATHS = ("police", "petition", "court")
WORKFLOWS = {"police": "police_referral", "petition": "petition_referral", "court": "court_referral"}
INTAKE: dict[str, dict[str, Any]] = {
    "police": {"agency": "qinglong_police", "referring_body": "青龙派出所", "reference_number": "青公调〔2023〕15号"},
    "petition": {
        "agency": "county_petition",
        "referring_body": "示例县信访局",
        "reference_number": "信转2023-7",
        "channel": "letter",
        "repeat": True,
    },
    "court": {
        "agency": "qinglong_tribunal",
        "referring_body": "青龙人民法庭",
        "reference_number": "（2023）渝0101民诉前调15号",
        "court_mode": "delegated",
    },
}
BODIES = {"police": "青龙派出所", "petition": "示例县信访局", "court": "青龙人民法庭"}
AGENCIES = {"police": "qinglong_police", "petition": "county_petition", "court": "qinglong_tribunal"}


def report_back(path: str, day: datetime, result: str = "agreed") -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {"result": result, "reported_on": day.date().isoformat(), "content": "调解结果已反馈。"}
    if path == "petition":
        data["completion_report"] = "经调解双方自愿达成协议，信访事项办结。"
    return ("report_back", data)


def mediate(town: Town, joint: list[str] | None = None) -> Steps:
    start: dict[str, Any] = {"all_parties_consent": True, "venue": "qingfeng_teahouse"}
    if joint:
        start["joint_agencies"] = joint
    return [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", start),
    ]


@dataclass
class SandiaoYear:
    """The ids of the year's cases: ``inbound[path][state]`` and ``outbound[path][state]``."""

    inbound: dict[str, dict[str, int]] = field(default_factory=dict)
    outbound: dict[str, dict[str, int]] = field(default_factory=dict)
    court_late: int = 0


def referred_in(
    engine: Engine, town: Town, path: str, day: datetime, steps: Steps, gap: timedelta = timedelta(days=1), **extra: Any
) -> int:
    attributes = {**INTAKE[path], **extra}
    return enter(
        engine,
        town,
        day,
        steps,
        gap=gap,
        workflow=WORKFLOWS[path],
        source=path,
        title=f"{BODIES[path]}移交：相邻纠纷",
        attributes=attributes,
    )


def refer(path: str) -> tuple[str, dict[str, Any]]:
    return ("refer", {"target": path, "agency": AGENCIES[path], "reason": "属其职责范围"})


def feedback(outcome: str, day: datetime) -> tuple[str, dict[str, Any]]:
    return ("record_feedback", {"received_on": day.date().isoformat(), "outcome": outcome, "detail": "接收单位反馈。"})


def sandiao_year(engine: Engine, town: Town) -> SandiaoYear:
    """2023: per path, referred in and left sent / acknowledged / answered / returned; referred out and left
    sent / acknowledged / answered / returned (police: also one closed without a 反馈); a court case entrusted
    under the simplified procedure that took longer than its 7 days; a joint (一庭两所) mediation."""
    year = SandiaoYear()
    for n, path in enumerate(PATHS):
        day = at(2023, 3 + n, 6)
        agreed = (day + timedelta(days=4)).date().isoformat()
        joint = ["tribunal", "police_station"] if path == "court" else None
        acknowledged = [*mediate(town, joint)]
        if joint:
            acknowledged.append(
                (
                    "record_session",
                    {"session_date": agreed, "content": "法官、民警共同调解", "joint_agencies": ["tribunal"]},
                )
            )
        year.inbound[path] = {
            "sent": referred_in(engine, town, path, day, []),
            "acknowledged": referred_in(engine, town, path, day, acknowledged),
            "answered": referred_in(
                engine, town, path, day, [*mediate(town), agreement(agreed), report_back(path, day + timedelta(days=5))]
            ),
            "returned": referred_in(engine, town, path, day, [("reject", {"reason": "已由法院受理"})]),
        }
        base = year_base(town, path)
        later = day + timedelta(days=6)
        year.outbound[path] = {
            "sent": enter(engine, town, day, base),
            "acknowledged": enter(engine, town, day, [*base, feedback("accepted", later)]),
            "answered": enter(engine, town, day, [*base, feedback("accepted", later), feedback("resolved", later)]),
            "returned": enter(engine, town, day, [*base, feedback("returned", later)]),
        }
    closing = [feedback("other", at(2023, 6, 1)), ("close", {"outcome": "接收单位已处理，本所结案。"})]
    year.outbound["police"]["closed"] = enter(engine, town, at(2023, 5, 6), [*year_base(town, "police"), *closing])
    late = at(2023, 8, 1)  # the agreement 12 days after receipt: beyond the 7 days of 委托 under 简易程序
    steps = [*mediate(town), agreement(at(2023, 8, 13).date().isoformat()), report_back("court", at(2023, 8, 16))]
    year.court_late = referred_in(
        engine, town, "court", late, steps, gap=timedelta(days=3), court_mode="entrusted", procedure="simplified"
    )
    return year


def year_base(town: Town, path: str) -> Steps:
    return [("assign", {"mediator_id": town["mediator"].id}), ("accept", {"rights_notified": True}), refer(path)]


def fire(engine: Engine, town: Town, case_id: int, steps: Steps, when: datetime) -> None:
    """More steps on an existing case, from ``when`` on (a day apart)."""
    with engine.connect() as conn:
        version = conn.execute(Case.__table__.select().where(Case.__table__.c.id == case_id)).one().version
    moments = [when + timedelta(days=i) for i in range(len(steps))]
    drive(engine, case_id, town["supervisor"], steps, version=version, moments=moments)
