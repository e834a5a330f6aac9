"""The demo township, modelled on the seed report (青龙镇: 8 villages incl. 龙井村, the 清风茶室 venue),
with one user per role and ~150 cases over 2023–2025 in every state and source, entered with back-dated
effective times by the engine's own ``step`` (the ledger import's bulk path) so their histories are real."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import actor_for, add_user
from mediation_flow.cases.intake import parse_intake
from mediation_flow.demo_county import SECOND_VENUE_FOR, build_second_township
from mediation_flow.demo_handoffs import HANDOFF_SHOWCASE, SHOWCASE_FROM, build_agencies, showcase_case
from mediation_flow.ledger import bulk as ledger_bulk
from mediation_flow.ledger import write as ledger_write
from mediation_flow.places.agencies import Agency
from mediation_flow.places.jurisdictions import Place, add_jurisdiction
from mediation_flow.store.clock import local_date, utcnow
from mediation_flow.store.db import write_transaction
from mediation_flow.vocabulary import Role
from mediation_flow.workflow.registry import REGISTRY

VILLAGES = ["龙井村", "青龙村", "石桥村", "桂花村", "双河村", "新华村", "红岩村", "白果村"]
SECOND_EVERY = 4  # every 4th settled 人民调解 case of the demo lies in the second township
# The display name is the person's name only: pages show the role (and the agency) beside it themselves.
DEMO_PASSWORDS = {
    "admin": ("admin", Role.ADMIN, None, "系统管理员"),
    "sifasuo": ("sifasuo", Role.SUPERVISOR, "500101001", "王所长"),
    "tiaojie": ("tiaojie", Role.MEDIATOR, "500101001", "李明"),
    "tiaojie2": ("tiaojie2", Role.MEDIATOR, "500101001", "张芳"),
    "wangge": ("wangge", Role.GRID_WORKER, "500101001001001", "陈红"),
    # the county (县司法局) compares its townships; 白马镇 is the second township, with its own mediator
    "xianju": ("xianju", Role.SUPERVISOR, "500101", "刘科长"),
    "baima": ("baima", Role.MEDIATOR, "500101002", "何静"),
    # the partner agencies' users name their agency (DEMO_AGENCIES) instead of a jurisdiction
    "paichusuo": ("paichusuo", Role.POLICE_LIAISON, "qinglong_police", "赵勇"),
    "fating": ("fating", Role.COURT_LIAISON, "qinglong_tribunal", "周丽"),
    "xinfang": ("xinfang", Role.PETITION_LIAISON, "county_petition", "孙伟"),
}
DEMO_PASSWORD_SUFFIX = "-demo2023"


@dataclass
class DemoTownship:
    county: Place
    township: Place
    villages: list[Place]
    grids: list[Place]
    agencies: dict[str, Agency]
    second_grids: list[Place] = field(default_factory=list)  # the grids of the second township, once built


def build_township(conn: Any) -> DemoTownship:
    county = add_jurisdiction(conn, code="500101", name="示例县", level="county", parent_id=None, short_name="示例")
    township = add_jurisdiction(
        conn, code="500101001", name="青龙镇", level="township", parent_id=county.id, short_name="青龙"
    )
    villages, grids = [], []
    for v_index, name in enumerate(VILLAGES, start=1):
        village = add_jurisdiction(
            conn, code=f"500101001{v_index:03d}", name=name, level="village", parent_id=township.id
        )
        villages.append(village)
        for g_index in (1, 2):
            grids.append(
                add_jurisdiction(
                    conn,
                    code=f"{village.code}{g_index:03d}",
                    name=f"{name}第{'一二'[g_index - 1]}网格",
                    level="grid",
                    parent_id=village.id,
                )
            )
    return DemoTownship(county, township, villages, grids, build_agencies(conn))


def demo_password(username: str) -> str:
    return f"{username}{DEMO_PASSWORD_SUFFIX}"


def is_demo_password(username: str, password: str) -> bool:
    """The demo account's published password (the pages then urge its owner to change it)."""
    return username in DEMO_PASSWORDS and password == demo_password(username)


