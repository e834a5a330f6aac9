"""Cases for the statistics and report tests, entered through the engine with back-dated times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from factories import Town, drive, register
from sqlalchemy import Engine

from mediation_flow.store.clock import LOCAL_TZ


def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    """A local (Asia/Shanghai) moment."""
    return datetime(y, m, d, hour, tzinfo=LOCAL_TZ)


def steps_from(start: datetime, steps: list[tuple[str, dict[str, Any]]], gap: timedelta) -> list[datetime]:
    return [start + gap * (i + 1) for i in range(len(steps))]


def agreement(signed_on: str, amount: str = "1000", **extra: Any) -> tuple[str, dict[str, Any]]:
    data = {
        "form": "written",
        "facts": "双方因琐事发生争执。",
        "terms": "一方赔偿损失并致歉。",
        "performance": "十日内当面履行",
        "amount": amount,
        "signed_on": signed_on,
        **extra,
    }
    return ("reach_agreement", data)


def resolved_path(
    town: Town, day: datetime, amount: str = "1000", **mediation: Any
) -> list[tuple[str, dict[str, Any]]]:
    """assign → … → close_resolved, with dates following ``day``."""
    iso = day.date().isoformat()
    return [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse", **mediation}),
        agreement(iso, amount),
        ("start_follow_up", {}),
        ("record_visit", {"visited_on": iso, "performed": "full", "satisfaction": "satisfied"}),
        ("close_resolved", {}),
    ]


def escalated_and_confirmed(mediator: int, year: int, **mediation: Any) -> list[tuple[str, dict[str, Any]]]:
    """assign → mediation (with ``mediation``'s fields) → escalated → agreement (15 May of ``year``) confirmed by the
    court → partly performed → close_resolved."""
    return [
        ("assign", {"mediator_id": mediator}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True, **mediation}),
        ("escalate", {"reason": "涉及多户，提交村调委会"}),
        agreement(f"{year}-05-15", "800"),
        ("apply_confirmation", {"court": "示例县人民法院", "applied_on": f"{year}-05-16"}),
        ("confirmation_granted", {"ruling_number": f"（{year}）渝0230民特12号", "ruled_on": f"{year}-05-20"}),
        ("record_visit", {"visited_on": f"{year}-06-01", "performed": "partial", "satisfaction": "basic"}),
        ("close_resolved", {}),
    ]


def enter(
    engine: Engine,
    town: Town,
    registered: datetime,
    steps: list[tuple[str, dict[str, Any]]],
    *,
    gap: timedelta = timedelta(days=1),
    moments: list[datetime] | None = None,
    **intake: Any,
) -> int:
    """Register a case at ``registered`` (supervisor, back-dated) and fire ``steps`` after it."""
    case_id = register(engine, town, actor="supervisor", effective_at=registered, **intake)
    if steps:
        drive(engine, case_id, town["supervisor"], steps, moments=moments or steps_from(registered, steps, gap))
    return case_id


def petition(
    engine: Engine, town: Town, registered: datetime, *, channel: str, flags: dict[str, bool], number: str
) -> int:
    """A petition transferred by the 信访 office (petition_referral), mediated, reported back and closed."""
    iso = (registered + timedelta(days=3)).date().isoformat()
    steps = [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse"}),
        agreement(iso, "5000"),
        (
            "report_back",
            {
                "result": "agreed",
                "reported_on": iso,
                "content": "双方达成调解协议。",
                "completion_report": "经调解双方自愿达成协议，信访事项办结。",
            },
        ),
        ("start_follow_up", {}),
        ("record_visit", {"visited_on": iso, "performed": "full", "satisfaction": "satisfied"}),
        ("close_resolved", {}),
    ]
    return enter(
        engine,
        town,
        registered,
        steps,
        workflow="petition_referral",
        source="petition",
        title="信访转办：土地补偿纠纷",
        attributes={
            "agency": "county_petition",
            "referring_body": "县信访办",
            "reference_number": number,
            "channel": channel,
            **flags,
        },
        jurisdiction_code=town.places.grids[1].code,
    )


SOURCES = ["initiative", "application", "police", "court", "department"]
CATEGORIES = ["neighbourhood", "marriage_family", "housing_homestead", "contract", "damages", "land_contract"]


def seed_year(engine: Engine, town: Town, ordinary: int = 120) -> list[int]:
    """The seed's 2023: ``ordinary`` disputes from mixed sources plus one repeat letter petition and one
    Beijing petition by ticket (购票进京访), every one mediated to agreement and closed within the year;
    no conversions."""
    ids = []
    span = timedelta(days=330) / max(ordinary, 1)
    grids = town.places.grids
    for i in range(ordinary):
        day = at(2023, 1, 4) + span * i
        ids.append(
            enter(
                engine,
                town,
                day,
                resolved_path(town, day + timedelta(days=4), amount=str(1000 + 100 * (i % 7))),
                gap=timedelta(hours=20),
                source=SOURCES[i % len(SOURCES)],
                category=CATEGORIES[i % len(CATEGORIES)],
                jurisdiction_code=grids[i % len(grids)].code,
            )
        )
    ids.append(
        petition(engine, town, at(2023, 4, 11), channel="letter", flags={"repeat": True}, number="县信转〔2023〕7号")
    )
    ticket = {"to_beijing": True, "to_beijing_detail": "ticket"}  # the seed: 购票进京访 (bought a ticket)
    ids.append(petition(engine, town, at(2023, 9, 5), channel="visit", flags=ticket, number="县信转〔2023〕19号"))
    return ids
