"""One step, two ways of writing: random plans over all four workflows are driven through
``register_case`` + ``apply_trigger`` into one database and through the bulk path (``ledger.bulk``
register/advance, then ``ledger.write``) into another; every refusal must be the same refusal, and every
written row (cases, parties, events, counters) the same row, on SQLite and PostgreSQL.

The plans mix triggers the case's state allows with any trigger of the workflow (refused), several
actors (a mediator may not back-date, a grid worker may do little), back-dated and out-of-order moments,
extensions past their limit, escalation up the levels, suspend/resume and risk changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import assert_same_rows, dump, intake, make_town
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import parse_intake, register_case
from mediation_flow.errors import DomainError
from mediation_flow.ledger import bulk, write
from mediation_flow.store.db import write_transaction
from mediation_flow.workflow.registry import REGISTRY

NOW = datetime(2025, 6, 16, 8, 30, 15, 250_000, tzinfo=UTC)
WORKFLOWS = ["people_mediation", "police_referral", "petition_referral", "court_referral"]
ATTRIBUTES = {
    "people_mediation": {},
    "police_referral": {"agency": "qinglong_police", "reference_number": "青公调〔2025〕7号"},
    "petition_referral": {
        "agency": "county_petition",
        "referring_body": "青龙镇信访办",
        "reference_number": "青信转〔2025〕3号",
        "channel": "visit",
        "to_beijing": True,
        "to_beijing_detail": "ticket",
    },
    "court_referral": {
        "agency": "qinglong_tribunal",
        "reference_number": "（2025）示0101民诉前调9号",
        "court_mode": "entrusted",
    },
}
# Triggers that take a case along its path (a plan picks among them most often, to get deep).
ONWARD = {
    "assign", "accept", "start_mediation", "record_session", "suspend", "resume", "extend", "reach_agreement",
    "apply_confirmation", "confirmation_granted", "start_follow_up", "record_visit", "report_back",
    "close_resolved", "fail", "close", "court_document_issued", "record_feedback",
    "acknowledge", "agency_feedback", "return_referral", "take_back", "petition_reply", "request_review",
    "review_decided", "request_re_review", "re_review_decided",
}  # fmt: skip
SPECIAL = {"extend", "escalate", "suspend", "resume", "set_risk"}  # the issue names these: drawn more often
ACTORS = ["supervisor"] * 7 + ["mediator", "mediator", "grid_worker"]
# 三调对接: the partner agencies' users (another police post's included, refused as not found)
AGENCY_ACTORS = ["liaison", "court_liaison", "petition_liaison", "other_liaison"]


def step_data(trigger: str, day: str, draw: Any, town: Any) -> dict[str, Any]:
    """Valid data for ``trigger`` on ``day``, with the variations that make guards and fields refuse."""
    flag = draw(st.sampled_from([True] * 7 + [False]))
    text = {"reason": "当事人申请", "content": "组织双方面对面调解。"}
    found: dict[str, dict[str, Any]] = {
        "accept": {"rights_notified": flag},
        "reject": {"reason": text["reason"]},
        "assign": {
            "mediator_id": town[draw(st.sampled_from(["mediator", "village_mediator", "other_village_mediator"]))].id
        },
        "start_mediation": {
            "all_parties_consent": flag,
            "venue": "qingfeng_teahouse",
            **({"joint_court": "qinglong_tribunal", "joint_judge": "王法官"} if flag else {"joint_officer": "赵勇"}),
        },
        "record_session": {"session_date": day, "content": text["content"]},
        "suspend": {"reason": "等待伤情鉴定结论", "expected_resume": day},
        "resume": {},
        "extend": {
            "days": draw(st.integers(1, 30)),
            "parties_consent": flag,
            "reason": "案情复杂",
        },
        "reach_agreement": {
            "form": draw(st.sampled_from(["written", "oral"])),
            "facts": "双方因通行发生争执",
            "terms": "甲方让出通道一米",
            **({"performance": "十日内在村委会履行"} if flag else {}),
            "amount": draw(st.sampled_from(["1200.50", "0", "30000"])),
            "signed_on": day,
        },
        "apply_confirmation": {"court": "示例县人民法院", "applied_on": day},
        "confirmation_granted": {"ruling_number": "（2025）示0101民特12号", "ruled_on": day},
        "confirmation_rejected": {"reason": "协议内容违反法律规定"},
        "start_follow_up": {},
        "record_visit": {"visited_on": day, "performed": "full", "satisfaction": "satisfied"},
        "close_resolved": {},
        "fail": {"reason": "双方分歧较大", "routes_informed": flag},
        "refer": draw(
            st.sampled_from(
                [
                    {"target": "court", "agency": "qinglong_tribunal", "reason": "当事人要求诉讼"},
                    {"target": "police", "agency": "qinglong_police", "reason": "涉及治安管理"},
                    {"target": "petition", "agency": "county_petition", "reason": "信访事项"},
                    {"target": "police", "agency": "longjing_post", "reason": "涉及治安管理"},
                    {"target": "arbitration", "receiving_body": "县仲裁委", "reason": "劳动争议"},
                    {"target": "court", "receiving_body": "示例县人民法院", "reason": "当事人要求诉讼"},
                ]
            )
        ),
        "acknowledge": {"handler": "赵勇"},
        "return_referral": {"reason": "不属于本单位职责"},
        "agency_feedback": {
            "result": "mediated",
            "document_number": "青公(治)调字8号",
            "decided_on": day,
            "content": "已调解",
        },
        "take_back": {"reason": "收回继续调解"},
        "petition_reply": {"replied_on": day, "content": "维持处理意见"},
        "request_review": {"requested_on": day, "review_body": "示例市信访局", "reason": "不服"},
        "review_decided": {"decided_on": day, "result": "upheld", "content": "维持"},
        "request_re_review": {"requested_on": day, "review_body": "省信访局", "reason": "不服"},
        "re_review_decided": {"decided_on": day, "result": "upheld", "content": "维持"},
        "record_feedback": {"received_on": day, "outcome": "resolved", "detail": "已办结"},
        "close": {"outcome": "已告知当事人诉讼途径"},
        "withdraw": {"reason": "双方已自行和解"},
        "escalate": {"reason": "矛盾有激化风险"},
        "mark_conversion": {"type": "criminal", "occurred_on": day, "detail": "发生打斗"},
        "report_risk": {"reported_on": day, "police_station": "青龙派出所", "risk": "可能发生肢体冲突"},
        "set_risk": {"grade": draw(st.sampled_from(["blue", "yellow", "orange", "red"])), "reason": "情况变化"},
        "add_note": {"text": "电话回访当事人"},
        "court_document_issued": {"document_number": "（2025）示0101民特3号", "issued_on": day},
        "report_back": {
            "result": draw(st.sampled_from(["performed", "failed", "not_accepted"])),
            "reported_on": day,
            "content": "特此反馈。",
            "completion_report": "信访事项办结。",
            "file_returned": flag,
        },
    }
    return found.get(trigger, {})


def fit(data: dict[str, Any], workflow: Any, trigger: str, stray: bool) -> dict[str, Any]:
    """``data`` cut to the fields the workflow's ``trigger`` asks (each referral asks its own report),
    or with a field it does not know when ``stray`` (refused as invalid data)."""
    known = {f.name for t in workflow.spec.transitions if t.trigger == trigger for f in t.fields}
    fitted = {k: v for k, v in data.items() if k in known}
    return {**fitted, "unknown_field": 1} if stray else fitted


def outcome(call: Any, *args: Any, **kwargs: Any) -> str:
    """ "ok", or the name of the domain error that refused ``call``."""
    try:
        call(*args, **kwargs)
    except DomainError as exc:
        return type(exc).__name__
    return "ok"


@pytest.fixture
def towns(engine, twin):
    ref_town, bulk_town = make_town(engine), make_town(twin)
    assert ref_town.actors == bulk_town.actors  # the same ids on both sides
    return ref_town


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.data())
def test_random_plans_write_the_same_rows_through_the_engine_and_the_bulk_path(engine, twin, towns, plan):
    town = towns
    supervisor = town["supervisor"]
    workflow_name = plan.draw(st.sampled_from(WORKFLOWS), label="workflow")
    place = plan.draw(st.sampled_from(["grid", "village", "township"]), label="place")
    code = {
        "grid": town.places.grids[0].code,
        "village": town.places.villages[0].code,
        "township": town.places.township.code,
    }[place]
    registered = NOW - timedelta(days=plan.draw(st.integers(20, 400), label="days ago"), minutes=7)
    form = intake(jurisdiction_code=code, workflow=workflow_name, attributes=ATTRIBUTES[workflow_name])
    case_id = register_case(engine, actor=supervisor, intake=form, effective_at=registered, now=NOW)
    with write_transaction(twin) as conn:
        snap = bulk.load_snapshot(conn, supervisor, REGISTRY, NOW, workflow_name)
    workflow = snap.lookups.rules.workflow
    triggers = sorted(workflow.triggers())
    draft = bulk.register(snap, parse_intake(form), registered)
    version, last = 1, registered
    try:
        for _ in range(plan.draw(st.integers(6, 24), label="steps")):
            state = draft.case["state"]
            allowed = sorted({t.trigger for t in workflow.transitions_from(state)})
            onward = [t for t in allowed if t in ONWARD] + [t for t in allowed if t in SPECIAL] * 2 or allowed
            pool = [[*triggers, "no_such_trigger"], allowed, onward][plan.draw(st.sampled_from([2] * 8 + [1, 0]))]
            trigger = plan.draw(st.sampled_from(pool), label="trigger")
            agency_step = any(r.endswith("liaison") for t in workflow.spec.transitions_for(trigger) for r in t.roles)
            who = ACTORS + AGENCY_ACTORS * (4 if agency_step else 0)
            actor = town[plan.draw(st.sampled_from(who), label="actor")]
            # an agency's user may not back-date: its steps are mostly "now" (the township's then follow it late)
            nows = 28 if actor.is_agency_user else 1
            when = plan.draw(st.sampled_from(["later"] * 28 + ["earlier", "future"] + ["now"] * nows), label="when")
            moment: datetime | None = {
                "later": last + timedelta(hours=plan.draw(st.integers(1, 120))),
                "earlier": last - timedelta(hours=plan.draw(st.integers(1, 48))),
                "now": None,
                "future": NOW + timedelta(minutes=plan.draw(st.integers(1, 10))),
            }[when]
            if moment is not None and when == "later":
                moment = min(moment, NOW - timedelta(minutes=3))
            day = (moment or NOW).date().isoformat()
            stray = plan.draw(st.integers(0, 19), label="stray field") == 0
            data = fit(step_data(trigger, day, plan.draw, town), workflow, trigger, stray)
            note = plan.draw(st.sampled_from(["", "  补充说明  "]), label="note")
            engine_said = outcome(
                apply_trigger, engine, case_id=case_id, actor=actor, trigger=trigger, expected_version=version,
                note=note, data=dict(data), effective_at=moment, now=NOW,
            )  # fmt: skip
            bulk_said = outcome(bulk.advance, snap, draft, trigger, dict(data), moment, note, actor=actor)
            event(f"{trigger}: {engine_said}")
            assert bulk_said == engine_said, (trigger, state, bulk_said, engine_said)
            if engine_said == "ok":
                version += 1
                last = moment or NOW
    finally:  # written even when the plans differ, so that the two databases keep the same ids
        with write_transaction(twin) as conn:
            assert write.number_and_write(conn, [draft]) == [case_id]
    event(f"{workflow_name} ends {draft.case['state']}")
    assert_same_rows(dump(twin), dump(engine))


# 三调对接 by script: each handoff path, with the agencies' own users, through both ways of writing (the random
# plans above rarely reach a referral's 签收 or a petition's 复查).
POLICE_IN = {"agency": "qinglong_police", "reference_number": "青公调〔2025〕7号"}
PETITION_IN = {"agency": "county_petition", "reference_number": "县信转〔2025〕3号", "channel": "visit"}
DAY = NOW.date().isoformat()
REPORT = {"result": "failed", "reported_on": DAY, "content": "特此反馈。"}
JOINT = {"all_parties_consent": True, "joint_police": "qinglong_police", "joint_officer": "赵勇"}
HANDOFF_SCRIPTS: dict[str, tuple[str, str, dict[str, Any], list[tuple[str, str, dict[str, Any]]]]] = {
    "out_answered": ("people_mediation", "mediator", {}, [
        ("mediator", "accept", {"rights_notified": True}),
        ("mediator", "refer", {"target": "police", "agency": "qinglong_police", "reason": "移送"}),
        ("liaison", "agency_feedback", {"result": "filed", "decided_on": DAY, "content": "立案"}),  # before 签收
        ("court_liaison", "acknowledge", {"handler": "周丽"}),  # not its case
        ("liaison", "acknowledge", {"handler": "赵勇"}),
        ("liaison", "agency_feedback", {"result": "filed", "decided_on": DAY, "content": "立案"}),
        ("mediator", "close", {"outcome": "派出所已立案"}),
    ]),
    "out_returned": ("people_mediation", "supervisor", {}, [
        ("supervisor", "refer", {"target": "court", "agency": "qinglong_tribunal", "reason": "移送"}),
        ("court_liaison", "return_referral", {"reason": "不属于本庭"}),
        ("supervisor", "take_back", {"reason": "收回"}),
        ("supervisor", "refer", {"target": "petition", "agency": "county_petition", "reason": "移送"}),
        ("petition_liaison", "acknowledge", {"handler": "孙伟"}),
    ]),
    "in_police": ("police_referral", "liaison", POLICE_IN, [
        ("mediator", "accept", {"rights_notified": True}),
        ("mediator", "start_mediation", JOINT),
        ("mediator", "fail", {"reason": "分歧大", "routes_informed": True}),
        ("mediator", "report_back", REPORT),
    ]),
    "in_petition": ("petition_referral", "petition_liaison", PETITION_IN, [
        ("mediator", "reject", {"reason": "不属于人民调解范围"}),
        ("mediator", "report_back", {**REPORT, "result": "not_accepted", "completion_report": "退回"}),
        ("petition_liaison", "request_review", {"requested_on": DAY, "review_body": "市信访局", "reason": "不服"}),
        ("petition_liaison", "petition_reply", {"replied_on": DAY, "content": "维持"}),
        ("petition_liaison", "request_review", {"requested_on": DAY, "review_body": "市信访局", "reason": "不服"}),
        ("petition_liaison", "review_decided", {"decided_on": DAY, "result": "upheld", "content": "维持"}),
        ("petition_liaison", "request_re_review", {"requested_on": DAY, "review_body": "省信访局", "reason": "不服"}),
        ("petition_liaison", "re_review_decided", {"decided_on": DAY, "result": "upheld", "content": "维持"}),
    ]),
}  # fmt: skip


@pytest.mark.parametrize("script", sorted(HANDOFF_SCRIPTS))
def test_handoff_paths_write_the_same_rows_through_the_engine_and_the_bulk_path(engine, twin, towns, script):
    town = towns
    workflow_name, registrar, attributes, steps = HANDOFF_SCRIPTS[script]
    form = intake(jurisdiction_code=town.places.villages[0].code, workflow=workflow_name, attributes=attributes)
    case_id = register_case(engine, actor=town[registrar], intake=form, effective_at=NOW, now=NOW)
    with write_transaction(twin) as conn:
        snap = bulk.load_snapshot(conn, town["supervisor"], REGISTRY, NOW, workflow_name)
    draft = bulk.register(snap, parse_intake(form), NOW, actor=town[registrar])
    said = []
    try:
        version = 1
        for who, trigger, data in steps:
            engine_said = outcome(
                apply_trigger, engine, case_id=case_id, actor=town[who], trigger=trigger, expected_version=version,
                data=dict(data), now=NOW,
            )  # fmt: skip
            bulk_said = outcome(bulk.advance, snap, draft, trigger, dict(data), None, "", actor=town[who])
            assert bulk_said == engine_said, (trigger, who, bulk_said, engine_said)
            version += engine_said == "ok"
            said.append(engine_said)
    finally:
        with write_transaction(twin) as conn:
            assert write.number_and_write(conn, [draft]) == [case_id]
    assert_same_rows(dump(twin), dump(engine))
    refusals = {"out_answered": ["GuardFailed", "CaseNotFound"], "in_petition": ["GuardFailed"]}.get(script, [])
    assert [s for s in said if s != "ok"] == refusals
    assert draft.case["handoff"] == {"out_answered": "answered", "out_returned": "acknowledged"}.get(
        script, "answered" if script == "in_police" else "returned"
    )
