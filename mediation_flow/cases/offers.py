"""What a case offers a user now, in the order the case page shows it (and the API lists it).

A step is offered when the user's role may take it from the case's state (or record it for one who may:
代录) and no guard refuses it *whatever is typed* — the guards with a precheck (``rules.PRECHECKS``), judged
from the case, its events and who acts. Guards that read the form are judged when the step is fired, so a
step that depends on what is typed is still offered.

The order is the workflow's data: the state's ``next`` list (the steps usually taken from it, most usual
first), then the other steps in file order, then those marked ``rare``. A step that keeps the state and was
already taken since the case came into it (记录调解, 记录回访) moves behind the usual steps not yet taken. The
first usual step offered is the page's main button (``PRIMARY``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mediation_flow.accounts.policy import Actor, Permission, allows, roles_with
from mediation_flow.cases.step import TriggerOption, agency_kind_of
from mediation_flow.store import clock
from mediation_flow.workflow.fields import fields_for
from mediation_flow.workflow.registry import CompiledWorkflow
from mediation_flow.workflow.rules import PRECHECKS, RuleContext
from mediation_flow.workflow.schema import TransitionSpec

PRIMARY, USUAL, OTHER, RARE = "primary", "usual", "other", "rare"


@dataclass(frozen=True)
class Offers:
    """The steps offered, in order (each with its ``group``), and why each step the user's role could take
    from this state is refused now (trigger → the guard's sentence)."""

    options: list[TriggerOption]
    refused: dict[str, str] = field(default_factory=dict)


def taken_in_this_state(events: Sequence[Mapping[str, Any]]) -> set[str]:
    """The steps taken since the case last changed state (the internal steps after its last move)."""
    taken: set[str] = set()
    for event in reversed(events):
        if event["from_state"] != event["to_state"]:
            break
        taken.add(event["trigger"])
    return taken


def _context(
    workflow: CompiledWorkflow, case: Mapping[str, Any], actor: Actor, events: Sequence[Mapping[str, Any]]
) -> RuleContext:
    counts: dict[str, int] = {}
    last: dict[str, dict[str, Any]] = {}
    for event in events:
        counts[event["trigger"]] = counts.get(event["trigger"], 0) + 1
        last[event["trigger"]] = dict(event.get("data") or {})
    now = clock.utcnow()
    return RuleContext(
        case=dict(case), data={}, actor_id=actor.id, actor_role=actor.role.value, effective_at=now,
        effective_date=clock.local_date(now), count_events=lambda t: counts.get(t, 0),
        last_event_data=lambda t: last.get(t), workflow=workflow.spec, actor_agency_id=actor.agency_id,
    )  # fmt: skip


def refusal(t: TransitionSpec, ctx: RuleContext, roles: set[str]) -> str | None:
    """Why ``t`` cannot be taken now whatever is typed, or None. Judged for each role that could act (a clerk
    records for a mediator or a supervisor: it is refused only if refused for every one of them)."""
    reasons: list[str] = []
    for role in sorted(roles & {r.value for r in t.roles}):
        ctx.actor_role = role
        found = next((r for g in t.guards if g in PRECHECKS and (r := PRECHECKS[g](ctx)) is not None), None)
        if found is None:
            return None
        reasons.append(found)
    return reasons[0] if reasons else None


def acting_roles(actor: Actor) -> set[str]:
    """The roles whose steps ``actor`` may take: their own, and a clerk's (代录) those of the case handlers."""
    handlers = {role.value for role in roles_with(Permission.HANDLE_CASES)}
    records_only = actor.role.value not in handlers and allows(actor, Permission.RECORD_FOR_OTHERS)
    return {actor.role.value} | (handlers if records_only else set())


def may_take(actor: Actor, workflow: CompiledWorkflow, trigger: str) -> bool:
    """Whether ``trigger`` is one of ``actor``'s steps in ``workflow`` at all (from some state)."""
    roles = acting_roles(actor)
    return any(roles & {r.value for r in t.roles} for t in workflow.spec.transitions_for(trigger))


def step_from(workflow: CompiledWorkflow, state: str, actor: Actor, trigger: str) -> TransitionSpec | None:
    """``trigger`` as one of ``actor``'s steps from ``state`` (before its guards: the step's page says why one is
    refused), or None: a shortcut to it (the queue's row actions) is shown only then."""
    roles = acting_roles(actor)
    return next((t for t in workflow.transitions_from(state, trigger) if roles & {r.value for r in t.roles}), None)


def offers(
    workflow: CompiledWorkflow, case: Mapping[str, Any], actor: Actor, events: Sequence[Mapping[str, Any]]
) -> Offers:
    """The steps ``actor`` is offered on ``case`` (its row and its events, oldest first), ordered and grouped."""
    state, roles = case["state"], acting_roles(actor)
    ctx = _context(workflow, case, actor, events)
    found: dict[str, TriggerOption] = {}
    refused: dict[str, str] = {}
    for t in workflow.transitions_from(state):
        if t.trigger in found or not roles & {r.value for r in t.roles}:
            continue
        reason = refusal(t, ctx, roles)
        if reason is None:
            fields = fields_for(t.fields, agency_kind_of(actor))
            found[t.trigger] = TriggerOption(t.trigger, t.label, t.dest, fields, group=RARE if t.rare else OTHER)
            refused.pop(t.trigger, None)
        else:
            refused.setdefault(t.trigger, reason)
    return Offers(_ordered(workflow, state, found, taken_in_this_state(events)), refused)


def _ordered(
    workflow: CompiledWorkflow, state: str, found: dict[str, TriggerOption], taken: set[str]
) -> list[TriggerOption]:
    listed = [name for name in workflow.spec.states[state].next if name in found]
    usual = sorted(listed, key=lambda name: name in taken)  # only steps that keep the state are ever in taken
    first = [replace(found[name], group=PRIMARY if i == 0 else USUAL) for i, name in enumerate(usual)]
    rest = [o for name, o in found.items() if name not in usual]
    return first + [o for o in rest if o.group == OTHER] + [o for o in rest if o.group == RARE]


def offered_triggers(
    workflow: CompiledWorkflow, case: Mapping[str, Any], actor: Actor, events: Sequence[Mapping[str, Any]]
) -> list[TriggerOption]:
    """The steps offered, in order (``offers(...).options``)."""
    return offers(workflow, case, actor, events).options
