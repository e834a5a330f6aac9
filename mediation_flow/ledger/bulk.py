"""The bulk path of the ledger import and the demo: each planned case is registered (the intake's own
checks and rows) and driven through its back-dated history in memory by the same ``step`` the engine
calls, then ``ledger.write`` writes many cases at once. Only the writes are batched: the decisions are
the engine's. What the steps need from the database (reference data, places, users, the workflow) is
read once, inside the import's transaction; nothing is asked per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import any_actor
from mediation_flow.cases import intake
from mediation_flow.cases.events import HeldHistory
from mediation_flow.cases.people import RepeatCounter
from mediation_flow.cases.step import Assignee, Lookups, Moment, Rules, step
from mediation_flow.errors import InvalidData
from mediation_flow.places.agencies import AgencyBook
from mediation_flow.places.jurisdictions import Place
from mediation_flow.places.reference import ReferenceBook
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.tables import USERS
from mediation_flow.workflow.registry import WorkflowRegistry

_PLACES = select(
    JUR.c.id, JUR.c.code, JUR.c.name, JUR.c.short_name, JUR.c.level, JUR.c.path, JUR.c.parent_id, JUR.c.active
)
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


@dataclass
class Snapshot:
    """What the steps read from the database, once per import (and workflow), inside its transaction."""

    actor: Actor
    lookups: Lookups
    reference: dict[str, dict[str, str]]
    places: dict[str, Place]
    townships: dict[int, Place | None]
    mediators: dict[str, int]  # active mediators and supervisors by username
    now: datetime
    repeats: RepeatCounter | None = None  # the parties' earlier disputes (关联纠纷), as registration counts them
    book: ReferenceBook | None = None  # what each place is offered (a township's own venues there only)
    _lookups_at: dict[str, Lookups] = field(default_factory=dict, init=False, repr=False)

    def reference_at(self, path: str) -> dict[str, dict[str, str]]:
        """The reference data offered at ``path`` (every item's without a book)."""
        return self.book.at(path) if self.book is not None else self.reference

    def lookups_at(self, path: str) -> Lookups:
        """``lookups`` with the reference data offered at ``path``: a step checks a case's venue against its own
        township's list, as the engine does."""
        found = self._lookups_at.get(path)
        if found is None:
            found = self._lookups_at[path] = replace(self.lookups, reference=self.reference_at(path))
        return found

    def written(self) -> None:
        """The drafts so far are in the database: repeat counting reads them there, not from memory."""
        if self.repeats is not None:
            self.repeats.held.clear()

    def township_of(self, code: str | None) -> Place | None:
        place = self.places.get(code or "")
        return self.townships.get(place.id) if place else None


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
    assignees: dict[int, Assignee] = {u.id: (u.role, bool(u.is_active), u.path) for u in users}
    book = ReferenceBook(conn)
    reference = book.at(None)
    agencies = AgencyBook.read(conn)
    lookups = Lookups(
        rules=Rules(registry.current(conn, workflow_name)),
        reference=reference,
        assignee=assignees.get,
        agency=agencies.get,
    )
    return Snapshot(
        actor=actor,
        lookups=lookups,
        reference=reference,
        places={p.code: p for p in places},
        townships=townships,
        mediators={u.username: u.id for u in users if u.is_active and u.role in ("mediator", "supervisor")},
        now=now,
        repeats=RepeatCounter(conn),
        book=book,
    )


IMPORTER_STEPS = frozenset({"assign", "escalate", "add_note"})  # the importer's own acts, not the mediator's


def draft_case(
    snap: Snapshot,
    data: intake.CaseIntake,
    registered: datetime,
    steps: Iterable[tuple[str, dict[str, Any], datetime, str]],
    acting: Actor | None = None,
) -> Draft:
    """Register ``data`` at ``registered`` and fire ``steps`` (trigger, data, moment, note) in memory;
    raises the engine's errors (InvalidData, TriggerNotAllowed, PermissionDenied, GuardFailed, …).
    ``acting``: the mediator the ledger names, who acted in the mediation's steps; the importer records them
    (代录: each event keeps both), and registers, assigns and escalates as their own acts."""
    draft = register(snap, data, registered)
    for trigger, values, moment, note in steps:
        by = acting if acting is not None and trigger not in IMPORTER_STEPS else None
        advance(snap, draft, trigger, values, moment, note, actor=by, recorder=snap.actor if by else None)
    return draft


def register(snap: Snapshot, data: intake.CaseIntake, registered: datetime, actor: Actor | None = None) -> Draft:
    """``register_case`` in memory, by ``actor`` (default: the importer): the same checks and the same rows
    (number, seq and ids still to come)."""
    actor = actor or snap.actor
    moment = intake.registration_time(actor, registered, snap.now)
    if not data.jurisdiction_code:
        raise InvalidData([{"field": "jurisdiction_code", "message": "请选择所属辖区"}])
    place = snap.places.get(data.jurisdiction_code)
    if place is None:
        raise InvalidData([{"field": "jurisdiction_code", "message": "所属辖区不存在"}])
    intake.check_intake_place(actor, place)
    workflow = snap.lookups.rules.workflow
    if data.workflow != workflow.name:  # a snapshot holds one workflow: load one per workflow
        raise InvalidData([{"field": "workflow", "message": "流程与导入批次不一致"}])
    township = snap.townships.get(place.id)
    repeats = 0
    if township is not None and snap.repeats is not None:
        parties_in = [p.model_dump() for p in data.parties]
        repeats = snap.repeats.count(parties_in, place=place, township=township, moment=moment)
    case, parties, first = intake.new_case_rows(
        actor=actor, data=data, workflow=workflow, reference=snap.reference_at(place.path), place=place,
        township=township, moment=moment, now=snap.now, agency=snap.lookups.agency, repeats=repeats,
    )  # fmt: skip
    assert township is not None  # new_case_rows refuses a place outside any township
    return Draft(case, parties, [first], township)


def advance(
    snap: Snapshot,
    draft: Draft,
    trigger: str,
    data: Mapping[str, Any] | None,
    moment: datetime | None,
    note: str,
    actor: Actor | None = None,
    recorder: Actor | None = None,
) -> None:
    """``apply_trigger`` on a case held in memory, by ``actor`` (default: the importer; ``recorder``: who typed it
    in for them): the same ``step``; its updates and event are kept for the write. A refused step raises and
    leaves the draft as it was."""
    updates, event = step(
        draft.case, trigger, data, Moment(moment, snap.now), actor or snap.actor,
        snap.lookups_at(draft.case["jurisdiction_path"]),
        HeldHistory(draft.events), note=note, recorder=recorder,
    )  # fmt: skip
    draft.case.update(updates)
    draft.events.append(event)


def snapshot_for(
    snapshots: dict[str, Snapshot], conn: Any, actor: Actor, registry: WorkflowRegistry, now: datetime, workflow: str
) -> Snapshot:
    """The snapshot of ``workflow`` (a referred-in case's path) in ``snapshots``, read once; one repeat count
    across the workflows, as one-by-one registration counts them."""
    found = snapshots.get(workflow)
    if found is None:
        found = load_snapshot(conn, actor, registry, now, workflow)
        if snapshots:
            found = replace(found, repeats=next(iter(snapshots.values())).repeats)
        snapshots[workflow] = found
    return found


def acting(actors: dict[int, Actor | None], conn: Any, user_id: int | None) -> Actor | None:
    """The mediator a row names, as the workflow judges them (read once per import)."""
    if user_id is None:
        return None
    if user_id not in actors:
        actors[user_id] = any_actor(conn, user_id)
    return actors[user_id]