def add_demo_users(conn: Any) -> dict[str, int]:
    ids = {}
    for username, (_, role, code, display) in DEMO_PASSWORDS.items():
        ids[username] = add_user(
            conn,
            username=username,
            password=demo_password(username),
            role=role,
            display_name=display,
            jurisdiction_code=None if role.agency_kind else code,
            agency_code=code if role.agency_kind else None,
        )
    return ids


SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "桂兰"]
TITLES = {
    "neighbourhood": "{a}与{b}相邻通行纠纷",
    "marriage_family": "{a}与{b}婚姻家庭纠纷",
    "housing_homestead": "{a}与{b}宅基地界址纠纷",
    "contract": "{a}与{b}买卖合同纠纷",
    "damages": "{a}与{b}人身损害赔偿纠纷",
    "forest_land": "{a}与{b}山林权属纠纷",
    "labour": "{a}与{b}劳务报酬纠纷",
    "traffic": "{a}与{b}道路交通事故赔偿纠纷",
    "land_contract": "{a}与{b}土地承包经营权纠纷",
    "consumer": "{a}与{b}消费纠纷",
}
# Target states and their weights: the 2023–2025 history is settled; the last weeks are still open.
HISTORY_PATHS: list[tuple[str, int]] = [("resolved", 75), ("closed", 10), ("withdrawn", 5), ("rejected", 5)]
CURRENT_PATHS: list[tuple[str, int]] = [
    ("registered", 3),
    ("accepted", 3),
    ("mediating", 6),
    ("suspended", 2),
    ("agreed", 2),
    ("confirming", 1),
    ("following_up", 3),
    ("failed", 1),
    ("referred", 2),
]
# 三调对接: cases handed over by the police, the 信访 office or the court run their own workflows.
REFERRAL_WORKFLOWS: dict[str, tuple[str, dict[str, Any]]] = {
    "police": ("police_referral", {"agency": "qinglong_police", "reference_number": "青公调〔{year}〕{n}号"}),
    "petition": (
        "petition_referral",
        {"agency": "county_petition", "reference_number": "青信转〔{year}〕{n}号", "channel": "letter"},
    ),
    "court": (
        "court_referral",
        {
            "agency": "qinglong_tribunal",
            "reference_number": "（{year}）示0101民诉前调{n}号",
            "court_mode": "delegated",
        },
    ),
}
REPORT_BACK = {
    "result": "performed",
    "reported_on": "",
    "content": "调解达成协议并已履行，特此反馈。",
    "completion_report": "经调解双方达成协议并已履行完毕，信访事项办结。",
    "petitioner_informed": True,
}
CURRENT_SHARE = 0.15
CURRENT_WINDOW = timedelta(days=40)
CHUNK = 5_000  # cases per transaction


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _steps(target: str, workflow: str = "people_mediation") -> list[tuple[str, dict[str, Any]]]:
    """The trigger sequence that takes a new case to ``target``, with plausible data. Referred-in cases
    send their result back to the referring body (report_back) before they close."""
    steps = _base_steps(target)
    if workflow == "people_mediation":
        return steps
    report = ("report_back", _report_back(workflow, failed=target == "closed"))
    if target in ("resolved", "closed"):
        return [*steps[:-1], report, steps[-1]]
    if target in ("rejected", "withdrawn"):  # the referring body is told of these too
        result = "not_accepted" if target == "rejected" else "withdrawn"
        return [*steps, ("report_back", {**report[1], "result": result, "content": "特此反馈。"})]
    return steps


