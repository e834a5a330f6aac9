"""The case's 办理记录 (timeline) as a person reads it: each event's operation and states by their labels, and
its data as labelled details — what was typed (the transition's fields), what the engine added (a level or
risk grade before and after: ``处理层级 网格→村（社区）``), never a key or a code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediation_flow.cases import correction_views
from mediation_flow.display.labels import label
from mediation_flow.workflow.correction_rules import CORRECT
from mediation_flow.workflow.fields import choice_options, shown_value
from mediation_flow.workflow.registry import CompiledWorkflow
from mediation_flow.workflow.schema import CREATION_TRIGGER, FieldSpec

BEFORE, AFTER = "from_", "to_"  # the engine's before/after pairs: from_level + to_level, from_grade + grade


def trigger_label(workflow: CompiledWorkflow, trigger: str) -> str:
    if trigger == CREATION_TRIGGER:
        return "登记"
    return next((t.label for t in workflow.spec.transitions if t.trigger == trigger), trigger)


def state_label(workflow: CompiledWorkflow, state: str | None) -> str:
    if state is None:
        return ""
    spec = workflow.spec.states.get(state)
    return spec.label if spec else state


class _Details:
    """The labelled details of one event's data."""

    def __init__(
        self,
        fields: Mapping[str, FieldSpec],
        reference: dict[str, dict[str, str]],
        names: dict[int, str],
        *,
        creation: bool = False,
    ) -> None:
        self.fields, self.reference, self.names, self.creation = fields, reference, names, creation

    def name(self, key: str) -> str:
        if key in self.fields:
            return self.fields[key].label
        return label("event_data", key, default=label("fields", key))

    def value(self, key: str, value: Any) -> str:
        if key in self.fields:
            return shown_value(self.fields[key], value, self.reference, self.names)
        if key == "level":
            return label("levels", value)
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, list):
            return "；".join(str(v) for v in value)
        kind = {"risk_grade": "risk_grade", "source": "source", "category": "category", "venue": "venue"}.get(key)
        return self.reference.get(kind, {}).get(value, str(value)) if kind else str(value)

    def items(self, data: Mapping[str, Any]) -> list[tuple[str, str]]:
        shown, done = [], set()
        for key, value in data.items():
            if key in done or value in (None, "", []):
                continue
            if key.startswith((BEFORE, AFTER)):
                base = key.removeprefix(BEFORE).removeprefix(AFTER)
                before, after = data.get(BEFORE + base), data.get(AFTER + base, data.get(base))
                done |= {BEFORE + base, AFTER + base, base}
                shown.append((self.name(base), f"{self.value(base, before)}→{self.value(base, after)}"))
            elif isinstance(value, dict):  # a registration's workflow attributes: each on its own line
                shown += self.items(value)
            else:
                shown.append((self.name(key), self.value(key, value)))
        return shown


def timeline(
    workflow: CompiledWorkflow,
    events: list[dict[str, Any]],
    reference: dict[str, dict[str, str]],
    names: dict[int, str],
    *,
    places: dict[str, str],
    parties: list[Any],
) -> list[dict[str, Any]]:
    """The events newest first, with trigger and state labels and their data as labelled details; a correction
    with what was and what is, a corrected step with its original time or amount and the corrected one."""
    specs: dict[str, dict[str, FieldSpec]] = {}
    for t in workflow.spec.transitions:
        specs.setdefault(t.trigger, {}).update({f.name: f for f in t.fields})
    specs[CREATION_TRIGGER] = {f.name: f for f in workflow.spec.intake_fields}  # a registration's attributes
    what = specs.get(CORRECT, {}).get("what")
    context = correction_views.Shown(
        trigger_label={t.trigger: t.label for t in reversed(workflow.spec.transitions)} | {CREATION_TRIGGER: "登记"},
        what_labels=choice_options(what, reference) if what else {},
        categories=reference.get("category", {}),
        places=places,
        parties={p.id: p.name for p in parties},
    )
    marks = correction_views.corrected_steps(events)
    shown = []
    for event in reversed(events):
        if event["trigger"] == CORRECT:
            items = correction_views.details(event, events, context)
        else:
            items = _Details(specs.get(event["trigger"], {}), reference, names).items(event["data"] or {})
        shown.append(
            {
                **event,
                "label": trigger_label(workflow, event["trigger"]),
                "from_label": state_label(workflow, event["from_state"]),
                "to_label": state_label(workflow, event["to_state"]),
                "details": items,
                "corrected": marks.get(event["seq"], {}),
            }
        )
    return shown
