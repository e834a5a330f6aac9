"""Everything the case page shows, read in one connection and shaped for the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from mediation_flow.accounts.personal_data import mask_id_number, mask_phone
from mediation_flow.accounts.policy import Actor, may_see_full_identity
from mediation_flow.cases.engine import TriggerOption, available_triggers
from mediation_flow.cases.queries import (
    assignable_users,
    case_events,
    case_parties,
    case_workflow,
    get_case_row,
    user_names,
)
from mediation_flow.display.formats import cn_date, money
from mediation_flow.display.labels import label
from mediation_flow.errors import TriggerNotAllowed
from mediation_flow.places.reference import load_reference
from mediation_flow.store.models import Jurisdiction
from mediation_flow.vocabulary import PartyKind, PartyRole
from mediation_flow.workflow.deadlines import clock_views
from mediation_flow.workflow.fields import choice_options
from mediation_flow.workflow.registry import CompiledWorkflow
from mediation_flow.workflow.schema import CREATION_TRIGGER, FieldSpec

JUR = Jurisdiction.__table__


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


def trigger_label(workflow: CompiledWorkflow, trigger: str) -> str:
    if trigger == CREATION_TRIGGER:
        return "登记"
    return next((t.label for t in workflow.spec.transitions if t.trigger == trigger), trigger)


def state_label(workflow: CompiledWorkflow, state: str | None) -> str:
    if state is None:
        return ""
    spec = workflow.spec.states.get(state)
    return spec.label if spec else state


def _field_specs(workflow: CompiledWorkflow) -> dict[str, dict[str, FieldSpec]]:
    specs: dict[str, dict[str, FieldSpec]] = {}
    for t in workflow.spec.transitions:
        specs.setdefault(t.trigger, {}).update({f.name: f for f in t.fields})
    return specs


def _show(spec: FieldSpec | None, value: Any, reference: dict[str, dict[str, str]], names: dict[int, str]) -> str:
    if spec is None:
        return str(value)
    if spec.type == "bool":
        return "是" if value else "否"
    if spec.type in ("choice", "multichoice"):
        options = choice_options(spec, reference)
        values = value if isinstance(value, list) else [value]
        return "、".join(options.get(str(v), str(v)) for v in values)
    if spec.type == "user":
        return names.get(int(value), f"用户{value}") if str(value).isdigit() else str(value)
    if spec.type == "date":
        return cn_date(str(value))
    if spec.type == "money":
        try:
            return money(round(float(value) * 100))
        except ValueError:
            return str(value)
    return str(value)


def timeline(
    conn: Connection, workflow: CompiledWorkflow, case_id: int, reference: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    events = case_events(conn, case_id)
    specs = _field_specs(workflow)
    user_ids = {int(v) for e in events for k, v in (e["data"] or {}).items() if k == "mediator_id" and v}
    names = user_names(conn, user_ids)
    shown = []
    for event in reversed(events):
        data = event["data"] or {}
        if event["trigger"] == CREATION_TRIGGER:
            kinds = {"source": reference.get("source", {}), "risk_grade": reference.get("risk_grade", {})}
            items = [
                (label("fields", k), label("levels", v) if k == "level" else kinds.get(k, {}).get(v, v))
                for k, v in data.items()
            ]
        else:
            fields = specs.get(event["trigger"], {})
            items = [
                (fields[k].label if k in fields else k, _show(fields.get(k), v, reference, names))
                for k, v in data.items()
                if v not in (None, "", [])
            ]
        shown.append(
            {
                **event,
                "label": trigger_label(workflow, event["trigger"]),
                "from_label": state_label(workflow, event["from_state"]),
                "to_label": state_label(workflow, event["to_state"]),
                "details": items,
            }
        )
    return shown


def _parties(conn: Connection, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    full = may_see_full_identity(actor)
    parties = case_parties(conn, case_id)
    for p in parties:
        p["role_label"] = PartyRole(p["role"]).label if p["role"] in PartyRole._value2member_map_ else p["role"]
        p["kind_label"] = PartyKind(p["kind"]).label if p["kind"] in PartyKind._value2member_map_ else p["kind"]
        if not full:
            p["id_number"] = mask_id_number(p["id_number"]) or None
            p["phone"] = mask_phone(p["phone"]) or None
    return parties


def case_page_data(conn: Connection, actor: Actor, case_id: int, *, today: date, due_soon: int) -> dict[str, Any]:
    """The case, its parties, clocks, timeline and the triggers this user may fire — or CaseNotFound."""
    row = get_case_row(conn, actor, case_id)
    workflow = case_workflow(conn, row)
    reference = load_reference(conn)
    names = user_names(conn, {i for i in (row["mediator_id"], row["created_by"]) if i})
    place = conn.execute(select(JUR.c.name).where(JUR.c.id == row["jurisdiction_id"])).scalar()
    state = workflow.spec.states[row["state"]]
    return {
        "case": row,
        "workflow": workflow,
        "state_label": state.label,
        "state_final": state.final,
        "place": place or "",
        "mediator": names.get(row["mediator_id"] or 0, ""),
        "creator": names.get(row["created_by"] or 0, ""),
        "labels": {
            "category": reference.get("category", {}).get(row["category"], row["category"]),
            "source": reference.get("source", {}).get(row["source"], row["source"]),
            "risk": reference.get("risk_grade", {}).get(row["risk_grade"], row["risk_grade"]),
            "venue": reference.get("venue", {}).get(row["venue"] or "", row["venue"] or ""),
        },
        "parties": _parties(conn, actor, case_id),
        "clocks": clock_views(workflow.spec, row["clocks"] or {}, today=today, due_soon_days=due_soon),
        "events": timeline(conn, workflow, case_id, reference),
        "triggers": available_triggers(workflow, row["state"], actor),
    }


def trigger_form(
    conn: Connection,
    actor: Actor,
    data: dict[str, Any],
    trigger: str,
    *,
    values: dict[str, Any] | None = None,
    errors: list[dict[str, str]] | None = None,
    note: str = "",
) -> TriggerForm:
    """The inline form of ``trigger`` for the case in ``data``; TriggerNotAllowed if it is not available."""
    option: TriggerOption | None = next((o for o in data["triggers"] if o.trigger == trigger), None)
    if option is None:
        raise TriggerNotAllowed(f"当前状态（{data['state_label']}）不能执行该操作")
    reference = load_reference(conn)
    by_field = {e["field"]: e["message"] for e in errors or []}
    values = values or {}
    views = []
    for spec in option.fields:
        if spec.type == "user":
            users = assignable_users(conn, actor, data["case"]["jurisdiction_path"])
            options = {str(u["id"]): u["display_name"] for u in users}
        else:
            options = choice_options(spec, reference) if spec.choices else {}
        views.append(FieldView(spec, options, values.get(spec.name), by_field.pop(spec.name, "")))
    dest = state_label(data["workflow"], option.dest) if option.dest else ""
    return TriggerForm(trigger, option.label, dest, views, note, [m for m in by_field.values()])
