"""The case as a person may see it: one view for the API, the case page and the printouts.

Masking is decided here and only here (:func:`party_views`, by ``accounts.policy``). 最小必要 (PIPL): the case
page and the API show every party's ID number, phone and address masked to every role by default, and the
case's free text with the numbers typed into it masked too; such a view writes nothing. A role that may see
full identity (``may_see_full_identity``) asks for it explicitly — the parties' card in full on the page
(:func:`revealed_parties`), ``identity=full`` in the API (:func:`case_view` with a ``channel``) — and that view is
written to the access log (``accounts.audit``, durable before it is answered) under the channel that showed
it; any other role asking is refused (PermissionDenied). Printouts and ID copies keep their own logged channels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine

from mediation_flow.accounts.audit import record_identity_view
from mediation_flow.accounts.personal_data import (
    id_number_birth_date,
    id_number_sex,
    mask_address,
    mask_id_number,
    mask_phone,
    mask_text,
)
from mediation_flow.accounts.policy import (
    Actor,
    Permission,
    allows,
    may_open_attachment,
    may_see_full_identity,
    require,
)
from mediation_flow.cases import attachments, correction_views
from mediation_flow.cases.engine import TriggerOption
from mediation_flow.cases.offers import offers
from mediation_flow.cases.printout_forms import offered as offered_printouts
from mediation_flow.cases.queries import case_events, case_parties, case_workflow, get_case_row, user_names
from mediation_flow.cases.referral_facts import ReferralFacts, referral_facts
from mediation_flow.cases.risk import hint_labels
from mediation_flow.cases.timeline import timeline
from mediation_flow.display.formats import cn_date
from mediation_flow.display.labels import label
from mediation_flow.places.agencies import Agency
from mediation_flow.places.reference import reference_book
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.reads import reads
from mediation_flow.vocabulary import Gender, PartyKind, PartyRole
from mediation_flow.workflow.deadlines import ClockView, clock_views
from mediation_flow.workflow.fields import choice_options
from mediation_flow.workflow.registry import CompiledWorkflow


@dataclass
class PartyView:
    """A party as shown: ID number and phone in full only when ``full`` (the policy said so)."""

    id: int
    case_id: int
    role: str
    kind: str
    name: str
    id_number: str | None
    phone: str | None
    address: str | None
    role_label: str
    kind_label: str
    sex_birth: str  # 男，1990年1月1日生 — from the ID number, for the agreement's header
    full: bool
    gender: str | None = None  # vocabulary.Gender; gender_label its 男 / 女
    gender_label: str = ""
    ethnicity: str | None = None
    birth: str = ""  # 出生日期 as shown: 1990年1月1日 in full, 1990年 masked
    age: int | None = None


def _birth(number: str | None, kind: str) -> str:
    if not number or kind != "person" or len(number) != 18:
        return ""
    try:
        return f"{id_number_sex(number)}，{cn_date(id_number_birth_date(number))}生"
    except ValueError:
        return ""


def party_views(rows: list[dict[str, Any]], *, full: bool, births: bool = False) -> list[PartyView]:
    """The one place parties are masked: ``full`` False stars out the middle of every ID number and phone.
    ``births``: fill ``sex_birth`` (the printouts' party lines; parsing the number costs time elsewhere) — only
    when ``full``: sex and birth date decoded from a masked number would leave a handful of candidates."""
    views = []
    for p in rows:
        role, kind, number, phone = p["role"], p["kind"], p["id_number"], p["phone"]
        views.append(
            PartyView(
                id=p["id"],
                case_id=p["case_id"],
                role=role,
                kind=kind,
                name=p["name"],
                id_number=number if full else (mask_id_number(number) or None),
                phone=phone if full else (mask_phone(phone) or None),
                address=p["address"] if full else (mask_address(p["address"]) or None),
                role_label=PartyRole(role).label if role in PartyRole._value2member_map_ else role,
                kind_label=PartyKind(kind).label if kind in PartyKind._value2member_map_ else kind,
                sex_birth=_birth(number, kind) if births and full else "",  # derived from the ID: full only
                full=full,
                **_details(p, full=full),
            )
        )
    return views


def _details(row: dict[str, Any], *, full: bool) -> dict[str, Any]:
    """性别, 民族, 出生日期 and 年龄 as shown (registered since migration 0015): a masked birth date keeps its year."""
    gender, born = row.get("gender"), row.get("birth_date")
    return {
        "gender": gender,
        "gender_label": Gender(gender).label if isinstance(gender, str) and gender in Gender._value2member_map_ else "",
        "ethnicity": row.get("ethnicity"),
        "birth": (cn_date(born) if full else f"{born.year}年") if born else "",
        "age": row.get("age"),
    }


def read_parties(conn: Connection, actor: Actor, case_id: int, *, shown: bool, births: bool = False) -> list[PartyView]:
    """The case's parties as ``actor`` may see them; ``shown`` False masks them for everyone."""
    full = shown and may_see_full_identity(actor)
    return party_views(case_parties(conn, case_id), full=full, births=births)


def revealed_parties(engine: Engine, actor: Actor, case_id: int, *, channel: str = "page") -> list[PartyView]:
    """The parties' card in full, asked for by the user («查看完整信息»): CaseNotFound outside their area,
    PermissionDenied for a role that sees identities masked; the view is in the access log (durable, at most
    once per user, case and channel every ``audit.DEDUP``) before this returns."""
    with reads(engine) as conn:
        get_case_row(conn, actor, case_id)  # a case outside the user's area stays a 404, before the role's 403
        require(actor, Permission.SEE_FULL_IDENTITY)
        parties = read_parties(conn, actor, case_id, shown=True)
    log_full_views(engine, actor, case_id, parties, channel)
    return parties


def free_text_as_shown(
    row: dict[str, Any], events: list[dict[str, Any]], *, full: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The case's free text (title, summary, event notes and texts) as shown: for a role that sees identities
    masked, an ID or phone number typed into it is masked too (``mask_text``)."""
    if full:
        return row, events
    place = row.get("incident_place")
    row = {**row, "title": mask_text(row["title"]), "summary": mask_text(row["summary"])}
    row["incident_place"] = mask_text(place) if place else place
    return row, [
        {
            **e,
            "note": mask_text(e["note"] or ""),
            "data": _masked_data(e["data"] or {}),
        }
        for e in events
    ]


def _masked_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """An event's data for a role that sees identities masked: ID and phone numbers in its text starred out, and
    the birth dates a corrected ID number brought (更正) kept to their year, as the party's card shows them."""
    masked = {k: mask_text(v) if isinstance(v, str) else v for k, v in data.items()}
    derived = masked.get("derived")
    if isinstance(derived, dict) and derived.get("birth_date"):
        years = [str(v)[:4] if v else v for v in derived["birth_date"]]
        masked["derived"] = {**derived, "birth_date": years}
    return masked


def log_full_views(engine: Engine, actor: Actor, case_id: int, parties: list[PartyView], channel: str) -> None:
    """Write the access-log row for parties shown in full (none shown in full: nothing to log)."""
    shown = [{"id_number": p.id_number, "phone": p.phone} for p in parties if p.full]
    if shown:
        record_identity_view(engine, actor=actor, case_id=case_id, parties=shown, channel=channel)


@dataclass(frozen=True)
class HandoffView:
    """三调对接 on the case: the partner agency, the direction (转出 / 移入), where the handoff stands, and the
    referring body's reference number (a referral in)."""

    direction: str
    direction_label: str
    agency_code: str
    agency_name: str
    handoff: str
    handoff_label: str
    reference_number: str
    referring_body: str


def handoff_view(row: Mapping[str, Any], workflow: CompiledWorkflow, agency: Agency | None) -> HandoffView | None:
    """The case's handoff, or None when the case has none now (never handed over, or taken back)."""
    if agency is None or not row.get("handoff"):
        return None
    direction = "in" if workflow.spec.agency_kind is not None else "out"
    attributes = row.get("attributes") or {}
    return HandoffView(
        direction=direction,
        direction_label=label("handoff_direction", direction),
        agency_code=agency.code,
        agency_name=agency.name,
        handoff=row["handoff"],
        handoff_label=label("handoff", row["handoff"]),
        reference_number=str(attributes.get("reference_number") or ""),
        referring_body=str(attributes.get("referring_body") or ""),
    )


@dataclass
class CaseView:
    """The case, its parties, clocks, events and the triggers this user may fire."""

    case: dict[str, Any]
    workflow: CompiledWorkflow
    parties: list[PartyView]
    events: list[dict[str, Any]]
    clocks: list[ClockView]
    triggers: list[TriggerOption]
    reference: dict[str, dict[str, str]]
    handoff: HandoffView | None = None
    all_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # every label ever given (retired items too)
    refused: dict[str, str] = field(default_factory=dict)  # steps refused now whatever is typed, and why
    place: str = ""  # the name of the case's place (kept with the reference book)

    def as_api(self) -> dict[str, Any]:
        """The shape of ``CaseRead`` (cases.schemas) in the API."""
        row, reference = self.case, self.reference
        amount = row["amount_fen"]
        return {
            **row,
            "handoff_view": vars(self.handoff) if self.handoff else None,
            "amount": f"{amount // 100}.{amount % 100:02d}" if amount is not None else None,
            "parties": [vars(p) for p in self.parties],
            "events": self.events,
            "clocks": [vars(c) for c in self.clocks],
            "available_triggers": [
                {
                    "trigger": o.trigger,
                    "label": o.label,
                    "dest": o.dest,
                    "group": o.group,
                    "fields": [
                        {
                            "name": f.name,
                            "label": f.label,
                            "type": f.type,
                            "required": f.required,
                            "required_when": f.required_when or None,
                            "choices": choice_options(f, reference) if f.choices else None,
                        }
                        for f in o.fields
                    ],
                }
                for o in self.triggers
            ],
        }


def _read(conn: Connection, actor: Actor, case_id: int, *, shown: bool, today: date) -> CaseView:
    row = get_case_row(conn, actor, case_id)
    if shown:  # after the case was found within the user's area: a hidden case stays a 404
        require(actor, Permission.SEE_FULL_IDENTITY)
    workflow = case_workflow(conn, row)
    due_soon = get_settings().due_soon_working_days
    row, events = free_text_as_shown(row, case_events(conn, case_id), full=shown)
    book = reference_book(conn)  # one kept book: what is offered, the labels, the agencies
    agency = book.agencies.by_id.get(row["agency_id"]) if row.get("agency_id") is not None else None
    offered = offers(workflow, row, actor, events)
    return CaseView(
        case=row,
        workflow=workflow,
        parties=read_parties(conn, actor, case_id, shown=shown),
        events=events,
        clocks=clock_views(workflow.spec, row["clocks"] or {}, today=today, due_soon_days=due_soon),
        triggers=offered.options,
        reference=book.at(row["jurisdiction_path"]),
        handoff=handoff_view(row, workflow, agency),
        all_labels=book.labels,
        refused=offered.refused,
        place=book.place_name(conn, row["jurisdiction_id"]),
    )


def case_view(engine: Engine, actor: Actor, case_id: int, *, channel: str | None = None) -> CaseView:
    """The case as ``actor`` may see it (CaseNotFound outside their subtree): parties and free text masked for
    everyone, nothing logged. ``channel`` names where a view asked for in full is shown ('api'): the parties
    and the free text as typed, for a role that may (PermissionDenied otherwise), in the access log before
    this returns."""
    with reads(engine) as conn:
        view = _read(conn, actor, case_id, shown=channel is not None, today=clock.local_date(clock.utcnow()))
    if channel is not None:
        log_full_views(engine, actor, case_id, view.parties, channel)
    return view


@dataclass
class AttachmentView:
    item: attachments.Attachment
    may_open: bool


def nearest_deadline(clocks: list[ClockView]) -> ClockView | None:
    """The running clock due first (a handoff's deadline: 签收期限 while unsigned, then the next one)."""
    running = [c for c in clocks if c.due is not None and c.status in ("on_time", "due_soon", "overdue")]
    return min(running, key=lambda c: c.due or date.max, default=None)


@dataclass
class CasePage(CaseView):
    """What the case page shows besides the case view: names, labels, the timeline, the attachments."""

    state_label: str = ""
    state_final: bool = False
    mediator: str = ""
    creator: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[AttachmentView] = field(default_factory=list)
    attachment_kinds: Mapping[str, str] = field(default_factory=dict)
    may_upload: bool = False
    printouts: list[tuple[str, str]] = field(default_factory=list)  # (slug, name) the case has: printout_forms
    referral: ReferralFacts | None = None  # 来文单位, 来文编号 … of a case referred in
    handoff_label: str = ""  # 已移送未签收 / 已签收 / 已反馈 / 已退回 while a partner agency has the case
    handoff_deadline: ClockView | None = None  # and the deadline it is working to
    agency_handler: str = ""  # 承办人 the partner agency named when it signed for a referral out
    may_reveal: bool = False  # the user may ask for the parties' card in full (查看完整信息)


def latest_data(events: list[dict[str, Any]], trigger: str) -> dict[str, Any]:
    """The data of the case's latest ``trigger`` event ({} if none)."""
    found = next((e for e in reversed(events) if e["trigger"] == trigger), None)
    return dict(found["data"] or {}) if found else {}


def letter_kind(events: list[dict[str, Any]]) -> str:
    """移送函, 转办单 (to a 信访 office) or '' (never referred out), by the case's latest ``refer``."""
    if not any(e["trigger"] == "refer" for e in events):
        return ""
    return "转办单" if latest_data(events, "refer").get("target") == "petition" else "移送函"


def case_page(engine: Engine, actor: Actor, case_id: int) -> CasePage:
    """Everything the case page shows, read in one connection: parties and free text masked for everyone, so
    it writes nothing (the card in full: :func:`revealed_parties`)."""
    with reads(engine) as conn:
        base = _read(conn, actor, case_id, shown=False, today=clock.local_date(clock.utcnow()))
        row = base.case
        ids = {i for i in (row["mediator_id"], row["created_by"]) if i}
        ids |= {int(v) for e in base.events for k, v in (e["data"] or {}).items() if k == "mediator_id" and v}
        names = user_names(conn, ids)  # the case's people and everyone assigned in its history, at once
        places = correction_views.place_names(conn, base.events)
    reference, state = base.all_labels, base.workflow.spec.states[row["state"]]
    files = attachments.list_for_case(get_settings().data_dir, case_id)
    return CasePage(
        **vars(base),
        state_label=state.label,
        state_final=state.final,
        mediator=names.get(row["mediator_id"] or 0, ""),
        creator=names.get(row["created_by"] or 0, ""),
        labels={
            "category": reference.get("category", {}).get(row["category"], row["category"]),
            "source": reference.get("source", {}).get(row["source"], row["source"]),
            "risk": reference.get("risk_grade", {}).get(row["risk_grade"], row["risk_grade"]),
            "venue": reference.get("venue", {}).get(row["venue"] or "", row["venue"] or ""),
            "risk_hints": "、".join(hint_labels().get(h, h) for h in row.get("risk_hints") or []),
        },
        timeline=timeline(base.workflow, base.events, base.all_labels, names, places=places, parties=base.parties),
        attachments=[AttachmentView(a, may_open_attachment(actor, a.kind)) for a in files],
        attachment_kinds=attachments.KINDS,
        may_upload=allows(actor, Permission.UPLOAD_ATTACHMENT),
        printouts=offered_printouts(base.events, letter_kind(base.events)),
        handoff_label=label("handoff", row.get("handoff")),
        handoff_deadline=nearest_deadline(base.clocks) if row.get("handoff") else None,
        agency_handler=latest_data(base.events, "acknowledge").get("handler", "") if row.get("handoff") else "",
        referral=referral_facts(base.workflow.spec, row["attributes"], reference),
        may_reveal=may_see_full_identity(actor),
    )
