"""Guards and effects of 三调对接, the handoff between the township and a partner agency (派出所, 人民法庭,
信访部门), in either direction. Workflow files name them as any other rule (``workflow.rules``).

The handoff of a case is two columns, set here only: ``agency_id`` (the agency of the current handoff) and
``handoff`` — ``sent`` (已移送未签收) → ``acknowledged`` (已签收) → ``answered`` (已反馈), or ``returned``
(已退回). Out: the township refers (``refer`` with an agency), the agency signs for it, answers or returns it.
In: the agency registers a case (``intake_effects: [receive_referral]``), the township accepts (signs for it),
rejects (returns it) or reports back (answers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mediation_flow.places.agencies import Agency
from mediation_flow.vocabulary import AGENCY_ROLES, AgencyKind, Handoff, Role
from mediation_flow.workflow.rules import RuleContext, effect, guard, history_guard, standing_guard

#: Referral targets (reference data ``referral_target``) that are partner agencies with users of their own.
AGENCY_TARGETS = {kind.value: kind for kind in AgencyKind}
_AGENCY_ROLE_NAMES = {role.value for role in AGENCY_ROLES}
_WHERE_IT_STANDS = {
    None: "该案件未移送对接单位",
    Handoff.SENT: "该案件尚未签收",
    Handoff.ACKNOWLEDGED: "该案件已签收",
    Handoff.ANSWERED: "该案件已反馈",
    Handoff.RETURNED: "该案件已退回",
}


def _stands(ctx: RuleContext) -> str:
    return _WHERE_IT_STANDS.get(ctx.case.get("handoff"), "该案件的移送状态不符")


def _agency_problem(
    agency: Agency | None, kind: AgencyKind, path: str, *, actor_agency_id: int | None, by_agency_user: bool
) -> str | None:
    """Why ``agency`` cannot take (or send) a case at ``path`` for a handoff of ``kind``; None if it can."""
    if agency is None or not agency.active:
        return "对接单位不存在或已停用"
    if agency.kind != kind:
        return f"{agency.name}不是{kind.label}"
    if not agency.serves(path):
        return f"{agency.name}不负责本案所在辖区，不能对接"
    if by_agency_user and agency.id != actor_agency_id:
        return "只能登记本单位移交的案件"
    return None


# --- out: the township refers a case to an agency -------------------------------------------------------


@guard
def referral_agency_fits(ctx: RuleContext) -> str | None:
    """转往派出所、人民法院、信访部门 names the agency, which must be of that kind and serve the case's area;
    the other targets (仲裁, 法律援助, 其他部门) name the receiving body in words instead."""
    target, code = ctx.data.get("target"), ctx.data.get("agency")
    kind = AGENCY_TARGETS.get(str(target))
    if kind is None:
        if code:
            return "只有转往派出所、人民法院、信访部门时选择对接单位"
        return None if ctx.data.get("receiving_body") else "请填写“接收单位”"
    if not code:
        return f"转往{kind.label}的，请选择接收的对接单位"
    return _agency_problem(
        ctx.agency(str(code)), kind, ctx.case["jurisdiction_path"], actor_agency_id=None, by_agency_user=False
    )


@effect
def hand_over(ctx: RuleContext) -> None:
    """The referral's agency becomes the case's (已移送未签收); a referral elsewhere ends any handoff."""
    agency = ctx.agency(str(ctx.data["agency"])) if ctx.data.get("agency") else None
    ctx.updates["agency_id"] = agency.id if agency else None
    ctx.updates["handoff"] = Handoff.SENT.value if agency else None
    if agency and not ctx.data.get("receiving_body"):
        ctx.data["receiving_body"] = agency.name


@standing_guard
def acting_for_case_agency(ctx: RuleContext) -> str | None:
    """A partner agency's user acts only on a case handed to or by its own agency (the policy hides the
    others; this says so if one gets this far). Township roles pass: their role list is the workflow's."""
    if ctx.actor_role not in _AGENCY_ROLE_NAMES:
        return None
    if ctx.actor_agency_id is not None and ctx.actor_agency_id == ctx.case.get("agency_id"):
        return None
    return "该案件不是移送本单位的案件，不能办理"


@history_guard
def awaiting_receipt(ctx: RuleContext) -> str | None:
    """签收 or 退回: only a handoff sent and not yet signed for."""
    return None if ctx.case.get("handoff") == Handoff.SENT else _stands(ctx)


@history_guard
def signed_for(ctx: RuleContext) -> str | None:
    """反馈: only after 签收, and once."""
    if ctx.case.get("handoff") == Handoff.ACKNOWLEDGED:
        return None
    if ctx.case.get("handoff") == Handoff.SENT:
        return "请先签收，签收后才能反馈办理结果"
    return _stands(ctx)


@history_guard
def referral_returned(ctx: RuleContext) -> str | None:
    """The township takes a case back only when the agency returned it."""
    return None if ctx.case.get("handoff") == Handoff.RETURNED else "只有对接单位退回的案件才能收回办理"


