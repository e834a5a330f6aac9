"""Reference endpoints: the jurisdiction tree and the workflows."""

from __future__ import annotations

from fastapi import APIRouter

from mediation_flow import jurisdictions
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
