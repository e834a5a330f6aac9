"""The workflows as the API and the pages list them: each read through the registry in one call."""

from __future__ import annotations

from sqlalchemy import Engine

from mediation_flow.errors import NotFound
from mediation_flow.places.reference import load_reference
from mediation_flow.store.reads import reads
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow


def current_workflows(engine: Engine) -> list[CompiledWorkflow]:
    """The current version of every workflow, by name."""
    with reads(engine) as conn:
        versions = REGISTRY.current_versions() or REGISTRY.sync(conn)
        return [REGISTRY.get(conn, name, version) for name, version in sorted(versions.items())]


def find_workflow(engine: Engine, name: str, version: int | None = None) -> CompiledWorkflow:
    """The workflow ``name`` at ``version`` (current when None); NotFound for an unknown name or version."""
    with reads(engine) as conn:
        try:
            return REGISTRY.current(conn, name) if version is None else REGISTRY.get(conn, name, version)
        except LookupError:
            raise NotFound("流程或版本不存在", workflow=name[:64], version=version) from None


def workflow_with_reference(
    engine: Engine, name: str
) -> tuple[CompiledWorkflow, dict[str, dict[str, str]], str | None]:
    """The current workflow ``name``, the reference data its choice fields draw on, and the title of the
    workflow it extends (None for a base workflow); NotFound: 流程不存在."""
    with reads(engine) as conn:
        try:
            workflow = REGISTRY.current(conn, name)
        except LookupError:
            raise NotFound("流程不存在") from None
        base_name = REGISTRY.base_of(workflow.name)
        base = REGISTRY.current(conn, base_name).spec.title if base_name else None
        return workflow, load_reference(conn), base