def _mark(state: Handoff, *, keep: tuple[Handoff, ...] = ()) -> Callable[[RuleContext], None]:
    def apply(ctx: RuleContext) -> None:
        if ctx.case.get("agency_id") is not None and ctx.case.get("handoff") not in keep:
            ctx.updates["handoff"] = state.value

    return apply


@effect
def mark_acknowledged(ctx: RuleContext) -> None:
    """已签收 (an agency signs for a referral out; the township accepts a referral in)."""
    _mark(Handoff.ACKNOWLEDGED)(ctx)


@effect
def mark_returned(ctx: RuleContext) -> None:
    """已退回 (an agency returns a referral out; the township rejects a referral in)."""
    _mark(Handoff.RETURNED)(ctx)


@effect
def mark_answered(ctx: RuleContext) -> None:
    """已反馈; a referral in that the township rejected stays 已退回 when its result is sent back."""
    _mark(Handoff.ANSWERED, keep=(Handoff.RETURNED,))(ctx)


@effect
def end_handoff(ctx: RuleContext) -> None:
    """The township takes a returned case back: the handoff is over (the events keep it)."""
    ctx.updates["agency_id"] = None
    ctx.updates["handoff"] = None


# --- in: a partner agency refers a case to the township ------------------------------------------------


@effect
def receive_referral(ctx: RuleContext) -> None:
    """Registration of a referral in (``intake_effects``): the referring agency's, 已移送未签收; its name is
    the referring body unless one was typed."""
    agency = ctx.agency(str(ctx.data.get("agency"))) if ctx.data.get("agency") else None
    if agency is None:
        return
    ctx.updates["agency_id"] = agency.id
    ctx.updates["handoff"] = Handoff.SENT.value
    if not ctx.data.get("referring_body"):
        ctx.data["referring_body"] = agency.name


def intake_problems(
    kind: AgencyKind,
    attributes: Mapping[str, Any],
    path: str,
    agency: Callable[[str], Agency | None],
    *,
    actor_role: Role,
    actor_agency_id: int | None,
) -> list[dict[str, str]]:
    """Field errors of a referral in: the agency (of the workflow's kind, serving the case's place, the
    user's own if an agency user registers) and the reference number in that agency's format."""
    code = attributes.get("agency")
    if not code:
        return [{"field": "agency", "message": f"请选择移交的{kind.label}"}]
    found = agency(str(code))
    by_agency_user = actor_role in AGENCY_ROLES
    problem = _agency_problem(found, kind, path, actor_agency_id=actor_agency_id, by_agency_user=by_agency_user)
    if problem:
        return [{"field": "agency", "message": problem}]
    assert found is not None
    number = attributes.get("reference_number")
    reference = found.reference_problem(str(number)) if number else None
    return [{"field": "reference_number", "message": reference}] if reference else []


# --- 一庭两所 and the petition's 复查 / 复核 --------------------------------------------------------------------


@guard
def joint_mediators_named(ctx: RuleContext) -> str | None:
    """一庭两所: a judge or an officer is named with their court or station, which serves the case's area."""
    path = ctx.case["jurisdiction_path"]
    for agency_field, person_field, who in (
        ("joint_court", "joint_judge", "法官"),
        ("joint_police", "joint_officer", "民警"),
    ):
        code, person = ctx.data.get(agency_field), ctx.data.get(person_field)
        if person and not code:
            return f"请选择参加联合调解的{who}所在单位"
        if code:
            found = ctx.agency(str(code))
            if found is None or not found.serves(path):
                return f"{found.name if found else '所选单位'}不负责本案所在辖区"
    return None


@history_guard
def petition_reported(ctx: RuleContext) -> str | None:
    return None if ctx.count_events("report_back") > 0 else "调解结果反馈信访部门后，才能登记答复意见"


@history_guard
def review_may_be_requested(ctx: RuleContext) -> str | None:
    """复查 follows the written reply (答复意见), once."""
    if ctx.count_events("petition_reply") == 0:
        return "信访事项答复意见登记后，才能登记复查申请"
    return "复查申请已登记" if ctx.count_events("request_review") > 0 else None


@history_guard
def review_pending(ctx: RuleContext) -> str | None:
    return None if ctx.count_events("request_review") > ctx.count_events("review_decided") else "没有待办的复查申请"


@history_guard
def review_concluded(ctx: RuleContext) -> str | None:
    if ctx.count_events("review_decided") == 0:
        return "复查意见作出后，才能登记复核申请"
    if ctx.count_events("request_re_review") > 0:
        return "复核申请已登记（复核意见为最终意见）"
    return None


@history_guard
def re_review_pending(ctx: RuleContext) -> str | None:
    pending = ctx.count_events("request_re_review") > ctx.count_events("re_review_decided")
    return None if pending else "没有待办的复核申请"
