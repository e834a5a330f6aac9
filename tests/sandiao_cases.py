"""A year of 三调 cases for the report tests: every path, in and out, in every handoff state, entered through
the engine (apply_trigger) with back-dated times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from factories import Town, drive
from report_cases import agreement, at, enter
from sqlalchemy import Engine

from mediation_flow.cases.engine import apply_trigger
from mediation_flow.store.models import Case

Steps = list[tuple[str, dict[str, Any]]]
PATHS = ("police", "petition", "court")
WORKFLOWS = {"police": "police_referral", "petition": "petition_referral", "court": "court_referral"}
AGENCIES = {"police": "qinglong_police", "petition": "county_petition", "court": "qinglong_tribunal"}
LIAISONS = {"police": "liaison", "petition": "petition_liaison", "court": "court_liaison"}  # factories.USERS
INTAKE: dict[str, dict[str, Any]] = {
    "police": {"agency": "qinglong_police", "reference_number": "青公调〔2023〕15号"},
    "petition": {
        "agency": "county_petition",
        "reference_number": "县信转〔2023〕7号",
        "channel": "letter",
        "repeat": True,
    },
    "court": {
        "agency": "qinglong_tribunal",
        "reference_number": "（2023）示0101民诉前调15号",
        "court_mode": "delegated",
    },
}
BODIES = {"police": "青龙派出所", "petition": "示例县信访局", "court": "青龙人民法庭"}


def report_back(path: str, day: datetime, result: str = "agreed") -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {"result": result, "reported_on": day.date().isoformat(), "content": "调解结果已反馈。"}
    if path == "petition":
        data["completion_report"] = "经调解双方自愿达成协议，信访事项办结。"
    return ("report_back", data)


JOINT = {"joint_court": "qinglong_tribunal", "joint_judge": "周法官", "joint_police": "qinglong_police",
         "joint_officer": "赵警官"}  # fmt: skip


def mediate(town: Town, joint: dict[str, Any] | None = None) -> Steps:
    start: dict[str, Any] = {"all_parties_consent": True, "venue": "qingfeng_teahouse", **(joint or {})}
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


def acknowledge() -> tuple[str, dict[str, Any]]:
    return ("acknowledge", {"handler": "王承办"})


def agency_feedback(day: datetime) -> tuple[str, dict[str, Any]]:
    data = {"result": "other", "decided_on": day.date().isoformat(), "content": "已依法处理。"}
    return ("agency_feedback", data)


def return_referral() -> tuple[str, dict[str, Any]]:
    return ("return_referral", {"reason": "不属于本单位职责"})


def feedback(outcome: str, day: datetime) -> tuple[str, dict[str, Any]]:
    return ("record_feedback", {"received_on": day.date().isoformat(), "outcome": outcome, "detail": "接收单位反馈。"})


def sandiao_year(engine: Engine, town: Town) -> SandiaoYear:
    """2023: per path, referred in and left sent / acknowledged / answered / returned (the township accepts,
    reports back, rejects); referred out and left sent / acknowledged / answered / returned (the agency's own
    user signs for it, answers, returns it; police: also one closed on the township's recorded feedback); a
    court case entrusted under the simplified procedure that took longer than its 7 days; a joint (一庭两所)
    mediation with a judge and a police officer named, and the 司法所 in one session."""
    year = SandiaoYear()
    for n, path in enumerate(PATHS):
        day = at(2023, 3 + n, 6)
        agreed = (day + timedelta(days=4)).date().isoformat()
        joint = JOINT if path == "court" else None
        acknowledged = [*mediate(town, joint)]
        if joint:
            session = {"session_date": agreed, "content": "法官、司法所共同调解", "joint_agencies": ["justice_station"]}
            session |= {"joint_court": "qinglong_tribunal", "joint_judge": "周法官"}
            acknowledged.append(("record_session", session))
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
        agency = LIAISONS[path]
        year.outbound[path] = {"sent": enter(engine, town, day, base)}
        for state, steps in (
            ("acknowledged", [acknowledge()]),
            ("answered", [acknowledge(), agency_feedback(later)]),
            ("returned", [return_referral()]),
        ):
            year.outbound[path][state] = case_id = enter(engine, town, day, base)
            fire(engine, town, case_id, steps, later, actor=agency)
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


def fire(engine: Engine, town: Town, case_id: int, steps: Steps, when: datetime, actor: str = "supervisor") -> None:
    """More steps on an existing case by ``actor``, from ``when`` on (a day apart). An agency user may not
    back-date (补录 is the supervisor's), so its steps are taken at their own moment: time is an argument of
    the engine (``now``), as if typed in then."""
    with engine.connect() as conn:
        version = conn.execute(Case.__table__.select().where(Case.__table__.c.id == case_id)).one().version
    moments = [when + timedelta(days=i) for i in range(len(steps))]
    if actor == "supervisor":
        drive(engine, case_id, town[actor], steps, version=version, moments=moments)
        return
    for (trigger, data), moment in zip(steps, moments, strict=True):
        result = apply_trigger(
            engine, case_id=case_id, actor=town[actor], trigger=trigger, expected_version=version,
            data=dict(data), effective_at=moment, now=moment,
        )  # fmt: skip
        version = result.version
