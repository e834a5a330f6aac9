"""Response models of the reference and drill-down routes (the case, queue and account models live beside
their routes or in ``schemas``): what OpenAPI documents for them."""

from __future__ import annotations

from pydantic import BaseModel


class WorkflowDiagramOut(BaseModel):
    name: str
    title: str
    version: int
    mermaid: str


class CaseRef(BaseModel):
    id: int
    number: str
    title: str
    state: str


class FigureCasesOut(BaseModel):
    figure: str
    key: str | None
    total: int
    cases: list[CaseRef]