def _report_back(workflow: str, *, failed: bool) -> dict[str, Any]:
    data = dict(REPORT_BACK)
    if workflow != "petition_referral":
        data.pop("completion_report")
        data.pop("petitioner_informed")
    if failed:
        data.update(result="failed", content="双方分歧较大，调解不成，特此反馈。")
        if workflow == "court_referral":
            data["file_returned"] = True
        if workflow == "petition_referral":
            data["completion_report"] = "调解不成，已告知信访人依法通过诉讼途径解决。"
    return data


def _base_steps(target: str) -> list[tuple[str, dict[str, Any]]]:
    accept = ("accept", {"rights_notified": True})
    start = ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse"})
    session = ("record_session", {"session_date": "", "content": "组织双方当事人面对面调解，释法明理。"})
    agree = (
        "reach_agreement",
        {
            "form": "written",
            "facts": "双方因琐事发生争执，经调查核实，责任基本清楚。",
            "terms": "一方向另一方赔偿损失并当面致歉，双方不再因此事发生争执。",
            "performance": "协议签订之日起十日内在村委会当面履行",
            "amount": "3000",
            "signed_on": "",
        },
    )
    visit = ("record_visit", {"visited_on": "", "performed": "full", "satisfaction": "satisfied"})
    fail = ("fail", {"reason": "双方分歧较大，无法达成一致。", "routes_informed": True})
    paths: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "registered": [],
        "accepted": [accept],
        "rejected": [("reject", {"reason": "该纠纷已由人民法院受理。"})],
        "mediating": [accept, start, session],
        "suspended": [accept, start, ("suspend", {"reason": "等待伤情鉴定结论。"})],
        "agreed": [accept, start, session, agree],
        "confirming": [
            accept,
            start,
            session,
            agree,
            ("apply_confirmation", {"court": "示例县人民法院", "applied_on": ""}),
        ],
        "following_up": [accept, start, session, agree, ("start_follow_up", {})],
        "resolved": [accept, start, session, agree, ("start_follow_up", {}), visit, ("close_resolved", {})],
        "failed": [accept, start, session, fail],
        "closed": [accept, start, session, fail, ("close", {"outcome": "已告知当事人诉讼途径，当事人表示将起诉。"})],
        "referred": [
            accept,
            ("refer", {"target": "court", "agency": "qinglong_tribunal", "reason": "当事人要求诉讼解决。"}),
        ],
        "withdrawn": [accept, ("withdraw", {"reason": "双方已自行和解。"})],
    }
    return paths[target]


@dataclass(frozen=True)
class DemoPlan:
    """One demo case: what a grid worker would report and the back-dated history it went through."""

    workflow: str
    intake: dict[str, Any]
    registered: datetime
    steps: list[tuple[str, dict[str, Any], datetime | None, str]]  # trigger, data, effective time (None: now), note
    # who (a demo username) registered the case and fired each step; None: the importing supervisor
    registered_by: str | None = None
    actors: tuple[str | None, ...] = ()

    def actor_of(self, index: int) -> str | None:
        return self.actors[index] if index < len(self.actors) else None


def load_demo(
    engine: Engine, *, seed: int = 2023, cases: int = 150, now: datetime | None = None, chunk: int = CHUNK
) -> dict[str, str]:
    """Create the demo township, users and cases. Returns ``{username: password}``.

    The cases go through the bulk path of the ledger import (``ledger_bulk``: the engine's ``step`` applied
    in memory, then one executemany per table), ``chunk`` cases per transaction, so a demo of a million cases
    is a matter of minutes; tests/test_demo.py shows the rows are those the engine writes case by case."""
    rng = random.Random(seed)
    with write_transaction(engine) as conn:
        township = build_township(conn)
        build_second_township(conn, township)
        ids = add_demo_users(conn)
        actors = {name: actor_for(conn, user_id) for name, user_id in ids.items()}
    supervisor = actors["sifasuo"]
    assert supervisor is not None
    people = {name: actor for name, actor in actors.items() if actor is not None}
    now = now or utcnow()
    batch: list[DemoPlan] = []
    for plan in demo_plans(rng, township, [ids["tiaojie"], ids["tiaojie2"], ids["baima"]], cases, now):
        batch.append(plan)
        if len(batch) >= chunk:
            write_plans(engine, supervisor, batch, now, people)
            batch = []
    if batch:
        write_plans(engine, supervisor, batch, now, people)
    return {username: demo_password(username) for username in DEMO_PASSWORDS}


