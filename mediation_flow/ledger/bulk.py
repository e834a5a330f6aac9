"""The bulk path of the ledger import: each planned row is registered and driven through its back-dated
history in memory, checked by the same rules the engine applies (the intake's ``new_case_rows``; for every
step: a legal transition from the state, a role allowed, the fields validated by ``validate_fields``, the
guards and effects of the workflow definition, the clocks folded by ``advance_clocks``); ``ledger_write``
then writes the rows. What the checks need from the database (reference data, places, users, the
workflow) is read once, inside the import's transaction; nothing is asked per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from mediation_flow.accounts.policy import Actor, may_backdate
from mediation_flow.cases import intake
from mediation_flow.cases.engine import CLOCK_SKEW, fire
from mediation_flow.errors import (
    GuardFailed,
    InvalidData,
    InvalidEffectiveTime,
    PermissionDenied,
    TriggerNotAllowed,
    UnknownTrigger,
)
from mediation_flow.places.jurisdictions import JUR, Place
from mediation_flow.places.reference import load_reference
from mediation_flow.store import clock
from mediation_flow.store.models import User
from mediation_flow.workflow.deadlines import advance_clocks, earliest_due
from mediation_flow.workflow.fields import validate_fields
from mediation_flow.workflow.registry import CompiledWorkflow, WorkflowRegistry
from mediation_flow.workflow.rules import EFFECTS, RuleContext
from mediation_flow.workflow.schema import CREATION_TRIGGER, TransitionSpec

USERS = User.__table__


FOLDS_KEPT = 50_000  # remembered clock folds (bounds the memory of a large import)
EMPTY: dict[str, Any] = {}
_SCALARS = frozenset({str, int, bool, type(None)})


def memo_key(value: Any) -> Any:
    """A key equal only for values that convert (validate) alike, or None where there is none: a date
    or datetime itself; a flat dict as its items with their types (``1`` and ``True`` compare equal,
    their JSON does not)."""
    kind = type(value)
    if kind is datetime or kind is date:
        return value
    if kind is dict:
        types = tuple(map(type, value.values()))
        return (tuple(value.items()), types) if _SCALARS.issuperset(types) else None
    return None


_PLACES = select(JUR.c.id, JUR.c.code, JUR.c.name, JUR.c.short_name, JUR.c.level, JUR.c.path, JUR.c.parent_id)
_USERS = select(USERS.c.id, USERS.c.username, USERS.c.role, USERS.c.is_active, JUR.c.path).select_from(
    USERS.outerjoin(JUR, USERS.c.jurisdiction_id == JUR.c.id)
)


@dataclass
class Draft:
    """One case as it will be written: the row, its parties and its events (ids and number still to come)."""

    case: dict[str, Any]
    parties: list[dict[str, Any]]
    events: list[dict[str, Any]]
    township: Place
    last: datetime  # the latest effective time among the events


@dataclass(frozen=True)
class Move:
    candidates: list[TransitionSpec]
    plain: bool  # no guards, no effects: the first candidate fires with the validated data
    pure: bool  # no effects (only an effect may change the data an event records)
    per_case: bool  # a field whose validation depends on the case (a user in scope)


@dataclass
class Snapshot:
    """What the checks read from the database, once per import, inside its transaction."""

    actor: Actor
    workflow: CompiledWorkflow
    reference: dict[str, dict[str, str]]
    places: dict[str, Place]
    townships: dict[int, Place | None]
    users: dict[int, tuple[str, bool, str | None]]
    mediators: dict[str, int]  # active mediators and supervisors by username
    now: datetime
    latest: datetime  # effective times after this are in the future (the engine's clock skew allowed)
    earliest: datetime  # before this they are back-dated
    backdates: bool  # the actor may back-date
    role: str
    extend_triggers: frozenset[str]
    _moves: dict[tuple[str, str], Move] = field(default_factory=dict)
    _cleaned: dict[Any, dict[str, Any]] = field(default_factory=dict)
    _in_scope: dict[tuple[int, str], bool] = field(default_factory=dict)
    _folds: dict[Any, tuple[dict[str, Any], Any, dict[str, Any], date | None]] = field(default_factory=dict)
    _shared: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def township_of(self, code: str | None) -> Place | None:
        place = self.places.get(code or "")
        return self.townships.get(place.id) if place else None

    def move(self, state: str, trigger: str) -> Move:
        """The transitions ``trigger`` may take from ``state``, checked against the actor's role as the
        engine checks them (unknown trigger, not from this state, not for this role)."""
        found = self._moves.get((state, trigger))
        if found is None:
            workflow = self.workflow
            candidates = workflow.transitions_from(state, trigger)
            if not candidates:
                if trigger not in workflow.triggers():
                    raise UnknownTrigger(f"未知操作：{trigger[:64]}", trigger=trigger[:64])
                label = workflow.spec.states[state].label
                raise TriggerNotAllowed(f"当前状态（{label}）不能执行该操作", state=state)
            if not any(self.actor.role in t.roles for t in candidates):
                raise PermissionDenied("您的角色无权执行该操作", role=self.actor.role.value)
            found = self._moves[(state, trigger)] = Move(
                candidates,
                plain=not any(t.guards or t.effects for t in candidates),
                pure=not any(t.effects for t in candidates),
                per_case=any(f.type == "user" for f in candidates[0].fields),
            )
        return found

    def clean(self, move: Move, data: Mapping[str, Any], case_path: str) -> dict[str, Any]:
        """``validate_fields`` of the move's fields. The same data gets the same answer, and the very same
        dict (events may share it: nothing changes an event's data once recorded)."""
        flat = memo_key(data)
        key = None if flat is None else (id(move), case_path if move.per_case else None, flat)
        cleaned = self._cleaned.get(key) if key is not None else None
        if cleaned is None:
            cleaned = validate_fields(
                move.candidates[0].fields,
                data,
                reference=self.reference,
                user_exists=lambda uid: self.user_in_scope(uid, case_path),
            )
            if key is not None:
                self._cleaned[key] = cleaned
        return cleaned

    def user_in_scope(self, user_id: int, case_path: str) -> bool:
        """As the engine's assignee check: an active mediator or supervisor whose jurisdiction covers the case."""
        key = (user_id, case_path)
        found = self._in_scope.get(key)
        if found is None:
            role, active, path = self.users.get(user_id, ("", False, None))
            found = active and role in ("mediator", "supervisor") and (path is None or case_path.startswith(path))
            self._in_scope[key] = found
        return found

    def share(self, value: dict[str, Any]) -> dict[str, Any]:
        """One object for equal flat dicts (never changed once built), so that their JSON is made once."""
        key = memo_key(value)
        if key is None:
            return value
        if len(self._shared) >= FOLDS_KEPT:
            self._shared.clear()
        return self._shared.setdefault(key, value)

    def fold(
        self, clocks: dict[str, Any], trigger: str, dest: str, on: date, data: dict[str, Any], attributes: Any
    ) -> tuple[dict[str, Any], date | None]:
        """``advance_clocks`` and ``earliest_due`` of an event. Both are pure; cases registered on the same
        day mostly take the same first steps on the same days, so an answer is remembered by the clocks
        object it started from (shared by those cases) and whatever else it depends on."""
        spec = self.workflow.spec
        key: Any = (id(clocks), id(attributes), trigger, dest, on)
        if trigger in self.extend_triggers:  # the only triggers whose data the clocks read
            key = (*key, memo_key(data))
        known = self._folds.get(key) if key[-1] is not None else None
        # The entry holds the objects whose ids key it: those ids cannot have been reused meanwhile.
        if known is not None and known[0] is clocks and known[1] is attributes:
            return known[2], known[3]
        folded = advance_clocks(spec, clocks, trigger=trigger, to_state=dest, on=on, data=data, attributes=attributes)
        due = earliest_due(folded)
        if key[-1] is not None:
            if len(self._folds) >= FOLDS_KEPT:
                self._folds.clear()
            self._folds[key] = (clocks, attributes, folded, due)
        return folded, due


def load_snapshot(
    conn: Any, actor: Actor, registry: WorkflowRegistry, now: datetime, workflow_name: str = "people_mediation"
) -> Snapshot:
    places = [Place(*row) for row in conn.execute(_PLACES)]
    by_id = {p.id: p for p in places}
    townships: dict[int, Place | None] = {}
    for place in places:
        ancestors = [by_id.get(int(part)) for part in place.path.strip("/").split("/") if part]
        townships[place.id] = next((p for p in ancestors if p is not None and p.level == "township"), None)
    users = list(conn.execute(_USERS))
    workflow = registry.current(conn, workflow_name)
    return Snapshot(
        actor=actor,
        workflow=workflow,
        reference=load_reference(conn),
        places={p.code: p for p in places},
        townships=townships,
        users={u.id: (u.role, bool(u.is_active), u.path) for u in users},
        mediators={u.username: u.id for u in users if u.is_active and u.role in ("mediator", "supervisor")},
        now=now,
        latest=now + CLOCK_SKEW,
        earliest=now - CLOCK_SKEW,
        backdates=may_backdate(actor),
        role=actor.role.value,
        extend_triggers=frozenset(c.extend.trigger for c in workflow.spec.clocks.values() if c.extend),
    )


def draft_case(
    snap: Snapshot,
    data: intake.CaseIntake,
    registered: datetime,
    steps: Iterable[tuple[str, dict[str, Any], datetime, str]],
) -> Draft:
    """Register ``data`` at ``registered`` and fire ``steps`` (trigger, data, moment, note) in memory;
    raises the engine's errors (InvalidData, TriggerNotAllowed, PermissionDenied, GuardFailed, …)."""
    actor = snap.actor
    if data.jurisdiction_code:
        place = snap.places.get(data.jurisdiction_code)
        if place is None:
            raise InvalidData([{"field": "jurisdiction_code", "message": "所属辖区不存在"}])
        intake.check_intake_place(actor, place)
    else:
        raise InvalidData([{"field": "jurisdiction_code", "message": "请选择所属辖区"}])
    if data.workflow != snap.workflow.name:  # a snapshot checks against one workflow: load one per workflow
        raise InvalidData([{"field": "workflow", "message": "流程与导入批次不一致"}])
    township = snap.townships.get(place.id)
    case, parties, first = intake.new_case_rows(
        actor=actor, data=data, workflow=snap.workflow, reference=snap.reference, place=place,
        township=township, moment=registered, now=snap.now,
    )  # fmt: skip
    assert township is not None  # new_case_rows refuses a place outside any township
    # Equal attributes and first clocks as one shared object each (the first clocks: per registration day),
    # so that ``fold`` recognises the cases that start alike; equal event data shared, so its JSON is made once.
    case["attributes"], first["data"] = snap.share(case["attributes"]), snap.share(first["data"])
    case["clocks"] = snap.fold(EMPTY, CREATION_TRIGGER, case["state"], clock.local_date(registered), {},
                               case["attributes"])[0]  # fmt: skip
    draft = Draft(case, parties, [first], township, first["effective_at"])
    for trigger, values, moment, note in steps:
        _fire(snap, draft, trigger, values, moment, note)
    return draft


def _fire(snap: Snapshot, draft: Draft, trigger: str, data: Mapping[str, Any], moment: datetime, note: str) -> None:
    """The engine's ``_apply`` on a case held in memory (see mediation_flow.cases.engine for the same steps)."""
    case, events = draft.case, draft.events
    state = case["state"]
    move = snap.move(state, trigger)
    moment = clock.ensure_aware(moment)
    if moment > snap.latest:
        raise InvalidEffectiveTime("生效时间不能晚于当前时间")
    if moment < snap.earliest and not snap.backdates:
        raise PermissionDenied("只有司法所（督办）人员可以补录过去的时间")
    if moment < draft.last:
        raise InvalidEffectiveTime("生效时间不能早于该案上一条记录的时间", previous=draft.last.isoformat())
    cleaned = snap.clean(move, data, case["jurisdiction_path"])  # shared: copied before an effect may change it
    on = clock.local_date(moment)
    candidates = move.candidates
    if move.plain:
        dest = candidates[0].dest or state
    else:
        ctx = RuleContext(
            case=case,
            data=cleaned if move.pure else dict(cleaned),
            actor_id=snap.actor.id,
            actor_role=snap.role,
            effective_at=moment,
            effective_date=on,
            count_events=lambda name: sum(1 for e in events if e["trigger"] == name),
            last_event_data=lambda name: next(
                (dict(e["data"]) for e in reversed(events) if e["trigger"] == name), None
            ),
            workflow=snap.workflow.spec,
        )
        dest = fire(snap.workflow, state, trigger, ctx)  # the shared Machine decides, as in the engine
        if dest is None:
            raise GuardFailed("；".join(ctx.failures) or "条件不满足", reasons=ctx.failures)
        fired = next(t for t in candidates if (t.dest or state) == dest)  # as the engine picks it
        for name in fired.effects:
            EFFECTS[name](ctx)
        if not _same(ctx.data, cleaned):
            cleaned = ctx.data
        case.update(ctx.updates)
    clocks, due = snap.fold(case["clocks"] or {}, trigger, dest, on, cleaned, case["attributes"])
    version = case["version"] + 1
    case.update(state=dest, version=version, clocks=clocks, due_date=due, updated_at=snap.now)
    events.append(
        {"seq": version, "trigger": trigger, "from_state": state, "to_state": dest, "actor_id": snap.actor.id,
         "effective_at": moment, "recorded_at": snap.now, "note": (note or "").strip()[:2000], "data": cleaned}
    )  # fmt: skip
    draft.last = moment


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal keys and values of the same types (``True == 1``, but their JSON differs)."""
    return a.keys() == b.keys() and all(type(v) is type(b[k]) and v == b[k] for k, v in a.items())
