"""The transition engine: the one place a case changes state.

``apply_trigger`` loads the case, checks version, trigger, role, jurisdiction, data and guards, fires
the shared Machine on a plain stand-in object, writes the row and exactly one CaseEvent, and commits —
one transaction, rolled back whole on any error. Core SQL, not the ORM, keeps this path short: its
statements are compiled once (``db.Prepared``) and run inside ``db.driver_transaction``; the workflow's
lookups are memoised per version, and reference data is read only if a field needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, func, insert, select, update

from mediation_flow.accounts.policy import Actor, can_see, may_backdate
from mediation_flow.errors import (
    CaseNotFound,
    GuardFailed,
    InvalidEffectiveTime,
    PermissionDenied,
    StaleVersion,
    TriggerNotAllowed,
    UnknownTrigger,
)
from mediation_flow.places.reference import LazyReference
from mediation_flow.store import clock
from mediation_flow.store.db import Executor, Prepared, driver_transaction
from mediation_flow.store.models import Case, CaseEvent, Jurisdiction, User
from mediation_flow.workflow.deadlines import advance_clocks, earliest_due
from mediation_flow.workflow.fields import validate_fields
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow, WorkflowRegistry
from mediation_flow.workflow.rules import EFFECTS, RuleContext
from mediation_flow.workflow.schema import CREATION_TRIGGER, FieldSpec, TransitionSpec

CASES = Case.__table__
EVENTS = CaseEvent.__table__
USERS = User.__table__
JURISDICTIONS = Jurisdiction.__table__
CLOCK_SKEW = timedelta(minutes=2)
EVENT_COLUMNS = (
    "case_id", "seq", "trigger", "from_state", "to_state", "actor_id", "effective_at", "recorded_at", "note", "data"
)  # fmt: skip

# The hot path's statements, built and compiled once (per dialect) instead of on every call.
# What guards, effects and clocks see of the case: every column but the timestamps and the due date,
# which none of them reads (converting them is a good part of reading the row).
RULE_COLUMNS = tuple(c for c in CASES.c if c.name not in ("registered_at", "created_at", "updated_at", "due_date"))
_SELECT_CASE = Prepared(select(*RULE_COLUMNS).where(CASES.c.id == bindparam("case_id")))
_INSERT_EVENT = Prepared(insert(EVENTS).values({c: bindparam(f"e_{c}") for c in EVENT_COLUMNS}))
_LAST_EFFECTIVE = Prepared(
    select(func.max(EVENTS.c.effective_at).label("last")).where(EVENTS.c.case_id == bindparam("case_id"))
)
_COUNT_EVENTS = Prepared(
    select(func.count().label("n")).where(EVENTS.c.case_id == bindparam("case_id"), EVENTS.c.trigger == bindparam("t"))
)
_LAST_EVENT_DATA = Prepared(
    select(EVENTS.c.data)
    .where(EVENTS.c.case_id == bindparam("case_id"), EVENTS.c.trigger == bindparam("t"))
    .order_by(EVENTS.c.seq.desc())
    .limit(1)
)
_UPDATES: dict[tuple[str, ...], Prepared] = {}


def _update_for(columns: tuple[str, ...]) -> Prepared:
    """The version-checked UPDATE that sets exactly ``columns`` (a handful of shapes, built once each)."""
    prepared = _UPDATES.get(columns)
    if prepared is None:
        statement = (
            update(CASES)
            .where(CASES.c.id == bindparam("w_id"), CASES.c.version == bindparam("w_version"))
            .values({c: bindparam(f"v_{c}") for c in columns})
        )
        prepared = _UPDATES.setdefault(columns, Prepared(statement))
    return prepared


class _Lookups:
    """Per workflow version: its trigger names and candidate transitions by (state, trigger), memoised."""

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


_LOOKUPS: WeakKeyDictionary[WorkflowRegistry, dict[tuple[str, int], _Lookups]] = WeakKeyDictionary()


def _lookups(engine: Engine, registry: WorkflowRegistry, name: str, version: int) -> _Lookups:
    """The registry's compiled workflow (the registry never replaces a version once compiled, so it is
    asked once per process and version)."""
    known = _LOOKUPS.get(registry)
    if known is None:
        known = _LOOKUPS.setdefault(registry, {})
    found = known.get((name, version))
    if found is None:
        with engine.connect() as conn:  # a committed, immutable row: read outside the transaction
            workflow = registry.get(conn, name, version)
        found = known.setdefault((name, version), _Lookups(workflow))
    return found


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


def fire(workflow: CompiledWorkflow, state: str, trigger: str, ctx: RuleContext) -> str | None:
    """Fire ``trigger`` from ``state`` on the workflow's shared Machine: the state it reaches, or None when
    every candidate's guards failed (their reasons in ``ctx.failures``). The Machine's semantics decide
    which transition fires; the engine and the bulk importer both ask it here."""
    subject = _Subject(state)
    return subject.state if workflow.machine.events[trigger].trigger(subject, ctx=ctx) else None


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
    with driver_transaction(engine) as conn:
        return _apply(
            conn,
            engine=engine,
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
    conn: Executor,
    *,
    engine: Engine,
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
    row = _SELECT_CASE.first(conn, {"case_id": case_id})
    if row is None or not can_see(actor, row["jurisdiction_path"]):
        raise CaseNotFound("案件不存在或无权查看", case_id=case_id)
    lookups = _lookups(engine, registry, row["workflow_name"], row["workflow_version"])
    workflow = lookups.workflow
    if trigger not in lookups.triggers:
        raise UnknownTrigger(f"未知操作：{trigger[:64]}", trigger=trigger[:64])
    if row["version"] != expected_version:
        raise StaleVersion(
            "案件已被他人更新，请刷新后重试", current_version=row["version"], expected_version=expected_version
        )
    state = row["state"]
    candidates = lookups.transitions_from(state, trigger)
    if not candidates:
        allowed = [o.trigger for o in available_triggers(workflow, state, actor)]
        raise TriggerNotAllowed(
            f"当前状态（{workflow.spec.states[state].label}）不能执行该操作", state=state, allowed=allowed
        )
    if not any(actor.role in t.roles for t in candidates):
        allowed = [o.trigger for o in available_triggers(workflow, state, actor)]
        raise PermissionDenied("您的角色无权执行该操作", role=actor.role.value, allowed=allowed)
    moment = _effective_time(conn, case_id, actor, effective_at, now)
    fields = candidates[0].fields
    cleaned = validate_fields(
        fields, data, reference=LazyReference(conn), user_exists=lambda uid: _user_in_scope(conn, uid, row)
    )
    ctx = RuleContext(
        case=row,
        data=cleaned,
        actor_id=actor.id,
        actor_role=actor.role.value,
        effective_at=moment,
        effective_date=clock.local_date(moment),
        count_events=lambda name: _count_events(conn, case_id, name),
        last_event_data=lambda name: _last_event_data(conn, case_id, name),
        workflow=workflow.spec,
    )
    dest = fire(workflow, state, trigger, ctx)
    if dest is None:
        raise GuardFailed("；".join(ctx.failures) or "条件不满足", reasons=ctx.failures)
    fired = next(t for t in candidates if (t.dest or state) == dest)
    for name in fired.effects:
        EFFECTS[name](ctx)
    clocks = advance_clocks(
        workflow.spec,
        row["clocks"] or {},
        trigger=trigger,
        to_state=dest,
        on=ctx.effective_date,
        data=cleaned,
        attributes=row["attributes"],
    )
    new_version = expected_version + 1
    values = {
        **ctx.updates,
        "state": dest,
        "version": new_version,
        "clocks": clocks,
        "due_date": earliest_due(clocks),
        "updated_at": now,
    }
    moved = _update_for(tuple(values)).execute(
        conn, {"w_id": case_id, "w_version": expected_version, **{f"v_{k}": v for k, v in values.items()}}
    )
    if moved != 1:
        raise StaleVersion("案件已被他人更新，请刷新后重试", expected_version=expected_version)
    event = {
        "e_case_id": case_id,
        "e_seq": new_version,
        "e_trigger": trigger,
        "e_from_state": state,
        "e_to_state": dest,
        "e_actor_id": actor.id,
        "e_effective_at": moment,
        "e_recorded_at": now,
        "e_note": (note or "").strip()[:2000],
        "e_data": ctx.data,
    }
    _INSERT_EVENT.execute(conn, event)
    return TransitionResult(case_id, dest, new_version, new_version, trigger)


def _effective_time(
    conn: Executor, case_id: int, actor: Actor, effective_at: datetime | None, now: datetime
) -> datetime:
    if effective_at is None:
        return now
    moment = clock.ensure_aware(effective_at)
    if moment > now + CLOCK_SKEW:
        raise InvalidEffectiveTime("生效时间不能晚于当前时间")
    if moment < now - CLOCK_SKEW and not may_backdate(actor):
        raise PermissionDenied("只有司法所（督办）人员可以补录过去的时间")
    last = _LAST_EFFECTIVE.first(conn, {"case_id": case_id})["last"]  # type: ignore[index]
    if last is not None and moment < clock.ensure_aware(last):
        raise InvalidEffectiveTime(
            "生效时间不能早于该案上一条记录的时间", previous=clock.ensure_aware(last).isoformat()
        )
    return moment


def _count_events(conn: Executor, case_id: int, trigger: str) -> int:
    found = _COUNT_EVENTS.first(conn, {"case_id": case_id, "t": trigger})
    return int((found or {}).get("n") or 0)


def _last_event_data(conn: Executor, case_id: int, trigger: str) -> dict[str, Any] | None:
    found = _LAST_EVENT_DATA.first(conn, {"case_id": case_id, "t": trigger})
    result = found["data"] if found else None
    return dict(result) if result is not None else None


_ASSIGNEE = Prepared(
    select(USERS.c.role, USERS.c.is_active, JURISDICTIONS.c.path)
    .select_from(USERS.outerjoin(JURISDICTIONS, USERS.c.jurisdiction_id == JURISDICTIONS.c.id))
    .where(USERS.c.id == bindparam("user_id"))
)


def _user_in_scope(conn: Executor, user_id: int, case_row: Any) -> bool:
    """An assignee must be an active mediator or supervisor whose jurisdiction covers the case."""
    row = _ASSIGNEE.first(conn, {"user_id": user_id})
    if row is None or not row["is_active"] or row["role"] not in ("mediator", "supervisor"):
        return False
    return row["path"] is None or case_row["jurisdiction_path"].startswith(row["path"])


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