def demo_plans(
    rng: random.Random, township: DemoTownship, mediator_ids: list[int], cases: int, now: datetime
) -> Iterator[DemoPlan]:
    """``cases`` plans: settled history spread over 2023–2025, then open cases from the last 40 days (every
    open state at least once, then by weight). With the second township built and its mediator given (a third
    id), every ``SECOND_EVERY``-th settled 人民调解 case lies there instead (the same draws: the rest is alike)."""
    start = datetime(2023, 1, 3, 1, 30, tzinfo=UTC)
    span = (datetime(2025, 12, 20, tzinfo=UTC) - start).total_seconds()
    sources = ["initiative", "application", "police", "court", "petition", "department"]
    categories = list(TITLES)
    history = [t for t, weight in HISTORY_PATHS for _ in range(weight)]
    current = [t for t, weight in CURRENT_PATHS for _ in range(weight)]
    showcase = HANDOFF_SHOWCASE if cases >= SHOWCASE_FROM else []
    current_count = max(int(cases * CURRENT_SHARE), len(CURRENT_PATHS) + len(showcase))
    for index in range(cases):
        if index < cases - current_count:
            registered = start + timedelta(seconds=span * index / cases + rng.randint(0, 36_000))
            target = "resolved" if index < 4 else rng.choice(history)
        else:
            registered = now - CURRENT_WINDOW * rng.random()
            position = index - (cases - current_count)
            if len(CURRENT_PATHS) <= position < len(CURRENT_PATHS) + len(showcase):
                shown = showcase_case(showcase[position - len(CURRENT_PATHS)], registered, now)
                yield _demo_plan(
                    rng, township, mediator_ids[:2], shown.registered, shown.target, now=now, source=shown.source,
                    category=rng.choice(categories), extra=shown.extra, registered_by=shown.registered_by,
                )  # fmt: skip
                continue
            target = CURRENT_PATHS[position][0] if position < len(CURRENT_PATHS) else rng.choice(current)
        plan = _demo_plan(
            rng,
            township,
            mediator_ids[:2],
            registered,
            target,
            now=now,
            source="initiative" if target == "referred" else sources[index % len(sources)],
            category=rng.choice(categories),
        )
        second = township.second_grids and len(mediator_ids) > 2 and index < cases - current_count
        if second and index % SECOND_EVERY == SECOND_EVERY - 1 and plan.workflow == "people_mediation":
            grid = township.second_grids[index // SECOND_EVERY % len(township.second_grids)]
            plan = _in_second_township(plan, grid.code, mediator_ids[2])
        yield plan


def _in_second_township(plan: DemoPlan, grid_code: str, mediator_id: int) -> DemoPlan:
    """The plan's case registered in the second township's grid, assigned to its mediator, entered by the county;
    mediated at the second township's own venue (青龙镇's is not offered there)."""
    steps = [
        (trigger, {**data, "mediator_id": mediator_id} if trigger == "assign" else data, at, note)
        for trigger, data, at, note in with_venues(plan, SECOND_VENUE_FOR).steps
    ]
    intake = {**plan.intake, "jurisdiction_code": grid_code}
    return DemoPlan(plan.workflow, intake, plan.registered, steps, "xianju", ("xianju",) * len(steps))


def with_venues(plan: DemoPlan, venues: Mapping[str, str]) -> DemoPlan:
    """The plan with each venue named in ``venues`` replaced (a case moved to a township that has venues of its
    own: 青龙镇's 清风茶室 is offered in 青龙镇 only)."""
    steps = [
        (trigger, {**data, "venue": venues[data["venue"]]} if data.get("venue") in venues else data, at, note)
        for trigger, data, at, note in plan.steps
    ]
    return replace(plan, steps=steps)


def write_plans(
    engine: Engine, actor: Actor, plans: list[DemoPlan], now: datetime, people: Mapping[str, Actor] | None = None
) -> list[int]:
    """Register and drive ``plans`` in one transaction through the bulk path; returns the new case ids. Steps
    are ``actor``'s unless the plan names another demo user (``people``, by username)."""
    people = people or {}
    with write_transaction(engine) as conn:
        snapshots: dict[str, ledger_bulk.Snapshot] = {}
        drafts = []
        for plan in plans:
            snap = ledger_bulk.snapshot_for(snapshots, conn, actor, REGISTRY, now, plan.workflow)
            by = people.get(plan.registered_by or "")
            draft = ledger_bulk.register(snap, parse_intake(plan.intake), plan.registered, actor=by)
            for index, (trigger, values, moment, note) in enumerate(plan.steps):
                who = people.get(plan.actor_of(index) or "")
                ledger_bulk.advance(snap, draft, trigger, values, moment, note, actor=who)
            drafts.append(draft)
        return ledger_write.number_and_write(conn, drafts)


def _demo_plan(
    rng: random.Random,
    township: DemoTownship,
    mediator_ids: list[int],
    registered: datetime,
    target: str,
    *,
    now: datetime,
    source: str,
    category: str,
    extra: list[tuple[str, dict[str, Any], str | None]] | None = None,
    registered_by: str | None = None,
) -> DemoPlan:
    """A demo case taken to ``target`` by the supervisor, then through ``extra`` steps (trigger, data, the
    demo user who fires it)."""
    grid = rng.choice(township.grids)
    workflow, template = REFERRAL_WORKFLOWS.get(source, ("people_mediation", {}))
    if workflow != "people_mediation" and target == "referred":
        target = "mediating"
    attributes = {k: v.format(year=registered.year, n=rng.randint(1, 400)) for k, v in template.items()}
    a, b = _name(rng), _name(rng)
    people = rng.choice([2, 2, 2, 3, 4, 6])
    intake = {
        "title": TITLES[category].format(a=a, b=b),
        "category": category,
        "source": source,
        "summary": f"{a}与{b}因{TITLES[category].format(a='', b='')[1:-2]}事项发生争执，经网格员排查发现并上报。",
        "people_involved": people,
        "amount": rng.choice([None, 2000, 8000, 30000]),
        "jurisdiction_code": grid.code,
        "workflow": workflow,
        "attributes": attributes,
        "parties": [
            {
                "role": "applicant",
                "name": a,
                "phone": f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
                "id_number": make_id_number(
                    "500101", datetime(1960 + rng.randint(0, 40), 3, 1).date(), rng.randint(1, 999)
                ),
            },
            {"role": "respondent", "name": b},
        ],
    }
    moment = registered
    steps: list[tuple[str, dict[str, Any], str | None]] = [(t, d, None) for t, d in _steps(target, workflow)]
    if steps:
        steps = [("assign", {"mediator_id": rng.choice(mediator_ids)}, None), *steps]
    steps += extra or []
    room = (now - registered) / (len(steps) + 1)
    planned = []
    for trigger, template, who in steps:
        moment += min(timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5)), room)
        # only the 司法所 may back-date: a partner agency's user acts now (its steps come last)
        at = None if who else moment
        day = local_date(at or now).isoformat()  # the township's calendar day, as the engine checks it
        planned.append((trigger, {k: (day if v == "" else v) for k, v in template.items()}, at, ""))
    actors = tuple(who for _, _, who in steps) if any(who for _, _, who in steps) else ()
    return DemoPlan(workflow, intake, registered, planned, registered_by, actors)
