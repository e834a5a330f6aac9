"""Cases for the statistics and report tests, entered through the engine with back-dated times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from factories import Town, drive, register
from sqlalchemy import Engine

from mediation_flow.clock import LOCAL_TZ


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
