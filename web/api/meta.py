"""Reference endpoints: the jurisdiction tree and the workflows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mediation_flow.errors import NotFound
from mediation_flow.places import jurisdictions
from mediation_flow.workflow.diagram import mermaid
from mediation_flow.workflow.registry import REGISTRY
from web.api.schemas import JurisdictionNode, WorkflowOut
from web.deps import ApiActor, EngineDep

router = APIRouter(tags=["reference"])


@router.get("/jurisdictions", response_model=list[JurisdictionNode])
def list_jurisdictions(engine: EngineDep, actor: ApiActor) -> list[dict[str, object]]:
    """The jurisdiction tree (县→乡镇→村→网格) with codes; the whole tree for orientation."""
    with engine.connect() as conn:
        return jurisdictions.tree(conn)


@router.get("/workflows", response_model=list[WorkflowOut])
def list_workflows(engine: EngineDep, actor: ApiActor) -> list[WorkflowOut]:
    with engine.connect() as conn:
        versions = REGISTRY.current_versions() or REGISTRY.sync(conn)
        compiled = [REGISTRY.get(conn, name, version) for name, version in sorted(versions.items())]
    return [
        WorkflowOut(
            name=c.name,
            title=c.spec.title,
            version=c.version,
            states={name: s.model_dump() for name, s in c.spec.states.items()},
            triggers=sorted(c.triggers()),
            clocks={name: clock.model_dump(mode="json") for name, clock in c.spec.clocks.items()},
        )
        for c in compiled
    ]


@router.get("/workflows/{name}/diagram")
def workflow_diagram(
    engine: EngineDep,
    actor: ApiActor,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    internal: bool = False,
) -> dict[str, object]:
    """The workflow (current version, or ``version``) as mermaid ``stateDiagram-v2`` text, drawn from
    the same Machine the engine runs. ``internal`` adds a note per state listing internal steps."""
    with engine.connect() as conn:
        try:
            compiled = REGISTRY.current(conn, name) if version is None else REGISTRY.get(conn, name, version)
        except LookupError:
            raise NotFound("流程或版本不存在", workflow=name[:64], version=version) from None
    return {
        "name": compiled.name,
        "title": compiled.spec.title,
        "version": compiled.version,
        "mermaid": mermaid(compiled, include_internal=internal),
    }
