"""The transition engine: the one place a case changes state.

``apply_trigger`` loads the case, checks version, trigger, role, jurisdiction, data and guards, fires
the shared Machine on a plain stand-in object, writes the row and exactly one CaseEvent, and commits —
one transaction, rolled back whole on any error. Core SQL, not the ORM, keeps this path short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from mediation_flow import clock
from mediation_flow.db import write_transaction
from mediation_flow.deadlines import advance_clocks, earliest_due
from mediation_flow.errors import (
    CaseNotFound,
    GuardFailed,
    InvalidEffectiveTime,
    PermissionDenied,
    StaleVersion,
    TriggerNotAllowed,
    UnknownTrigger,
)
from mediation_flow.models import Case, CaseEvent, User
from mediation_flow.policy import Actor, can_see, may_backdate
from mediation_flow.reference import load_reference
from mediation_flow.workflow.fields import validate_fields
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow, WorkflowRegistry
from mediation_flow.workflow.rules import EFFECTS, RuleContext
from mediation_flow.workflow.schema import CREATION_TRIGGER, FieldSpec

CASES = Case.__table__
EVENTS = CaseEvent.__table__
USERS = User.__table__
CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class TriggerOption:
    trigger: str
    label: str
    dest: str | None
    fields: list[FieldSpec]


@dataclass(frozen=True)
class TransitionResult:
    case_id: int
    state: str
    version: int
    event_seq: int
    trigger: str


class _Subject:
    """What the shared Machine moves: a bare holder of the state, never the row itself."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def available_triggers(workflow: CompiledWorkflow, state: str, actor: Actor) -> list[TriggerOption]:
    """Triggers this user's role may fire from ``state`` (guards are judged when fired)."""
    seen: dict[str, TriggerOption] = {}
    for t in workflow.transitions_from(state):
        if actor.role in t.roles and t.trigger not in seen:
            seen[t.trigger] = TriggerOption(t.trigger, t.label, t.dest, t.fields)
    return list(seen.values())


def apply_trigger(
    engine: Engine,
    *,
    case_id: int,
    actor: Actor,
    trigger: str,
    expected_version: int,
    note: str = "",
    data: dict[str, Any] | None = None,
    effective_at: datetime | None = None,
    now: datetime | None = None,
    registry: WorkflowRegistry = REGISTRY,
) -> TransitionResult:
    with write_transaction(engine) as conn:
        return _apply(
            conn,
            case_id=case_id,
            actor=actor,
            trigger=trigger,
            expected_version=expected_version,
            note=note,
            data=data,
            effective_at=effective_at,
            now=now or clock.utcnow(),
            registry=registry,
        )


def _apply(
    conn: Connection,
    *,
    case_id: int,
    actor: Actor,
    trigger: str,
    expected_version: int,
    note: str,
    data: dict[str, Any] | None,
    effective_at: datetime | None,
    now: datetime,
    registry: WorkflowRegistry,
) -> TransitionResult:
    row = conn.execute(select(CASES).where(CASES.c.id == case_id)).mappings().first()
    if row is None or not can_see(actor, row["jurisdiction_path"]):
        raise CaseNotFound("案件不存在或无权查看", case_id=case_id)
    workflow = registry.get(conn, row["workflow_name"], row["workflow_version"])
    if trigger not in workflow.triggers():
        raise UnknownTrigger(f"未知操作：{trigger[:64]}", trigger=trigger[:64])
    if row["version"] != expected_version:
        raise StaleVersion(
            "案件已被他人更新，请刷新后重试", current_version=row["version"], expected_version=expected_version
        )
    state = row["state"]
    candidates = workflow.transitions_from(state, trigger)
    allowed = [o.trigger for o in available_triggers(workflow, state, actor)]
    if not candidates:
        raise TriggerNotAllowed(
            f"当前状态（{workflow.spec.states[state].label}）不能执行该操作", state=state, allowed=allowed
        )
    if not any(actor.role in t.roles for t in candidates):
        raise PermissionDenied("您的角色无权执行该操作", role=actor.role.value, allowed=allowed)
    moment = _effective_time(conn, case_id, actor, effective_at, now)
    fields = candidates[0].fields
    cleaned = validate_fields(
        fields, data, reference=load_reference(conn), user_exists=lambda uid: _user_in_scope(conn, uid, row)
    )
    ctx = RuleContext(
        case=dict(row),
        data=cleaned,
        actor_id=actor.id,
        actor_role=actor.role.value,
        effective_at=moment,
        effective_date=clock.local_date(moment),
        count_events=lambda name: _count_events(conn, case_id, name),
        last_event_data=lambda name: _last_event_data(conn, case_id, name),
        workflow=workflow.spec,
    )
    subject = _Subject(state)
    if not workflow.machine.events[trigger].trigger(subject, ctx=ctx):
        raise GuardFailed("；".join(ctx.failures) or "条件不满足", reasons=ctx.failures)
    fired = next(t for t in candidates if (t.dest or state) == subject.state)
    for name in fired.effects:
        EFFECTS[name](ctx)
    clocks = advance_clocks(
        workflow.spec,
        row["clocks"] or {},
        trigger=trigger,
        to_state=subject.state,
        on=ctx.effective_date,
        data=cleaned,
        attributes=row["attributes"],
    )
    new_version = expected_version + 1
    values = {
        **ctx.updates,
        "state": subject.state,
        "version": new_version,
        "clocks": clocks,
        "due_date": earliest_due(clocks),
        "updated_at": now,
    }
    moved = conn.execute(
        update(CASES).where(and_(CASES.c.id == case_id, CASES.c.version == expected_version)).values(**values)
    )
    if moved.rowcount != 1:
        raise StaleVersion("案件已被他人更新，请刷新后重试", expected_version=expected_version)
    conn.execute(
        insert(EVENTS).values(
            case_id=case_id,
            seq=new_version,
            trigger=trigger,
            from_state=state,
            to_state=subject.state,
            actor_id=actor.id,
            effective_at=moment,
            recorded_at=now,
            note=(note or "").strip()[:2000],
            data=ctx.data,
        )
    )
    return TransitionResult(case_id, subject.state, new_version, new_version, trigger)


