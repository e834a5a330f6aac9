"""Last year's paper ledger comes in whole: the same year imported from a spreadsheet and entered step by step
through the engine gives identical reports — 三调 (police, court and petition cases referred in, joint
mediation), petitions by channel and situation (重复访, 进京访 with 购票), escalations and the level of each
agreement, judicial confirmations, visits and performance (both back ends)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from factories import Town
from sqlalchemy import Engine, select
from test_ledger_import import csv_bytes

from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.ledger.plan import import_ledger
from mediation_flow.stats.figures import compute_figures
from mediation_flow.stats.report_text import render
from mediation_flow.stats.scope import year_scope
from mediation_flow.store.clock import LOCAL_TZ
from mediation_flow.store.tables import EVENTS

REFERRALS = {
    "police": ("青龙派出所", "police_referral", "police", {"agency": "qinglong_police"}),
    "court": ("青龙人民法庭", "court_referral", "court", {"agency": "qinglong_tribunal", "court_mode": "delegated"}),
    "petition": ("示例县信访局", "petition_referral", "petition", {"agency": "county_petition"}),
}
SOURCE_NAMES = {"initiative": "主动排查", "application": "当事人申请", "police": "公安移交", "court": "法院委派/委托",
                "petition": "信访转办"}  # fmt: skip
CATEGORY_NAMES = {
    "neighbourhood": "邻里",
    "marriage_family": "婚姻家庭",
    "contract": "合同",
    "land_contract": "土地承包经营权",
}
CHANNEL_NAMES = {"letter": "来信", "visit": "来访"}


def d(month: int, day: int) -> date:
    return date(2023, month, day)


# One township's 2023, a case per line: what the paper ledger says.
YEAR: list[dict[str, Any]] = [
    {"on": d(1, 5), "grid": 0, "category": "neighbourhood", "source": "initiative", "started": d(1, 6),
     "agreed": d(1, 9), "amount": "800", "visited": d(1, 20), "performed": "full", "closed": d(1, 21)},
    {"on": d(2, 3), "grid": 1, "category": "marriage_family", "source": "application", "started": d(2, 4),
     "agreed": d(2, 10), "visited": d(2, 25), "performed": "partial", "closed": d(2, 26),
     "escalate": ("乡镇", d(2, 4))},
    {"on": d(3, 1), "grid": 2, "category": "contract", "source": "initiative", "started": d(3, 2),
     "agreed": d(3, 8), "amount": "12000", "joint": "青龙人民法庭、青龙派出所、法律顾问",
     "confirm": (d(3, 9), "示例县人民法院", d(3, 15), "（2023）示0101民特12号"), "visited": d(3, 30),
     "performed": "full", "closed": d(3, 31)},
    {"on": d(4, 11), "grid": 0, "category": "neighbourhood", "source": "police", "started": d(4, 12),
     "agreed": d(4, 14), "reported": d(4, 15), "visited": d(4, 28), "performed": "full", "closed": d(4, 29),
     "referral": ("police", "青公调〔2023〕15号", {})},
    {"on": d(5, 6), "grid": 1, "category": "contract", "source": "court", "started": d(5, 8), "agreed": d(5, 20),
     "amount": "30000", "reported": d(5, 22), "visited": d(6, 5), "performed": "full", "closed": d(6, 6),
     "referral": ("court", "（2023）示0101民诉前调15号", {"委派方式": "委派调解"})},
    {"on": d(6, 12), "grid": 2, "category": "land_contract", "source": "petition", "started": d(6, 13),
     "agreed": d(6, 20), "reported": d(6, 21), "visited": d(7, 3), "performed": "full", "closed": d(7, 4),
     "referral": ("petition", "县信转〔2023〕7号", {"信访形式": "来信", "信访情形": "重复访"})},
    {"on": d(9, 5), "grid": 0, "category": "land_contract", "source": "petition", "started": d(9, 6),
     "agreed": d(9, 18), "reported": d(9, 19), "visited": d(10, 2), "performed": "full", "closed": d(10, 3),
     "referral": ("petition", "县信转〔2023〕19号", {"信访形式": "来访", "信访情形": "进京访、购票进京、越级访"}),
     "escalate": ("县", d(9, 6))},
    {"on": d(11, 2), "grid": 1, "category": "neighbourhood", "source": "initiative", "started": d(11, 3),
     "failed": True, "closed": d(11, 10)},
]  # fmt: skip


def ledger_row(town: Town, case: dict[str, Any]) -> dict[str, str]:
    """The case as its ledger row (the template's Chinese columns)."""
    row = {
        "案件名称": f"{CATEGORY_NAMES[case['category']]}纠纷（{case['on'].isoformat()}）",
        "登记日期": case["on"].isoformat(),
        "所属辖区代码": town.places.grids[case["grid"]].code,
        "纠纷类型": CATEGORY_NAMES[case["category"]],
        "案件来源": SOURCE_NAMES[case["source"]],
        "纠纷简要情况": "详见原台账",
        "申请人": "张三",
        "被申请人": "李四",
        "调解员": "mediator",
        "开始调解日期": case["started"].isoformat(),
        "调解结果": "调解不成" if case.get("failed") else "达成协议",
        "结案日期": case["closed"].isoformat(),
    }
    if case.get("failed"):
        row["原因说明"] = "双方分歧较大"
    else:
        row |= {"协议日期": case["agreed"].isoformat(), "协议内容": "一方赔偿并致歉",
                "回访日期": case["visited"].isoformat(), "履行情况": {"full": "已履行", "partial": "部分履行"}[
                    case["performed"]]}  # fmt: skip
        if case.get("amount"):
            row["协议金额（元）"] = case["amount"]
    if case.get("escalate"):
        row |= {"提级至": case["escalate"][0], "提级日期": case["escalate"][1].isoformat()}
    if case.get("joint"):
        row["联合调解单位"] = case["joint"]
    if case.get("confirm"):
        applied, court, granted, ruling = case["confirm"]
        row |= {"申请司法确认日期": applied.isoformat(), "受理法院": court, "司法确认日期": granted.isoformat(),
                "裁定书文号": ruling}  # fmt: skip
    if case.get("referral"):
        kind, number, extra = case["referral"]
        row |= {
            "移交单位": REFERRALS[kind][0],
            "来文编号": number,
            "结果反馈日期": case["reported"].isoformat(),
            **extra,
        }
    return row


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


def steps_of(town: Town, case: dict[str, Any]) -> list[tuple[str, dict[str, Any], datetime]]:
    """The same case as the mediator's steps, each at the time of day the import documents."""
    on = case["on"]
    steps = [("assign", {"mediator_id": town["mediator"].id}, at(on, 9, 1)),
             ("accept", {"rights_notified": True}, at(on, 9, 2))]  # fmt: skip
    start: dict[str, Any] = {"all_parties_consent": True}
    if case.get("joint"):
        start |= {
            "joint_court": "qinglong_tribunal",
            "joint_police": "qinglong_police",
            "joint_agencies": ["legal_adviser"],
        }
    steps.append(("start_mediation", start, at(case["started"], 10)))
    if case.get("escalate"):
        level, day = case["escalate"]
        steps += [("escalate", {"reason": "详见原台账"}, at(day, 11, i)) for i in range({"乡镇": 2, "县": 3}[level])]
    if case.get("failed"):
        steps.append(("fail", {"reason": "双方分歧较大", "routes_informed": True}, at(case["closed"], 15)))
        steps.append(("close", {"outcome": "双方分歧较大"}, at(case["closed"], 17)))
        return sorted(steps, key=lambda s: s[2])
    agreement = {
        "form": "oral",
        "facts": "详见原台账",
        "terms": "一方赔偿并致歉",
        "signed_on": case["agreed"].isoformat(),
    }
    if case.get("amount"):
        agreement["amount"] = case["amount"]
    steps.append(("reach_agreement", agreement, at(case["agreed"], 15)))
    if case.get("referral"):
        report = {"result": "agreed", "reported_on": case["reported"].isoformat(), "content": "调解结果详见原台账"}
        if case["referral"][0] == "petition":
            report["completion_report"] = "详见原台账"
        steps.append(("report_back", report, at(case["reported"], 16)))
    if case.get("confirm"):
        applied, court, granted, ruling = case["confirm"]
        steps.append(("apply_confirmation", {"court": court, "applied_on": applied.isoformat()}, at(applied, 16, 10)))
        steps.append(("confirmation_granted", {"ruling_number": ruling, "ruled_on": granted.isoformat()},
                      at(granted, 16, 20)))  # fmt: skip
    else:
        steps.append(("start_follow_up", {}, at(case["visited"], 9)))
    visit = {"visited_on": case["visited"].isoformat(), "performed": case["performed"], "satisfaction": "satisfied"}
    steps.append(("record_visit", visit, at(case["visited"], 9, 1)))
    steps.append(("close_resolved", {}, at(case["closed"], 17)))
    return sorted(steps, key=lambda s: s[2])


def enter_step_by_step(engine: Engine, town: Town, case: dict[str, Any]) -> None:
    intake: dict[str, Any] = {
        "title": f"{CATEGORY_NAMES[case['category']]}纠纷（{case['on'].isoformat()}）",
        "category": case["category"],
        "source": case["source"],
        "summary": "详见原台账",
        "jurisdiction_code": town.places.grids[case["grid"]].code,
        "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}],
    }
    if case.get("referral"):
        kind, number, extra = case["referral"]
        _, workflow, _, attributes = REFERRALS[kind]
        attributes = {**attributes, "reference_number": number}
        if kind == "petition":
            attributes["channel"] = {"来信": "letter", "来访": "visit"}[extra["信访形式"]]
            situations = extra["信访情形"]
            attributes |= {"repeat": True} if "重复访" in situations else {}
            attributes |= {"to_beijing": True, "to_beijing_detail": "ticket"} if "购票进京" in situations else {}
            attributes |= {"level_skipping": True} if "越级访" in situations else {}
        intake |= {"workflow": workflow, "attributes": attributes}
    supervisor = town["supervisor"]
    case_id = register_case(engine, actor=supervisor, intake=intake, effective_at=at(case["on"], 9))
    for version, (trigger, data, moment) in enumerate(steps_of(town, case), start=1):
        acting = None if trigger in ("assign", "escalate") else town["mediator"].id  # 代录 for the mediator
        apply_trigger(engine, case_id=case_id, actor=supervisor, trigger=trigger, expected_version=version,
                      data=data, effective_at=moment, acting_for=acting)  # fmt: skip


def report_of(engine: Engine, town: Town) -> tuple[dict[str, Any], dict[str, Any], str]:
    with engine.connect() as conn:
        figures = compute_figures(conn, year_scope(conn, code=town.places.township.code, year=2023))
    return figures.values, figures.breakdowns, render(figures).text


def test_an_imported_year_reports_as_the_same_year_entered_step_by_step(engine: Engine, twin: Engine) -> None:
    from factories import make_town

    town, twin_town = make_town(engine), make_town(twin)
    rows = [ledger_row(town, case) for case in YEAR]
    result = import_ledger(engine, actor=town["supervisor"], filename="2023年台账.csv", content=csv_bytes(rows))
    assert result.count == len(YEAR)
    for case in YEAR:
        enter_step_by_step(twin, twin_town, case)
    imported, entered = report_of(engine, town), report_of(twin, twin_town)
    values, breakdowns, text = imported
    assert (values["taken_in"], values["resolved"], values["petitions_resolved"]) == (8, 7, 2)
    assert values["confirmations"] == 1 and values["joint_sessions"] == 1 and values["escalations"] == 5
    assert {r["key"]: r["count"] for r in breakdowns["referral_in"]} == {"police": 1, "court": 1, "petition": 2}
    assert {r["key"]: r["count"] for r in breakdowns["resolved_by_level"]}["county"] == 1
    assert {r["key"]: r["count"] for r in breakdowns["petitions_by_channel"]} == {
        "repeat:letter": 1, "level_skipping:visit": 1, "to_beijing.ticket:visit": 1,
    }  # fmt: skip
    with engine.connect() as conn:
        agreements = conn.execute(
            select(EVENTS.c.actor_id, EVENTS.c.recorded_by).where(EVENTS.c.trigger == "reach_agreement")
        ).all()
    assert set(agreements) == {(town["mediator"].id, town["supervisor"].id)}  # the mediator acted, the importer typed
    assert values == entered[0]
    assert breakdowns == entered[1]
    assert text == entered[2]
