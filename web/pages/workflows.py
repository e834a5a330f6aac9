"""Workflow pages: every workflow the engine runs, and each one's diagram as a readable table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mediation_flow.vocabulary import Role
from mediation_flow.workflow import diagram
from mediation_flow.workflow.catalog import current_workflows, workflow_with_reference
from mediation_flow.workflow.fields import choice_options, required_when_text
from mediation_flow.workflow.registry import CompiledWorkflow
from web.deps import EngineDep
from web.pages.common import PageActor, render

router = APIRouter()
FIELD_TYPES = {
    "text": "文字",
    "longtext": "长文字",
    "bool": "是/否",
    "int": "整数",
    "money": "金额",
    "date": "日期",
    "choice": "单选",
    "multichoice": "多选",
    "user": "人员",
}


def _edges(workflow: CompiledWorkflow, states: dict[str, str]) -> list[dict[str, Any]]:
    """The diagram's arrows, read from the shared Machine the engine fires (grouped by source state)."""
    labels = {t.trigger: t.label for t in workflow.spec.transitions}
    found = diagram.edges(workflow)
    return [
        {
            "source": states[s],
            "dest": states[d],
            "triggers": "、".join(labels[t] for t in triggers),
            "final": workflow.spec.states[d].final,
        }
        for s in states
        for (src, d), triggers in found.items()
        if src == s
    ]


@router.get("/workflows", include_in_schema=False)
def workflow_list(request: Request, engine: EngineDep, actor: PageActor) -> Response:
    items = current_workflows(engine)
    return render(request, "workflows.html", {"title": "流程", "items": items})


@router.get("/workflows/{name}", include_in_schema=False)
def workflow_page(request: Request, engine: EngineDep, actor: PageActor, name: str) -> Response:
    workflow, reference, base = workflow_with_reference(engine, name[:64])
    spec = workflow.spec
    states = {n: s.label for n, s in spec.states.items()}
    rows = []
    for t in spec.transitions:
        sources = list(states) if t.source == "*" else t.sources
        rows.append(
            {
                "label": t.label,
                "trigger": t.trigger,
                "sources": "任意状态" if t.source == "*" else "、".join(states[s] for s in sources),
                "dest": states[t.dest] if t.dest else "（状态不变）",
                "roles": "、".join(Role(r).label for r in t.roles),
                "fields": [
                    (
                        f.label,
                        FIELD_TYPES.get(f.type, f.type),
                        "必填"
                        if f.required
                        else f"{required_when_text(f, t.fields, reference)}时必填"
                        if f.required_when
                        else "",
                        choice_options(f, reference) if f.choices else {},
                    )
                    for f in t.fields
                ],
                "guards": t.guards,
                "basis": t.basis or "",
            }
        )
    outgoing = {
        n: [r for r, t in zip(rows, spec.transitions, strict=True) if t.source == "*" or n in t.sources] for n in states
    }
    context = {
        "title": spec.title,
        "workflow": workflow,
        "spec": spec,
        "states": states,
        "rows": rows,
        "outgoing": outgoing,
        "edges": _edges(workflow, states),
        "tlabels": {"register": "登记", **{t.trigger: t.label for t in spec.transitions}},
        "internal": {
            states[s]: "、".join(t.label for t in spec.transitions if t.trigger in triggers)
            for s, triggers in diagram.internal_triggers(workflow).items()
        },
        "mermaid": diagram.mermaid(workflow),
        "base": base,
    }
    return render(request, "workflow.html", context)
