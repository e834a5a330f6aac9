"""Named guards and effects that workflow files refer to by name.

A guard returns None when the transition may go ahead, or a Chinese sentence saying why not.
An effect adds column updates for the case row; it never writes by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, overload

from mediation_flow.places.agencies import Agency
from mediation_flow.vocabulary import Level
from mediation_flow.workflow.schema import WorkflowSpec


@dataclass
class RuleContext:
    case: dict[str, Any]
    data: dict[str, Any]
    actor_id: int | None
    actor_role: str
    effective_at: datetime
    effective_date: date
    count_events: Callable[[str], int]
    last_event_data: Callable[[str], dict[str, Any] | None]
    updates: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    workflow: WorkflowSpec | None = None
    actor_agency_id: int | None = None  # the partner agency of the user firing (三调对接)
    agency: Callable[[str], Agency | None] = lambda _code: None  # a partner agency by code
    facts: Any = None  # what a correction reads besides the case (correction_rules.CorrectionFacts), or None


Guard = Callable[[RuleContext], str | None]
Effect = Callable[[RuleContext], None]

GUARDS: dict[str, Guard] = {}
EFFECTS: dict[str, Effect] = {}


#: How each guard is judged before anything is typed (the case page's and the API's offer, ``cases.offers``):
#: a guard listed here is judged by the function given, which reads the case, its past events and who acts but
#: never ``ctx.data`` — a refusal from it is a refusal whatever is typed, so the step is not offered (调解成功结案
#: before any 回访). A guard not listed depends on what is typed and is judged when the step is fired.
PRECHECKS: dict[str, Guard] = {}


@overload
def guard(fn: Guard, *, precheck: Guard | None = None) -> Guard: ...


@overload
def guard(fn: None = None, *, precheck: Guard | None = None) -> Callable[[Guard], Guard]: ...


def guard(fn: Guard | None = None, *, precheck: Guard | None = None) -> Guard | Callable[[Guard], Guard]:
    """Register a guard; ``precheck``: the part of it no typed value can change, judged before typing."""

    def register(rule: Guard) -> Guard:
        GUARDS[rule.__name__] = rule
        if precheck is not None:
            PRECHECKS[rule.__name__] = precheck
        return rule

    return register(fn) if fn is not None else register


def history_guard(fn: Guard) -> Guard:
    """A guard that reads only ``ctx.case`` and ``ctx.count_events`` / ``ctx.last_event_data``, never ``ctx.data``
    or the actor: the case page judges it before anything is typed."""
    return guard(fn, precheck=fn)


def standing_guard(fn: Guard) -> Guard:
    """A guard that reads the case, its history and who acts (role, agency), never ``ctx.data``: judged before
    anything is typed, as a history guard is."""
    return guard(fn, precheck=fn)


def effect(fn: Effect) -> Effect:
    EFFECTS[fn.__name__] = fn
    return fn


@guard
def rights_notified(ctx: RuleContext) -> str | None:
    return None if ctx.data.get("rights_notified") else "受理前须告知当事人权利义务（权利义务告知书）"


@guard
def all_parties_consent(ctx: RuleContext) -> str | None:
    return None if ctx.data.get("all_parties_consent") else "一方当事人明确拒绝调解的，不得调解（人民调解法第十七条）"


@standing_guard
def mediator_assigned(ctx: RuleContext) -> str | None:
    if ctx.case.get("mediator_id") or ctx.actor_role == "mediator":
        return None
    return "请先指派调解员"


@guard
def parties_consent(ctx: RuleContext) -> str | None:
    return None if ctx.data.get("parties_consent") else "延长调解期限须经双方当事人同意"


def _room_to_extend(ctx: RuleContext) -> str | None:
    """Before typing: some running clock may be extended by this role and has days left to give."""
    clocks = ctx.case.get("clocks") or {}
    specs = ctx.workflow.clocks if ctx.workflow is not None else {}
    running = {n: spec for n, spec in specs.items() if spec.extend and n in clocks and not clocks[n].get("stopped")}
    if not running:
        return "当前没有正在计算、可以延长的期限"
    mine = {n: s for n, s in running.items() if s.extend and ctx.actor_role in s.extend.approver_roles}
    if not mine:
        return "延长期限须由有审批权限的人员批准"
    if all(s.extend and int(clocks[n].get("extended", 0)) >= s.extend.max_days for n, s in mine.items()):
        return "期限已延长至上限，不能再延长"
    return None


@guard(precheck=_room_to_extend)
def extension_within_limit(ctx: RuleContext) -> str | None:
    """Each extended clock: the approver's role, the fields its ``extend.requires`` names, and the
    running total against ``extend.max_days``. ``data.clock`` picks one clock; else every extendable one."""
    problem = _room_to_extend(ctx)
    if problem is not None:
        return problem
    clocks = ctx.case.get("clocks") or {}
    requested = int(ctx.data.get("days", 0))
    target = ctx.data.get("clock")
    specs = ctx.workflow.clocks if ctx.workflow is not None else {}
    for name, spec in specs.items():
        if spec.extend is None or (target and name != target):
            continue
        state = clocks.get(name)
        if not state or state.get("stopped"):
            if target:
                return f"“{spec.label}”未在计时，无法延长"
            continue
        if ctx.actor_role not in spec.extend.approver_roles:
            return f"延长“{spec.label}”须由有审批权限的人员批准"
        for required in spec.extend.requires:
            if not ctx.data.get(required):
                label = (
                    next(
                        (
                            f.label
                            for t in ctx.workflow.transitions_for(spec.extend.trigger)
                            for f in t.fields
                            if f.name == required
                        ),
                        required,
                    )
                    if ctx.workflow
                    else required
                )
                return f"延长“{spec.label}”须：{label}"
        used = int(state.get("extended", 0))
        if used + requested > spec.extend.max_days:
            return f"“{spec.label}”累计延长不得超过{spec.extend.max_days}日（已延长{used}日）"
    return None


@guard
def written_agreement_complete(ctx: RuleContext) -> str | None:
    """Kept for the workflow versions that name it; the files now say it as data (``required_when``)."""
    if ctx.data.get("form") != "written":
        return None
    missing = [label for key, label in (("performance", "履行方式、地点、期限"),) if not ctx.data.get(key)]
    return f"书面调解协议须载明：{'、'.join(missing)}" if missing else None


@guard
def within_confirmation_window(ctx: RuleContext) -> str | None:
    agreement = ctx.last_event_data("reach_agreement") or {}
    signed = agreement.get("signed_on")
    applied = ctx.data.get("applied_on")
    if not signed or not applied:
        return None
    days = (date.fromisoformat(applied) - date.fromisoformat(signed)).days
    if days < 0:
        return "申请日期不能早于协议生效日期"
    window = ctx.workflow.clocks.get("confirmation_window") if ctx.workflow is not None else None
    limit = window.duration if window is not None else 30  # the clock's length, as the deadline counts it
    if days > limit:
        return f"已超过协议生效之日起{limit}日的申请期限（已过{days}日）"
    return None


@history_guard
def has_follow_up_visit(ctx: RuleContext) -> str | None:
    return None if ctx.count_events("record_visit") > 0 else "结案前须至少记录一次回访"


@guard
def routes_informed(ctx: RuleContext) -> str | None:
    return None if ctx.data.get("routes_informed") else "须告知当事人可依法通过仲裁、行政、司法等途径维护权利"


@standing_guard
def below_county_level(ctx: RuleContext) -> str | None:
    return None if Level(ctx.case["level"]).up() is not None else "案件已在县级处理，无法再提级"


@standing_guard
def supervisor_approves_beyond_village(ctx: RuleContext) -> str | None:
    """大事不出村: a grid worker or mediator may lift a case to its village; taking it to the township or
    the county is the supervisor's decision (their escalation is the approval, recorded in the event)."""
    upper = Level(ctx.case["level"]).up()
    if upper in (Level.TOWNSHIP, Level.COUNTY) and ctx.actor_role != "supervisor":
        return f"提级至{upper.label}级须经司法所（督办人员）批准，请报督办人员处理"
    return None


