"""The inline form of a trigger on the case page: its fields, their options, what was typed and what was
wrong with it. The options come from the reference data and, for a user field, from the people the policy
lets handle the case."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.cases.engine import TriggerOption
from mediation_flow.cases.queries import assignable_users
from mediation_flow.cases.views import CaseView, state_label
from mediation_flow.errors import TriggerNotAllowed
from mediation_flow.places.jurisdictions import get_by_id, places_within
from mediation_flow.places.reference import load_reference
from mediation_flow.workflow.fields import choice_options
from mediation_flow.workflow.schema import FieldSpec


@dataclass
class FieldView:
    """One input of a trigger form: its spec, its options, what was typed and what was wrong with it."""

    spec: FieldSpec
    options: dict[str, str] = field(default_factory=dict)
    value: Any = None
    error: str = ""


@dataclass
class TriggerForm:
    trigger: str
    label: str
    dest_label: str
    fields: list[FieldView]
    note: str = ""
    errors: list[str] = field(default_factory=list)


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
    if option is None:
        current = state_label(view.workflow, view.case["state"])
        raise TriggerNotAllowed(f"当前状态（{current}）不能执行该操作")
    by_field = {e["field"]: e["message"] for e in errors or []}
    values = values or {}
    views = []
    with engine.connect() as conn:
        reference = load_reference(conn)
        for spec in option.fields:
            if spec.type == "user":
                users = assignable_users(conn, actor, view.case["jurisdiction_path"])
                options = {str(u["id"]): u["display_name"] for u in users}
            else:
                options = choice_options(spec, reference) if spec.choices else {}
            views.append(FieldView(spec, options, values.get(spec.name), by_field.pop(spec.name, "")))
    dest = state_label(view.workflow, option.dest) if option.dest else ""
    return TriggerForm(trigger, option.label, dest, views, note, [m for m in by_field.values()])


@dataclass
class RegistrationOptions:
    """What the registration form offers the user: reference data, their own place, and the villages and
    grids of their subtree to register in (none for a grid worker: their grid it is)."""

    reference: dict[str, dict[str, str]]
    place: str
    places: list[tuple[str, str, str]]


def registration_options(engine: Engine, actor: Actor) -> RegistrationOptions:
    require(actor, Permission.REGISTER)
    with engine.connect() as conn:
        reference = load_reference(conn)
        place = get_by_id(conn, actor.jurisdiction_id) if actor.jurisdiction_id else None
        places = [(p.code, p.name, p.level) for p in places_within(conn, actor.scope_path, ("village", "grid"))]
    return RegistrationOptions(
        reference=reference,
        place=place.name if place else "",
        places=places if place is None or place.level != "grid" else [],
    )
