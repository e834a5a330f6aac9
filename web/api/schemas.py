"""API response and request models (the OpenAPI schema is generated from these). The case's own ladder
(create / read / public, transitions) lives in the core: ``mediation_flow.cases.schemas``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from mediation_flow.cases.schemas import CasePublic


class FieldError(BaseModel):
    """One thing wrong with the request: the field (dotted path; ``(body)`` for the body as a whole) and a
    Chinese message that names it."""

    field: str | None = None
    message: str
    model_config = ConfigDict(extra="allow")  # the ledger import says row and column instead


class ErrorDetail(BaseModel):
    code: str
    message: str
    errors: list[FieldError] | None = None
    model_config = ConfigDict(extra="allow")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class JurisdictionNode(BaseModel):
    code: str
    name: str
    level: str
    active: bool = True
    children: list[JurisdictionNode] = []


class WorkflowOut(BaseModel):
    name: str
    title: str
    version: int
    states: dict[str, dict[str, Any]]
    triggers: list[str]
    clocks: dict[str, dict[str, Any]]


class CasePage(BaseModel):
    items: list[CasePublic]
    total: int
    page: int
    page_size: int
