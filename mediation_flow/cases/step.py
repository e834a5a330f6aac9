"""One pure step: what a trigger does to a case, decided without touching the database.

``step`` checks jurisdiction, trigger, version, state and role, the effective time, the fields, then
fires the workflow's shared Machine (guards), runs the effects, folds the clocks and returns the row
updates and the event. Every path that moves a case calls it: ``engine.apply_trigger`` (one case, one
transaction), the sweep (through it), and the bulk path of the ledger import and the demo
(``ledger.bulk``), which batch only the writes. What a step needs from outside comes in as arguments:
``lookups`` (workflow, reference data, users) and ``history`` (the case's events), answered from the
database inside the engine's transaction or from memory on the bulk path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from mediation_flow.accounts.policy import (
    Actor,
    can_see_case,
    earliest_backdate,
    may_backdate,
    may_be_assigned,
)
from mediation_flow.cases.events import event_row
from mediation_flow.errors import (
    CaseNotFound,
    GuardFailed,
    InvalidData,
    InvalidEffectiveTime,
    PermissionDenied,
    StaleVersion,
    TriggerNotAllowed,
    UnknownTrigger,
)
from mediation_flow.places.agencies import Agency
from mediation_flow.store import clock
from mediation_flow.store.tables import CASES
from mediation_flow.textinput import TextRefused, clean_text
from mediation_flow.workflow.correction_rules import CORRECT
from mediation_flow.workflow.deadlines import advance_clocks, earliest_due
from mediation_flow.workflow.fields import fields_for, validate_fields
from mediation_flow.workflow.registry import CompiledWorkflow
from mediation_flow.workflow.rules import EFFECTS, RuleContext
from mediation_flow.workflow.schema import FieldSpec, TransitionSpec

CLOCK_SKEW = timedelta(minutes=2)  # how far a client's clock may differ from ours (intake and steps alike)
# What guards, effects and clocks see of the case, on every path: its content, not its identity (id,
# number, seq: a case held by the bulk path gets them when written) nor its timestamps and due date.
RULE_FIELDS = tuple(
    c.name
    for c in CASES.c
    if c.name not in ("id", "number", "seq", "registered_at", "created_at", "updated_at", "due_date")
)
Assignee = tuple[str, bool, str | None]  # a user's role, whether active, and jurisdiction path


class History(Protocol):
    """What a step may ask about the events a case already has."""

    def last_effective(self) -> datetime | None: ...

    def count(self, trigger: str) -> int: ...

    def last_data(self, trigger: str) -> dict[str, Any] | None: ...


class Rules:
    """A workflow version's trigger names and candidate transitions by (state, trigger), memoised."""

    __slots__ = ("candidates", "triggers", "workflow")

    def __init__(self, workflow: CompiledWorkflow) -> None:
        self.workflow = workflow
        self.triggers = workflow.triggers()
        self.candidates: dict[tuple[str, str], list[TransitionSpec]] = {}

    def transitions_from(self, state: str, trigger: str) -> list[TransitionSpec]:
        found = self.candidates.get((state, trigger))
        if found is None:
            found = self.candidates.setdefault((state, trigger), self.workflow.transitions_from(state, trigger))
        return found


NOTE_LIMIT = 2000


@dataclass(frozen=True)
class Lookups:
    """What the rules read besides the case: the workflow, reference data, and users (for a ``user`` field)."""

    rules: Rules
    reference: Mapping[str, Mapping[str, str]]
    assignee: Callable[[int], Assignee | None]
    agency: Callable[[str], Agency | None] = lambda _code: None  # a partner agency by code (三调对接)
    facts: Callable[[], Any] = lambda: None  # what a correction (更正) reads of the case: its parties, events, places


@dataclass(frozen=True)
class Moment:
    """When: the effective time asked for (None: now) and now, the time recorded."""

    effective_at: datetime | None
    now: datetime


@dataclass(frozen=True)
class TriggerOption:
    trigger: str
    label: str
    dest: str | None
    fields: list[FieldSpec]
    group: str = "other"  # where the case page shows it: primary, usual, other, rare (``cases.offers``)


def agency_kind_of(actor: Actor) -> str | None:
    """The kind of the actor's partner agency (its users are offered its choices: ``fields_for``)."""
    kind = actor.role.agency_kind
    return None if kind is None else kind.value


def available_triggers(workflow: CompiledWorkflow, state: str, actor: Actor) -> list[TriggerOption]:
    """Triggers this user's role may fire from ``state``, guards not judged (what a refusal lists as allowed;
    the case page and the API offer ``cases.offers``)."""
    seen: dict[str, TriggerOption] = {}
    for t in workflow.transitions_from(state):
        if actor.role in t.roles and t.trigger not in seen:
            seen[t.trigger] = TriggerOption(t.trigger, t.label, t.dest, fields_for(t.fields, agency_kind_of(actor)))
    return list(seen.values())


class _Subject:
    """What the shared Machine moves: a bare holder of the state, never the row itself."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def fire(workflow: CompiledWorkflow, state: str, trigger: str, ctx: RuleContext) -> str | None:
    """Fire ``trigger`` from ``state`` on the workflow's shared Machine: the state it reaches, or None when
    every candidate's guards failed (their reasons in ``ctx.failures``)."""
    subject = _Subject(state)
    return subject.state if workflow.machine.events[trigger].trigger(subject, ctx=ctx) else None