def _effective_time(
    conn: Connection, case_id: int, actor: Actor, effective_at: datetime | None, now: datetime
) -> datetime:
    if effective_at is None:
        return now
    moment = clock.ensure_aware(effective_at)
    if moment > now + CLOCK_SKEW:
        raise InvalidEffectiveTime("生效时间不能晚于当前时间")
    if moment < now - CLOCK_SKEW and not may_backdate(actor):
        raise PermissionDenied("只有司法所（督办）人员可以补录过去的时间")
    last = conn.execute(select(func.max(EVENTS.c.effective_at)).where(EVENTS.c.case_id == case_id)).scalar()
    if last is not None and moment < clock.ensure_aware(last):
        raise InvalidEffectiveTime(
            "生效时间不能早于该案上一条记录的时间", previous=clock.ensure_aware(last).isoformat()
        )
    return moment


def _count_events(conn: Connection, case_id: int, trigger: str) -> int:
    query = select(func.count()).where(EVENTS.c.case_id == case_id, EVENTS.c.trigger == trigger)
    return int(conn.execute(query).scalar() or 0)


def _last_event_data(conn: Connection, case_id: int, trigger: str) -> dict[str, Any] | None:
    query = (
        select(EVENTS.c.data)
        .where(EVENTS.c.case_id == case_id, EVENTS.c.trigger == trigger)
        .order_by(EVENTS.c.seq.desc())
        .limit(1)
    )
    result = conn.execute(query).scalar()
    return dict(result) if result is not None else None


def _user_in_scope(conn: Connection, user_id: int, case_row: Any) -> bool:
    """An assignee must be an active mediator or supervisor whose jurisdiction covers the case."""
    from mediation_flow.models import Jurisdiction

    jur = Jurisdiction.__table__
    row = conn.execute(
        select(USERS.c.role, USERS.c.is_active, jur.c.path)
        .select_from(USERS.outerjoin(jur, USERS.c.jurisdiction_id == jur.c.id))
        .where(USERS.c.id == user_id)
    ).first()
    if row is None or not row.is_active or row.role not in ("mediator", "supervisor"):
        return False
    return row.path is None or case_row["jurisdiction_path"].startswith(row.path)


@dataclass(frozen=True)
class Replay:
    state: str | None
    version: int
    problems: list[str]


def replay(workflow: CompiledWorkflow, events: Sequence[Any]) -> Replay:
    """Recompute state and version from the events alone, checking each step against the workflow."""
    state: str | None = None
    problems: list[str] = []
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            problems.append(f"event seq {event.seq} where {expected_seq} was expected")
        if event.trigger == CREATION_TRIGGER:
            if state is not None or event.to_state != workflow.spec.initial:
                problems.append(f"seq {event.seq}: creation event out of place")
            state = event.to_state
            continue
        if state is None:
            problems.append(f"seq {event.seq}: {event.trigger} before the case was registered")
            state = event.from_state
        dests = {t.dest or state for t in workflow.transitions_from(state, event.trigger)}
        if event.to_state not in dests or event.from_state != state:
            problems.append(f"seq {event.seq}: {event.trigger} cannot take {state} to {event.to_state}")
        state = event.to_state
    return Replay(state=state, version=len(events), problems=problems)
