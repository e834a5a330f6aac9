"""The inline form of a trigger on the case page: its fields, their options, what was typed and what was
wrong with it. The options come from the reference data and, for a user field, from the people the policy
lets handle the case."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from mediation_flow.accounts.policy import Actor, Permission, allows, may_backdate, require, roles_with
from mediation_flow.cases.engine import TriggerOption
from mediation_flow.cases.queries import assignable_users
from mediation_flow.cases.timeline import state_label
from mediation_flow.cases.views import CaseView
from mediation_flow.display.formats import cn_datetime
from mediation_flow.display.labels import label
from mediation_flow.errors import TriggerNotAllowed
from mediation_flow.places.agencies import CHOICE_KINDS, agencies_serving
from mediation_flow.places.jurisdictions import get_by_id, places_within
from mediation_flow.places.reference import load_reference
from mediation_flow.store.reads import reads
from mediation_flow.workflow.correction_rules import CORRECT
from mediation_flow.workflow.fields import choice_options, required_when_text
from mediation_flow.workflow.schema import CREATION_TRIGGER, FieldSpec


@dataclass
class FieldView:
    """One input of a trigger form: its spec, its options, what was typed and what was wrong with it."""

    spec: FieldSpec
    options: dict[str, str] = field(default_factory=dict)
    value: Any = None
    error: str = ""
    required_when: str = ""  # when it must be filled, if only sometimes (协议形式为“书面协议（调解协议书）”)
    # when the form shows it (shown_when), each condition one this form can meet: {other field: value it offers}
    shown_when: dict[str, str] = field(default_factory=dict)


def with_conditions(views: list[FieldView]) -> list[FieldView]:
    """``views`` with each field's ``shown_when`` kept where the named field of the form offers the value; a field
    whose condition it cannot meet here (no such option for this township) has none, and always shows."""
    offered = {v.spec.name: v.options for v in views}
    for view in views:
        conditions = view.spec.shown_when
        meetable = all(value in offered.get(name, {}) for name, value in conditions.items())
        view.shown_when = dict(conditions) if meetable else {}
    return views


@dataclass
class TriggerForm:
    trigger: str
    label: str
    dest_label: str
    fields: list[FieldView]
    note: str = ""
    errors: list[str] = field(default_factory=list)
    # 补录 / 代录 (a supervisor or a clerk entering the paper ledger): when it happened, and who acted
    backdate: bool = False
    effective_at: str = ""
    acting: dict[str, str] | None = None  # who the step may be recorded for (None: the user records only their own)
    acting_self: bool = True  # "本人办理" is a choice (not for a clerk, who handles no case)
    acted_by: str = ""
    record_errors: dict[str, str] = field(default_factory=dict)


def trigger_form(
    engine: Engine,
    actor: Actor,
    view: CaseView,
    trigger: str,
    *,
    values: dict[str, Any] | None = None,
    errors: list[dict[str, str]] | None = None,
    note: str = "",
) -> TriggerForm:
    """The form of ``trigger`` for the case in ``view``; TriggerNotAllowed if the user may not fire it now."""
    option: TriggerOption | None = next((o for o in view.triggers if o.trigger == trigger), None)
    if option is None and trigger in view.refused:  # refused now whatever is typed: say why
        raise TriggerNotAllowed(view.refused[trigger], reasons=[view.refused[trigger]])
    if option is None:
        current = state_label(view.workflow, view.case["state"])
        raise TriggerNotAllowed(f"当前状态（{current}）不能执行该操作")
    by_field = {e["field"]: e["message"] for e in errors or []}
    values = values or {}
    views = []
    with reads(engine) as conn:
        reference = load_reference(conn, view.case["jurisdiction_path"])
        serving = {a.code for a in agencies_serving(conn, view.case["jurisdiction_path"])}
        for spec in option.fields:
            if spec.type == "user":
                users = assignable_users(conn, actor, view.case["jurisdiction_path"])
                options = {str(u["id"]): u["display_name"] for u in users}
            elif trigger == CORRECT and spec.name in CORRECTION_CHOICES:
                options = CORRECTION_CHOICES[spec.name](view)
            elif spec.choices in CHOICE_KINDS:  # the partner agencies serving the case's area (the rules check it)
                options = {code: name for code, name in choice_options(spec, reference).items() if code in serving}
            else:
                options = choice_options(spec, reference) if spec.choices else {}
            when = required_when_text(spec, option.fields, reference)
            views.append(FieldView(spec, options, values.get(spec.name), by_field.pop(spec.name, ""), when))
        acting = None
        if allows(actor, Permission.RECORD_FOR_OTHERS) and trigger != CORRECT:  # a correction is the corrector's own
            users = assignable_users(conn, actor, view.case["jurisdiction_path"])
            acting = {str(u["id"]): u["display_name"] for u in users if u["id"] != actor.id}
    with_conditions(views)
    dest = state_label(view.workflow, option.dest) if option.dest else ""
    record_errors: dict[str, str] = {k: by_field.pop(k) for k in ("effective_at", "acted_by") if k in by_field}
    return TriggerForm(
        trigger,
        option.label,
        dest,
        views,
        note,
        [m for m in by_field.values()],
        backdate=may_backdate(actor) and trigger != CORRECT,
        effective_at=str(values.get("effective_at") or ""),
        acting=acting,
        acting_self=actor.role in roles_with(Permission.HANDLE_CASES),
        acted_by=str(values.get("acted_by") or ""),
        record_errors=record_errors,
    )


def _party_choices(view: CaseView) -> dict[str, str]:
    """更正: which party (by position, as the correction names it), by role and name."""
    return {str(i): f"{label('party_roles', p.role)} {p.name}" for i, p in enumerate(view.parties, start=1)}


def _step_choices(view: CaseView) -> dict[str, str]:
    """更正: which step (by seq), by label and time, newest first; corrections themselves are not offered."""
    names = {t.trigger: t.label for t in reversed(view.workflow.spec.transitions)} | {CREATION_TRIGGER: "登记"}
    return {
        str(e["seq"]): f"{names.get(e['trigger'], e['trigger'])}（{cn_datetime(e['effective_at'])}）"
        for e in reversed(view.events)
        if e["trigger"] != CORRECT
    }


CORRECTION_CHOICES = {"party": _party_choices, "event": _step_choices}


@dataclass
class RegistrationOptions:
    """What the registration form offers the user: reference data, their own place, and the villages and
    grids of their subtree to register in (none for a grid worker: their grid it is)."""

    reference: dict[str, dict[str, str]]
    place: str
    places: list[tuple[str, str, str]]  # (code, name, level) in tree order
    # the same places by township, when they are of more than one (a county's user: 青龙镇's villages, 白马镇's, …)
    by_township: list[tuple[str, list[tuple[str, str, str]]]] = field(default_factory=list)


def registration_options(engine: Engine, actor: Actor) -> RegistrationOptions:
    require(actor, Permission.REGISTER)
    with reads(engine) as conn:
        reference = load_reference(conn, actor.scope_path)
        place = get_by_id(conn, actor.jurisdiction_id) if actor.jurisdiction_id else None
        offered = places_within(conn, actor.scope_path, ("village", "grid"), active_only=True)
        townships = {t.id: t.name for t in places_within(conn, actor.scope_path, ("township",))}
    places = [(p.code, p.name, p.level) for p in offered]
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for p, row in zip(offered, places, strict=True):
        township = next((townships[int(i)] for i in p.path.strip("/").split("/") if int(i) in townships), "")
        groups.setdefault(township, []).append(row)
    return RegistrationOptions(
        reference=reference,
        place=place.name if place else "",
        places=places if place is None or place.level != "grid" else [],
        by_township=list(groups.items()) if len(groups) > 1 else [],
    )