@effect
def assign_mediator(ctx: RuleContext) -> None:
    ctx.updates["mediator_id"] = int(ctx.data["mediator_id"])


@effect
def raise_level(ctx: RuleContext) -> None:
    upper = Level(ctx.case["level"]).up()
    if upper is not None:
        ctx.updates["level"] = upper.value
        ctx.data["from_level"] = ctx.case["level"]
        ctx.data["to_level"] = upper.value


@effect
def set_venue(ctx: RuleContext) -> None:
    if ctx.data.get("venue"):
        ctx.updates["venue"] = ctx.data["venue"]


@history_guard
def result_reported(ctx: RuleContext) -> str | None:
    """三调对接: a referred-in case is closed only after its result went back to the referring body."""
    return None if ctx.count_events("report_back") > 0 else "结案前须将调解结果反馈移交单位（report_back）"


@history_guard
def feedback_recorded(ctx: RuleContext) -> str | None:
    """An outbound referral is closed only once the receiving body answered: its feedback recorded by the
    township, or given by the agency itself (反馈), or the referral returned (退回)."""
    if ctx.count_events("record_feedback") > 0 or ctx.case.get("handoff") in ("answered", "returned"):
        return None
    return "结案前须登记接收单位的办理反馈"


RISK_ORDER = ("blue", "yellow", "orange", "red")  # lowest to highest


