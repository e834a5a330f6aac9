"""Named guards and effects that workflow files refer to by name.

A guard returns None when the transition may go ahead, or a Chinese sentence saying why not.
An effect adds column updates for the case row; it never writes by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from mediation_flow.vocabulary import Level


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


Guard = Callable[[RuleContext], str | None]
Effect = Callable[[RuleContext], None]

GUARDS: dict[str, Guard] = {}
EFFECTS: dict[str, Effect] = {}


def guard(fn: Guard) -> Guard:
    GUARDS[fn.__name__] = fn
    return fn


def effect(fn: Effect) -> Effect:
    EFFECTS[fn.__name__] = fn
    return fn


@guard
def rights_notified(ctx: RuleContext) -> str | None:
    return None if ctx.data.get("rights_notified") else "受理前须告知当事人权利义务（权利义务告知书）"


@guard
def all_parties_consent(ctx: RuleContext) -> str | None:
    return None if ctx.data.get("all_parties_consent") else "一方当事人明确拒绝调解的，不得调解（人民调解法第十七条）"


@guard
def mediator_assigned(ctx: RuleContext) -> str | None:
    if ctx.case.get("mediator_id") or ctx.actor_role == "mediator":
        return None
    return "请先指派调解员"


@guard
def parties_consent(ctx: RuleContext) -> str | None:
    return None if ctx.data.get("parties_consent") else "延长调解期限须经双方当事人同意"


@guard
def extension_within_limit(ctx: RuleContext) -> str | None:
    clocks = ctx.case.get("clocks") or {}
    used = sum(int(c.get("extended_days", 0)) for c in clocks.values() if isinstance(c, dict))
    requested = int(ctx.data.get("days", 0))
    limit = 30
    if used + requested > limit:
        return f"累计延长不得超过{limit}日（已延长{used}日）"
    return None


@guard
def written_agreement_complete(ctx: RuleContext) -> str | None:
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
    if days > 30:
        return f"已超过协议生效之日起三十日的申请期限（已过{days}日）"
    return None


@guard
def has_follow_up_visit(ctx: RuleContext) -> str | None:
    return None if ctx.count_events("record_visit") > 0 else "结案前须至少记录一次回访"


@guard
def routes_informed(ctx: RuleContext) -> str | None:
    return None if ctx.data.get("routes_informed") else "须告知当事人可依法通过仲裁、行政、司法等途径维护权利"


@guard
def below_county_level(ctx: RuleContext) -> str | None:
    return None if Level(ctx.case["level"]).up() is not None else "案件已在县级处理，无法再提级"


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
