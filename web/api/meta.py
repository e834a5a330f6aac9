"""Reference endpoints: the jurisdiction tree and the workflows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mediation_flow.places.jurisdictions import jurisdiction_tree
from mediation_flow.workflow.catalog import current_workflows, find_workflow
from mediation_flow.workflow.diagram import mermaid
from web.api.schemas import JurisdictionNode, WorkflowOut
from web.api.views import WorkflowDiagramOut
from web.deps import ApiActor, EngineDep

router = APIRouter(tags=["reference"])


@router.get("/jurisdictions", response_model=list[JurisdictionNode])
def list_jurisdictions(engine: EngineDep, actor: ApiActor) -> list[dict[str, object]]:
    """The jurisdiction tree (县→乡镇→村→网格) with codes; the whole tree for orientation."""
    return jurisdiction_tree(engine)


@router.get("/workflows", response_model=list[WorkflowOut])
def list_workflows(engine: EngineDep, actor: ApiActor) -> list[WorkflowOut]:
    return [
        WorkflowOut(
            name=c.name,
            title=c.spec.title,
            version=c.version,
            states={name: s.model_dump() for name, s in c.spec.states.items()},
            triggers=sorted(c.triggers()),
            clocks={name: clock.model_dump(mode="json") for name, clock in c.spec.clocks.items()},
        )
        for c in current_workflows(engine)
    ]


@router.get("/workflows/{name}/diagram", response_model=WorkflowDiagramOut)
def workflow_diagram(
    engine: EngineDep,
    actor: ApiActor,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    internal: bool = False,
) -> dict[str, object]:
    """The workflow (current version, or ``version``) as mermaid ``stateDiagram-v2`` text, drawn from
    the same Machine the engine runs. ``internal`` adds a note per state listing internal steps."""
    compiled = find_workflow(engine, name, version)
    return {
        "name": compiled.name,
        "title": compiled.spec.title,
        "version": compiled.version,
        "mermaid": mermaid(compiled, include_internal=internal),
    }