def _grade_may_change(ctx: RuleContext) -> str | None:
    """Before typing: a case already at the highest grade can only be lowered, which is the supervisor's."""
    if ctx.case.get("risk_grade") == RISK_ORDER[-1] and ctx.actor_role != "supervisor":
        return "降低风险等级须由司法所人员办理"
    return None


@guard(precheck=_grade_may_change)
def risk_grade_changes(ctx: RuleContext) -> str | None:
    """The grade must change; lowering it is the supervisor's (司法所) decision — a mediator may raise a
    grade on their own, never talk a red case down to blue (every version of every workflow: a guard is code)."""
    new, old = ctx.data.get("grade"), ctx.case.get("risk_grade")
    if new == old:
        return "风险等级未改变"
    if new in RISK_ORDER and old in RISK_ORDER and RISK_ORDER.index(new) < RISK_ORDER.index(old):
        return None if ctx.actor_role == "supervisor" else "降低风险等级须由司法所人员办理"
    return None


@effect
def set_risk_grade(ctx: RuleContext) -> None:
    """A user's override of the suggested colour; the event keeps the old and new grade."""
    ctx.data["from_grade"] = ctx.case.get("risk_grade")
    ctx.updates["risk_grade"] = ctx.data["grade"]


@guard
def file_returned_on_failure(ctx: RuleContext) -> str | None:
    """诉调: when mediation failed, the file goes back to the court with the result."""
    if ctx.case.get("state") == "failed" and not ctx.data.get("file_returned"):
        return "调解不成的，须将案卷材料退回人民法院（请确认“案卷已退回法院”）"
    return None


@effect
def take_case_if_unassigned(ctx: RuleContext) -> None:
    """A mediator who accepts a case nobody was assigned to becomes its mediator (调解员由受理人承办)."""
    if ctx.actor_role == "mediator" and ctx.actor_id is not None and not ctx.case.get("mediator_id"):
        ctx.updates["mediator_id"] = ctx.actor_id


# The handoff rules (三调对接) register themselves in GUARDS and EFFECTS when imported.
from mediation_flow.workflow import correction_rules as _correction_rules  # noqa: E402,F401
from mediation_flow.workflow import handoff_rules as _handoff_rules  # noqa: E402,F401
