"""Plain factory functions for tests: a township, its users, intakes and driven cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import actor_for, hash_password
from mediation_flow.cases.engine import TransitionResult, apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.demo import DemoTownship, build_township
from mediation_flow.places.agencies import add_agency
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.models import Case, CaseCounter, CaseEvent, Party, User
from mediation_flow.vocabulary import AgencyKind, Role

PASSWORD = "test-pass-1"
OTHER_POLICE = "longjing_post"  # a police post serving village 0 only (make_town adds it)
_HASH = hash_password(PASSWORD)  # once per process: Argon2 is slow on purpose

# 三调对接: a referral of a case to 青龙派出所 (its user is ``liaison``).
REFER_TO_POLICE = {"target": "police", "agency": "qinglong_police", "reason": "涉及治安管理，移送派出所"}


def local_today() -> date:
    """Today in the township (Beijing time), read when called, never at import: a suite that runs across Beijing
    midnight registers its later cases on the new day, and a date taken at import would lie before them. Not
    ``date.today()``: between 16:00 and 24:00 UTC the machine's day is Beijing's yesterday."""
    return clock.local_date(clock.utcnow())


def today_iso() -> str:
    """:func:`local_today` as the API takes it."""
    return local_today().isoformat()


def happy_path() -> list[tuple[str, dict[str, Any]]]:
    """The full successful path of the base workflow, with valid data for each trigger. Its session and signing
    dates are today (Beijing time, :func:`today_iso`): a case registered now cannot have met or signed before it
    began (issue 13). Call it after registering the cases it drives."""
    today = today_iso()
    return [
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse"}),
        ("record_session", {"session_date": today, "content": "面对面调解"}),
        (
            "reach_agreement",
            {
                "form": "written",
                "facts": "双方因通行发生争执",
                "terms": "甲方让出通道一米",
                "performance": "十日内在村委会履行",
                "amount": "1200.50",
                "signed_on": today,
            },
        ),
        ("start_follow_up", {}),
        ("record_visit", {"visited_on": "2023-10-20", "performed": "full", "satisfaction": "satisfied"}),
        ("close_resolved", {}),
    ]


#: The happy path's triggers, in order (no dates: safe to hold at import).
HAPPY_TRIGGERS = [trigger for trigger, _ in happy_path()]


@dataclass
class Town:
    places: DemoTownship
    actors: dict[str, Actor]

    def __getitem__(self, key: str) -> Actor:
        return self.actors[key]


USERS = {
    "supervisor": (Role.SUPERVISOR, "township"),
    "mediator": (Role.MEDIATOR, "township"),
    "village_mediator": (Role.MEDIATOR, "village0"),
    "other_village_mediator": (Role.MEDIATOR, "village1"),
    "grid_worker": (Role.GRID_WORKER, "grid0"),
    "other_grid_worker": (Role.GRID_WORKER, "grid2"),
    "liaison": (Role.POLICE_LIAISON, "township"),  # 青龙派出所 (the demo township's agencies: DemoTownship.agencies)
    "court_liaison": (Role.COURT_LIAISON, "township"),  # 青龙人民法庭
    "petition_liaison": (Role.PETITION_LIAISON, "county"),  # 示例县信访局
    "other_liaison": (Role.POLICE_LIAISON, "village0"),  # 龙井村警务室: an agency serving one village only
    "admin": (Role.ADMIN, None),
}
AGENCY_OF = {
    "liaison": "qinglong_police",
    "court_liaison": "qinglong_tribunal",
    "petition_liaison": "county_petition",
    "other_liaison": OTHER_POLICE,
}


def make_town(engine: Engine) -> Town:
    with write_transaction(engine) as conn:
        places = build_township(conn)
        places.agencies[OTHER_POLICE] = add_agency(
            conn, code=OTHER_POLICE, name="龙井村警务室", kind=AgencyKind.POLICE,
            jurisdiction_code=places.villages[0].code, reference_pattern=r"龙警〔\d{4}〕\d+号",
            reference_example="龙警〔2026〕3号",
        )  # fmt: skip
        where = {
            "county": places.county.id,
            "township": places.township.id,
            "village0": places.villages[0].id,
            "village1": places.villages[1].id,
            "grid0": places.grids[0].id,
            "grid2": places.grids[2].id,
            None: None,
        }
        actors = {}
        for username, (role, place) in USERS.items():
            user_id = conn.execute(
                insert(User.__table__).values(
                    username=username,
                    display_name=username,
                    role=role.value,
                    jurisdiction_id=where[place],
                    agency_id=places.agencies[AGENCY_OF[username]].id if username in AGENCY_OF else None,
                    password_hash=_HASH,
                    is_active=True,
                )
            ).inserted_primary_key[0]
            actor = actor_for(conn, user_id)
            assert actor is not None
            actors[username] = actor
    return Town(places, actors)


def intake(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "张三与李四相邻通行纠纷",
        "category": "neighbourhood",
        "source": "initiative",
        "summary": "两户因院坝通道宽度发生争执。",
        "people_involved": 2,
        "amount": "1200",
        "parties": [
            {"role": "applicant", "name": "张三", "phone": "13812345678", "id_number": "11010519491231002X"},
            {"role": "respondent", "name": "李四"},
        ],
    }
    data.update(overrides)
    return data


def register(engine: Engine, town: Town, actor: str = "grid_worker", **overrides: Any) -> int:
    effective_at = overrides.pop("effective_at", None)
    now = overrides.pop("now", None)
    return register_case(engine, actor=town[actor], intake=intake(**overrides), effective_at=effective_at, now=now)


def drive(
    engine: Engine,
    case_id: int,
    actor: Actor,
    steps: list[tuple[str, dict[str, Any]]],
    *,
    version: int = 1,
    moments: list[datetime] | None = None,
) -> TransitionResult:
    """Fire ``steps`` in order; returns the last result."""
    result: TransitionResult | None = None
    for index, (trigger, data) in enumerate(steps):
        moment = moments[index] if moments else None
        result = apply_trigger(
            engine,
            case_id=case_id,
            actor=actor,
            trigger=trigger,
            expected_version=version,
            data=dict(data),
            effective_at=moment,
            now=max(moment, datetime.now(moment.tzinfo)) if moment else None,
        )
        version = result.version
    assert result is not None
    return result


# What writing a case touches: compared whole between two databases written two ways.
CASE_TABLES = [Case.__table__, Party.__table__, CaseEvent.__table__, CaseCounter.__table__]


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``CASE_TABLES``, by table name, in primary-key order."""
    with engine.connect() as conn:
        return {
            t.name: [dict(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns)).mappings()]
            for t in CASE_TABLES
        }


def assert_same_rows(got: dict[str, list[dict[str, Any]]], want: dict[str, list[dict[str, Any]]]) -> None:
    """Equal dumps, row by row (the first differing row is named)."""
    for table in CASE_TABLES:
        assert len(got[table.name]) == len(want[table.name]), table.name
        for mine, theirs in zip(got[table.name], want[table.name], strict=True):
            assert mine == theirs, (table.name, mine, theirs)
