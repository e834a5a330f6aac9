"""A county of many townships with N cases over five years, built with bulk Core inserts, whose events
exercise every report figure (agreements with amounts, visits, confirmations, referrals in and out,
petitions with flags, joint mediations, escalations, conversions)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from factories import Town
from sqlalchemy import Engine, func, insert, select

from mediation_flow.places.jurisdictions import Place, add_jurisdiction
from mediation_flow.store.clock import LOCAL_TZ
from mediation_flow.store.models import Case, CaseEvent
from mediation_flow.workflow.registry import REGISTRY

CASES, EVENTS = Case.__table__, CaseEvent.__table__
YEARS = (2021, 2022, 2023, 2024, 2025)
CATEGORIES = ["neighbourhood", "marriage_family", "housing_homestead", "contract", "damages", "labour", "other"]
SOURCES = ["initiative", "application", "police", "court", "petition", "department"]
TARGETS = ["police", "court", "petition", "arbitration", "legal_aid", "department"]
# (path, weight): the share of cases that end each way.
PATHS = [("resolved", 58), ("confirmed", 6), ("failed", 14), ("referred", 10), ("rejected", 5), ("withdrawn", 4),
         ("mediating", 3)]  # fmt: skip
BATCH = 5_000


@dataclass(frozen=True)
class County:
    townships: list[Place]
    villages: dict[int, list[Place]]  # township id → villages


def build_county(engine: Engine, town: Town, townships: int) -> County:
    """The demo township plus ``townships - 1`` more, each with 8 villages, under the demo county."""
    places = [town.places.township]
    villages = {town.places.township.id: list(town.places.villages)}
    with engine.begin() as conn:
        for t in range(2, townships + 1):
            code = f"500101{t:03d}"
            township = add_jurisdiction(conn, code=code, name=f"第{t}镇", level="township",
                                        parent_id=town.places.county.id, short_name=f"{t}镇")  # fmt: skip
            places.append(township)
            villages[township.id] = [
                add_jurisdiction(
                    conn, code=f"{code}{v:03d}", name=f"第{t}镇{v}村", level="village", parent_id=township.id
                )
                for v in range(1, 9)
            ]
    return County(places, villages)


def _steps(path: str, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    start: dict[str, Any] = {"all_parties_consent": True, "venue": "qingfeng_teahouse"}
    if rng.random() < 0.1:
        start["joint_agencies"] = ["tribunal", "police_station", "justice_station"]
    agreement = {"form": "oral", "facts": "事实", "terms": "条款", "amount": f"{rng.randrange(0, 50_000)}.00",
                 "signed_on": ""}  # fmt: skip
    visit = {"visited_on": "", "performed": rng.choice(["full"] * 8 + ["partial", "none"]), "satisfaction": "satisfied"}
    steps: list[tuple[str, dict[str, Any]]] = [("accept", {"rights_notified": True})]
    if path == "rejected":
        return [("reject", {"reason": "已由法院受理"})]
    if path == "referred":
        target = rng.choice(TARGETS)
        return [*steps, ("refer", {"target": target, "receiving_body": "接收单位", "reason": "转出"}),
                ("close", {"outcome": "已转交"})]  # fmt: skip
    steps.append(("start_mediation", start))
    if rng.random() < 0.2:
        steps.append(("record_session", {"session_date": "", "content": "调解"}))
    if rng.random() < 0.05:
        steps.append(("escalate", {"reason": "提级", "from_level": "village", "to_level": "township"}))
    if path == "mediating":
        return steps
    if path == "withdrawn":
        return [*steps, ("withdraw", {"reason": "撤回"})]
    if path == "failed":
        return [*steps, ("fail", {"reason": "不成", "routes_informed": True}), ("close", {"outcome": "告知诉讼"})]
    steps.append(("reach_agreement", agreement))
    if path == "confirmed":
        steps += [("apply_confirmation", {"court": "县法院", "applied_on": ""}),
                  ("confirmation_granted", {"ruling_number": "民特1号", "ruled_on": ""})]  # fmt: skip
    else:
        steps.append(("start_follow_up", {}))
    return [*steps, ("record_visit", visit), ("close_resolved", {})]


STATES = {
    "accept": "accepted", "reject": "rejected", "refer": "referred", "start_mediation": "mediating",
    "withdraw": "withdrawn", "fail": "failed", "reach_agreement": "agreed", "apply_confirmation": "confirming",
    "confirmation_granted": "following_up", "start_follow_up": "following_up", "close_resolved": "resolved",
    "close": "closed",
}  # fmt: skip


def build_cases(engine: Engine, county: County, n_cases: int, *, seed: int = 5) -> int:
    """Insert ``n_cases`` cases spread over the townships and YEARS; returns the number of events."""
    rng = random.Random(seed)
    paths = [p for p, w in PATHS for _ in range(w)]
    with engine.connect() as conn:
        wf = REGISTRY.current(conn, "people_mediation").version
        first = int(conn.execute(select(func.coalesce(func.max(CASES.c.id), 0))).scalar_one()) + 1
    seqs: dict[tuple[int, int], int] = {}
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    n_events = 0
    with engine.begin() as conn:
        for case_id in range(first, first + n_cases):
            township = rng.choice(county.townships)
            village = rng.choice(county.villages[township.id])
            year = rng.choice(YEARS)
            moment = datetime(year, 1, 1, 8, tzinfo=LOCAL_TZ) + timedelta(minutes=rng.randrange(0, 525_000))
            seq = seqs[(township.id, year)] = seqs.get((township.id, year), 0) + 1
            source = rng.choice(SOURCES)
            attributes = {}
            if source == "petition":
                attributes = {"channel": rng.choice(["letter", "visit", "online"]), "repeat": rng.random() < 0.3,
                              "to_beijing": rng.random() < 0.05}  # fmt: skip
            steps = _steps(rng.choice(paths), rng)
            rows = [("register", None, "registered", {"source": source, "risk_grade": "blue", "level": "village"})]
            state, clocks = "registered", {}
            for trigger, data in steps:
                new_state = STATES.get(trigger, state)
                rows.append((trigger, state, new_state, data))
                state = new_state
            level = "village"
            for index, (trigger, from_state, to_state, data) in enumerate(rows, start=1):
                if index > 1:
                    moment += timedelta(hours=rng.randrange(4, 120))
                day = moment.astimezone(LOCAL_TZ).date().isoformat()
                data = {k: (day if v == "" else v) for k, v in data.items()}
                if trigger == "accept":
                    clocks = {"mediation": {"started": day, "due": _plus(day, 30), "stopped": None}}
                elif trigger in ("reach_agreement", "fail", "refer", "withdraw") and clocks:
                    clocks["mediation"]["stopped"] = day
                elif trigger == "escalate":
                    level = "township"
                events.append({"case_id": case_id, "seq": index, "trigger": trigger, "from_state": from_state,
                               "to_state": to_state, "actor_id": None, "effective_at": moment.astimezone(UTC),
                               "recorded_at": moment.astimezone(UTC), "note": "", "data": data})  # fmt: skip
            if rng.random() < 0.005:
                moment += timedelta(days=3)
                events.append({"case_id": case_id, "seq": len(rows) + 1, "trigger": "mark_conversion",
                               "from_state": state, "to_state": state, "actor_id": None,
                               "effective_at": moment.astimezone(UTC), "recorded_at": moment.astimezone(UTC),
                               "note": "", "data": {"type": "criminal", "occurred_on": moment.date().isoformat(),
                                                    "detail": "民转刑"}})  # fmt: skip
            written = len(rows) + (1 if events[-1]["trigger"] == "mark_conversion" else 0)
            n_events += written
            registered = events[-written]["effective_at"]
            cases.append({
                "id": case_id, "number": f"（{year}）{township.short_name or township.name}人调字第{seq:05d}号",
                "township_id": township.id, "year": year, "seq": seq, "title": f"纠纷{case_id}",
                "category": rng.choice(CATEGORIES), "source": source, "risk_grade": "blue",
                "jurisdiction_id": village.id, "jurisdiction_path": village.path, "level": level,
                "venue": "qingfeng_teahouse", "summary": "纠纷简要情况", "amount_fen": None, "people_involved": 2,
                "mediator_id": None, "created_by": None, "workflow_name": "people_mediation", "workflow_version": wf,
                "state": state, "version": written, "clocks": clocks, "due_date": None, "attributes": attributes,
                "registered_at": registered, "created_at": registered, "updated_at": moment.astimezone(UTC),
            })  # fmt: skip
            if len(cases) >= BATCH:
                _flush(conn, cases, events)
        _flush(conn, cases, events)
    return n_events


def _plus(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _flush(conn: Any, cases: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    if cases:
        conn.execute(insert(CASES), cases)
        conn.execute(insert(EVENTS), events)
    cases.clear()
    events.clear()