def step(
    case: Mapping[str, Any],
    trigger: str,
    data: Mapping[str, Any] | None,
    moment: Moment,
    actor: Actor,
    lookups: Lookups,
    history: History,
    *,
    note: str = "",
    expected_version: int | None = None,
    recorder: Actor | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fire ``trigger`` on ``case`` (its row, at least ``RULE_FIELDS``): returns the row updates and the
    event row, or raises the domain error that refuses it. Pure: reads only its arguments.

    ``recorder``: someone typing the step in for ``actor`` (代录: a clerk entering the paper ledger, naming
    the mediator who acted). The workflow's roles and guards judge the actor; the recorder must see the case
    and may back-date only as far as the recorder may. The event keeps both."""
    if recorder is not None and not can_see_case(recorder, case):
        raise CaseNotFound("案件不存在或无权查看", case_id=case.get("id"))
    if not can_see_case(actor, case):
        raise CaseNotFound("案件不存在或无权查看", case_id=case.get("id"))
    rules = lookups.rules
    workflow = rules.workflow
    if trigger not in rules.triggers:
        raise UnknownTrigger(f"未知操作：{trigger[:64]}", trigger=trigger[:64])
    version = case["version"]
    if expected_version is not None and version != expected_version:
        raise StaleVersion("案件已被他人更新，请刷新后重试", current_version=version, expected_version=expected_version)
    state = case["state"]
    candidates = rules.transitions_from(state, trigger)
    if not candidates:
        allowed = [o.trigger for o in available_triggers(workflow, state, actor)]
        label = workflow.spec.states[state].label
        raise TriggerNotAllowed(f"当前状态（{label}）不能执行该操作", state=state, allowed=allowed)
    if not any(actor.role in t.roles for t in candidates):
        allowed = [o.trigger for o in available_triggers(workflow, state, actor)]
        raise PermissionDenied("您的角色无权执行该操作", role=actor.role.value, allowed=allowed)
    at = effective_time(recorder or actor, moment, history)
    note = _clean_note(note)
    path = case["jurisdiction_path"]
    cleaned = validate_fields(
        fields_for(candidates[0].fields, agency_kind_of(actor)),
        data,
        reference=lookups.reference,
        user_exists=lambda uid: _assignable(lookups.assignee(uid), path),
        today=clock.local_date(moment.now),
        case_start=_case_start(case),
    )
    ctx = RuleContext(
        case={name: case[name] for name in RULE_FIELDS},
        data=cleaned,
        actor_id=actor.id,
        actor_role=actor.role.value,
        effective_at=at,
        effective_date=clock.local_date(at),
        count_events=history.count,
        last_event_data=history.last_data,
        workflow=workflow.spec,
        actor_agency_id=actor.agency_id,
        agency=lookups.agency,
        facts=lookups.facts() if trigger == CORRECT else None,
    )
    dest = fire(workflow, state, trigger, ctx)
    if dest is None:
        raise GuardFailed("；".join(ctx.failures) or "条件不满足", reasons=ctx.failures)
    fired = next(t for t in candidates if (t.dest or state) == dest)
    for name in fired.effects:
        EFFECTS[name](ctx)
    clocks = advance_clocks(
        workflow.spec,
        ctx.updates.get("clocks", case["clocks"]) or {},  # a correction may have re-folded them
        trigger=trigger,
        to_state=dest,
        on=ctx.effective_date,
        data=ctx.data,
        attributes=case["attributes"],
    )
    updates = {
        **ctx.updates,
        "state": dest,
        "version": version + 1,
        "clocks": clocks,
        "due_date": earliest_due(clocks),
        "updated_at": moment.now,
    }
    event = event_row(
        case_id=case.get("id"),
        seq=version + 1,
        trigger=trigger,
        from_state=state,
        to_state=dest,
        actor_id=actor.id,
        effective_at=at,
        recorded_at=moment.now,
        note=note,
        data=ctx.data,
        recorded_by=recorder.id if recorder is not None and recorder.id != actor.id else None,
    )
    return updates, event


def _case_start(case: Mapping[str, Any]) -> date | None:
    """The local date the case began (its registration's effective time), for the fields' date rules."""
    registered = case.get("registered_at")
    return clock.local_date(clock.ensure_aware(registered)) if registered is not None else None


def _clean_note(note: str) -> str:
    """The event's note under the text-input policy (every caller: API, pages, ledger import, sweep)."""
    try:
        return clean_text(note, label="备注", max_length=NOTE_LIMIT)
    except TextRefused as exc:
        raise InvalidData([{"field": "note", "message": str(exc)}]) from None


def effective_time(actor: Actor, moment: Moment, history: History) -> datetime:
    """The event's effective time: now, or the time asked for if it is not in the future, is back-dated
    only by whom may back-date, and is not before the case's last event."""
    if moment.effective_at is None:
        return moment.now
    at = clock.as_local(moment.effective_at)
    if clock.out_of_range(at, moment.now):
        raise InvalidEffectiveTime(clock.RANGE_MESSAGE)
    if at > moment.now + CLOCK_SKEW:
        raise InvalidEffectiveTime("生效时间不能晚于当前时间")
    if at < moment.now - CLOCK_SKEW:
        check_backdate(actor, at, moment.now)
    last = history.last_effective()
    if last is not None and at < last:
        raise InvalidEffectiveTime("生效时间不能早于该案上一条记录的时间", previous=last.isoformat())
    return at


def check_backdate(actor: Actor, at: datetime, now: datetime) -> None:
    """A time in the past (补录): only who may back-date, and a clerk no further than the policy's limit."""
    if not may_backdate(actor):
        raise PermissionDenied("只有司法所（督办）人员和录入员可以补录过去的时间")
    earliest = earliest_backdate(actor, clock.local_date(now))
    if earliest is not None and clock.local_date(at) < earliest:
        raise InvalidEffectiveTime(f"录入员只能补录{earliest.year}年1月1日以后的记录")


def _assignable(user: Assignee | None, case_path: str) -> bool:
    return user is not None and may_be_assigned(user[0], user[1], user[2], case_path)
