"""The transition engine: ``apply_trigger`` is the one place a single case changes state.

It reads the case, asks ``step`` (mediation_flow.cases.step, pure) what the trigger does, and writes
the row (version-checked) and the event in one transaction, rolled back whole on any error. Its
statements are compiled once and run on a kept writer connection (mediation_flow.store.fast); the
workflow's lookups are memoised per version, and reference data is read only if a field needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, select, update

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.accounts.users import any_actor
from mediation_flow.cases.corrections import StoredFacts, write_beside
from mediation_flow.cases.events import StoredHistory, insert_event
from mediation_flow.cases.step import (
    RULE_FIELDS,
    Assignee,
    Lookups,
    Moment,
    Rules,
    TriggerOption,
    available_triggers,
    step,
)
from mediation_flow.errors import CaseNotFound, InvalidData, StaleVersion
from mediation_flow.places.agencies import AgencyLookup
from mediation_flow.places.reference import LazyReference
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.fast import Executor, Prepared
from mediation_flow.store.group_commit import in_group
from mediation_flow.store.tables import CASES, JURISDICTIONS, USERS
from mediation_flow.workflow.correction_rules import CORRECT, PARTY_UPDATE
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow, WorkflowRegistry
from mediation_flow.workflow.schema import CREATION_TRIGGER

__all__ = ["TransitionResult", "TriggerOption", "apply_trigger", "available_triggers", "replay"]
_SELECT_CASE = Prepared(
    select(CASES.c.id, CASES.c.registered_at, *(CASES.c[n] for n in RULE_FIELDS)).where(
        CASES.c.id == bindparam("case_id")
    )
)
_ASSIGNEE = Prepared(
    select(USERS.c.role, USERS.c.is_active, JURISDICTIONS.c.path)
    .select_from(USERS.outerjoin(JURISDICTIONS, USERS.c.jurisdiction_id == JURISDICTIONS.c.id))
    .where(USERS.c.id == bindparam("user_id"))
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


_RULES: WeakKeyDictionary[WorkflowRegistry, dict[tuple[str, int], Rules]] = WeakKeyDictionary()


def _rules(engine: Engine, registry: WorkflowRegistry, name: str, version: int) -> Rules:
    """The rules of the registry's compiled workflow, memoised while the registry keeps the same compiled one."""
    known = _RULES.get(registry)
    if known is None:
        known = _RULES.setdefault(registry, {})
    workflow = registry.known(name, version)
    if workflow is None:
        with engine.connect() as conn:  # a committed, immutable row: read outside the transaction
            workflow = registry.get(conn, name, version)
    found = known.get((name, version))
    if found is None or found.workflow is not workflow:  # compiled again (another database's version)
        found = known[(name, version)] = Rules(workflow)
    return found


@dataclass(frozen=True)
class TransitionResult:
    case_id: int
    state: str
    version: int
    event_seq: int
    trigger: str


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
    acting_for: int | None = None,
) -> TransitionResult:
    """Fire ``trigger`` on the case: read it, ``step``, write the row (if still at ``expected_version``)
    and its event, commit. Raises the step's domain errors, or StaleVersion.

    ``acting_for``: the id of the user who acted (the mediator named on the paper ledger) when ``actor`` only
    records it (代录: a clerk or a supervisor); the workflow judges that user, the event keeps both."""
    moment = Moment(effective_at, now or clock.utcnow())
    recorder = None
    if acting_for is not None and acting_for != actor.id:
        require(actor, Permission.RECORD_FOR_OTHERS)
        recorder, actor = actor, _acting(engine, acting_for)
    correcting = trigger == CORRECT  # reads parties, places, the parties' earlier cases: a Connection's work

    def write(conn: Executor) -> TransitionResult:
        row = _SELECT_CASE.first(conn, {"case_id": case_id})
        if row is None:
            raise CaseNotFound("案件不存在或无权查看", case_id=case_id)
        reference = LazyReference(conn, row["jurisdiction_path"])
        lookups = Lookups(
            rules=_rules(engine, registry, row["workflow_name"], row["workflow_version"]),
            reference=reference,
            assignee=lambda user_id: _assignee(conn, user_id),
            agency=AgencyLookup(conn),
            facts=lambda: StoredFacts(conn, row, reference.get("category", {})) if correcting else None,  # type: ignore[arg-type]
        )
        history = StoredHistory(conn, case_id)
        updates, event = step(
            row,
            trigger,
            data,
            moment,
            actor,
            lookups,
            history,
            note=note,
            expected_version=expected_version,
            recorder=recorder,
        )
        party = updates.pop(PARTY_UPDATE, None)
        params = {"w_id": case_id, "w_version": expected_version, **{f"v_{k}": v for k, v in updates.items()}}
        if _update_for(tuple(updates)).execute(conn, params) != 1:
            raise StaleVersion("案件已被他人更新，请刷新后重试", expected_version=expected_version)
        insert_event(conn, event)
        if correcting:
            write_beside(conn, case_id, party)  # type: ignore[arg-type]
        return TransitionResult(case_id, updates["state"], updates["version"], event["seq"], trigger)

    if correcting:
        with write_transaction(engine) as conn:
            return write(conn)
    # with other threads' transitions on a SQLite file: one turn at its write lock for several (store.group_commit)
    return in_group(engine, write)


def _acting(engine: Engine, user_id: int) -> Actor:
    """The user a step is recorded for, as the workflow judges them (a former mediator too: last year's
    ledger names people who may have left)."""
    with engine.connect() as conn:
        acting = any_actor(conn, user_id)
    if acting is None:
        raise InvalidData([{"field": "acted_by", "message": "经办人不存在"}])
    return acting


def _assignee(conn: Executor, user_id: int) -> Assignee | None:
    row = _ASSIGNEE.first(conn, {"user_id": user_id})
    return None if row is None else (row["role"], bool(row["is_active"]), row["path"])


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
