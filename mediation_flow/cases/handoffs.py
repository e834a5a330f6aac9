"""三调对接 as the people in it see it: a partner agency's inbox and the supervisor's 转出待反馈 queue.

- The agency's inbox (``agency_inbox``): the referrals to the agency not yet answered, oldest first, each with
  its deadline (签收期限 until signed for, then the 反馈 deadline); and the cases the agency referred in, with
  where they stand at the township.
- 转出待反馈 (``referred_out_queue``): every case of the supervisor's area referred out and not yet answered —
  sent, signed for, returned (the township must act), or referred to a body without users whose feedback is
  not yet recorded — whoever handles it, unassigned included, oldest referral first.

A case's direction comes from its workflow: one that names an ``agency_kind`` is a referral in; the base
workflow's referrals are out. Lists carry no party data (as every list).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, exists, func, not_, or_, select

from mediation_flow.accounts.personal_data import mask_text
from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.cases.lists import due_status
from mediation_flow.cases.queries import scope_clause, user_names
from mediation_flow.cases.queues import due_soon_until
from mediation_flow.display.labels import label
from mediation_flow.places.agencies import AgencyBook
from mediation_flow.places.jurisdictions import village_names, village_of
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.fast import dict_rows
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import CASES, EVENTS
from mediation_flow.vocabulary import Handoff
from mediation_flow.workflow.registry import REGISTRY, WorkflowRegistry

MAX_ROWS = 200
REFERRED = "referred"  # the base workflow's state of a case referred out
_PENDING_OUT = (Handoff.SENT.value, Handoff.ACKNOWLEDGED.value)


@dataclass(slots=True)
class HandoffItem:
    """One case of a handoff list: where the handoff stands and its deadline (labels ready to show)."""

    id: int
    number: str
    title: str
    state: str
    state_label: str
    direction: str  # out | in
    direction_label: str
    agency_id: int | None
    agency_name: str  # the partner agency, or the receiving body typed for a referral elsewhere
    handoff: str | None
    handoff_label: str
    village: str
    mediator_id: int | None
    mediator: str
    since: datetime  # when the case was handed over (referred out, or registered as referred in)
    reference_number: str
    deadline: date | None
    deadline_label: str
    deadline_status: str  # overdue | due_soon | on_time | ''


@dataclass
class AgencyInbox:
    agency_id: int | None
    agency_name: str
    agency_kind: str
    today: date
    incoming: list[HandoffItem] = field(default_factory=list)
    sent_in: list[HandoffItem] = field(default_factory=list)


@dataclass
class ReferredOutQueue:
    today: date
    total: int
    items: list[HandoffItem] = field(default_factory=list)
    returned: int = 0  # of ``total``: returned by the receiving body (已退回), to be taken back (收回继续调解)


def referral_in_workflows(conn: Connection, registry: WorkflowRegistry = REGISTRY) -> list[str]:
    """The workflows of cases referred in by a partner agency (those naming an ``agency_kind``)."""
    if not registry.current_versions():
        registry.sync(conn)
    names = sorted(registry.current_versions())
    return [name for name in names if registry.current(conn, name).spec.agency_kind is not None]


def _referred_at() -> Any:
    """When the case was last referred out (the latest ``refer`` event's effective time)."""
    return (
        select(func.max(EVENTS.c.effective_at))
        .where(EVENTS.c.case_id == CASES.c.id, EVENTS.c.trigger == "refer")
        .scalar_subquery()
        .label("referred_at")
    )


_COLUMNS = [
    CASES.c[name]
    for name in (
        "id", "number", "title", "state", "workflow_name", "workflow_version", "agency_id", "handoff",
        "jurisdiction_path", "mediator_id", "registered_at", "due_date", "clocks", "attributes",
    )
]  # fmt: skip


def _items(conn: Connection, actor: Actor, rows: list[Any], today: date, inbound: set[str]) -> list[HandoffItem]:
    if not rows:
        return []
    book = AgencyBook.read(conn)
    villages = village_names(conn)
    names = user_names(conn, {r["mediator_id"] for r in rows if r["mediator_id"]})
    until = due_soon_until(today, get_settings().due_soon_working_days)
    items = []
    for r in rows:
        spec = REGISTRY.get(conn, r["workflow_name"], r["workflow_version"]).spec
        direction = "in" if r["workflow_name"] in inbound else "out"
        agency = book.by_id.get(r["agency_id"]) if r["agency_id"] is not None else None
        attributes = r["attributes"] or {}
        deadline, deadline_label = _deadline(spec, r["clocks"] or {}, r["due_date"])
        items.append(
            HandoffItem(
                id=r["id"],
                number=r["number"],
                title=mask_text(r["title"]),
                state=r["state"],
                state_label=spec.states[r["state"]].label if r["state"] in spec.states else r["state"],
                direction=direction,
                direction_label=label("handoff_direction", direction),
                agency_id=r["agency_id"],
                agency_name=agency.name if agency else _receiving_body(conn, r["id"], attributes),
                handoff=r["handoff"],
                handoff_label=label("handoff", r["handoff"]),
                village=village_of(r["jurisdiction_path"], villages),
                mediator_id=r["mediator_id"],
                mediator=names.get(r["mediator_id"] or 0, ""),
                since=clock.ensure_aware(r.get("referred_at") or r["registered_at"]),
                reference_number=str(attributes.get("reference_number") or ""),
                deadline=deadline,
                deadline_label=deadline_label,
                deadline_status=due_status(deadline, today, until),
            )
        )
    return items


def _deadline(spec: Any, clocks: dict[str, Any], due: date | None) -> tuple[date | None, str]:
    """The case's nearest running deadline and the name of its clock."""
    if due is None:
        return None, ""
    for name, state in clocks.items():
        if state.get("due") == due.isoformat() and not state.get("stopped") and not state.get("paused_since"):
            return due, spec.clocks[name].label if name in spec.clocks else name
    return due, ""


def _receiving_body(conn: Connection, case_id: int, attributes: dict[str, Any]) -> str:
    """A referral elsewhere names the receiving body in its ``refer`` event; a referral in, its referring body."""
    if attributes.get("referring_body"):
        return str(attributes["referring_body"])
    data = conn.execute(
        select(EVENTS.c.data)
        .where(EVENTS.c.case_id == case_id, EVENTS.c.trigger == "refer")
        .order_by(EVENTS.c.seq.desc())
        .limit(1)
    ).scalar()
    return str((data or {}).get("receiving_body") or "")


def agency_inbox(conn: Connection, actor: Actor, *, today: date) -> AgencyInbox:
    """The signed-in partner agency's inbox (the policy's ``AGENCY_INBOX``: the three agency roles)."""
    require(actor, Permission.AGENCY_INBOX)
    book = AgencyBook.read(conn)
    agency = book.by_id.get(actor.agency_id) if actor.agency_id is not None else None
    inbox = AgencyInbox(actor.agency_id, agency.name if agency else "", agency.kind if agency else "", today)
    if agency is None:
        return inbox
    inbound = referral_in_workflows(conn)
    referred_at = _referred_at()
    mine = and_(scope_clause(actor), CASES.c.agency_id == agency.id)
    incoming = conn.execute(
        select(*_COLUMNS, referred_at)
        .where(
            mine, CASES.c.workflow_name.notin_(inbound), CASES.c.state == REFERRED, CASES.c.handoff.in_(_PENDING_OUT)
        )
        .order_by(referred_at, CASES.c.id)
        .limit(MAX_ROWS)
    )
    sent_in = conn.execute(
        select(*_COLUMNS)
        .where(mine, CASES.c.workflow_name.in_(inbound))
        .order_by(CASES.c.registered_at.desc(), CASES.c.id.desc())
        .limit(MAX_ROWS)
    )
    inbox.incoming = _items(conn, actor, dict_rows(incoming), today, set(inbound))
    inbox.sent_in = _items(conn, actor, dict_rows(sent_in), today, set(inbound))
    return inbox


def referred_out_queue(conn: Connection, actor: Actor, *, today: date) -> ReferredOutQueue:
    """转出待反馈 (the policy's ``REFERRED_OUT_QUEUE``): referred out, not yet answered, whoever owns it."""
    require(actor, Permission.REFERRED_OUT_QUEUE)
    inbound = referral_in_workflows(conn)
    feedback = exists().where(EVENTS.c.case_id == CASES.c.id, EVENTS.c.trigger == "record_feedback")
    waiting = or_(
        CASES.c.handoff.in_((*_PENDING_OUT, Handoff.RETURNED.value)),
        and_(CASES.c.handoff.is_(None), not_(feedback)),
    )
    where = and_(scope_clause(actor), CASES.c.workflow_name.notin_(inbound), CASES.c.state == REFERRED, waiting)
    is_returned = func.coalesce(func.sum(case((CASES.c.handoff == Handoff.RETURNED.value, 1), else_=0)), 0)
    total, returned = conn.execute(select(func.count(), is_returned).select_from(CASES).where(where)).one()
    referred_at = _referred_at()
    rows = conn.execute(select(*_COLUMNS, referred_at).where(where).order_by(referred_at, CASES.c.id).limit(MAX_ROWS))
    items = _items(conn, actor, dict_rows(rows), today, set(inbound))
    return ReferredOutQueue(today, int(total), items, returned=int(returned))


def _today(today: date | None) -> date:
    return today or clock.local_date(clock.utcnow())


def read_agency_inbox(engine: Engine, actor: Actor, *, today: date | None = None) -> AgencyInbox:
    with reads(engine) as conn:
        return agency_inbox(conn, actor, today=_today(today))


def read_referred_out_queue(engine: Engine, actor: Actor, *, today: date | None = None) -> ReferredOutQueue:
    with reads(engine) as conn:
        return referred_out_queue(conn, actor, today=_today(today))
