"""API response and request models (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    code: str
    message: str
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
    children: list[JurisdictionNode] = []


class FieldOut(BaseModel):
    name: str
    label: str
    type: str
    required: bool
    choices: dict[str, str] | None = None


class TriggerOut(BaseModel):
    trigger: str
    label: str
    dest: str | None
    fields: list[FieldOut]


class WorkflowOut(BaseModel):
    name: str
    title: str
    version: int
    states: dict[str, dict[str, Any]]
    triggers: list[str]
    clocks: dict[str, dict[str, Any]]


class PartyOut(BaseModel):
    id: int
    role: str
    kind: str
    name: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None


class EventOut(BaseModel):
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: int | None
    actor_name: str | None = None
    effective_at: datetime
    recorded_at: datetime
    note: str
    data: dict[str, Any]


class ClockOut(BaseModel):
    name: str
    label: str
    status: str
    due: date | None
    days_left: int | None
    basis: str


class CaseSummary(BaseModel):
    id: int
    number: str
    title: str
    category: str
    source: str
    risk_grade: str
    level: str
    state: str
    version: int
    jurisdiction_id: int
    mediator_id: int | None
    due_date: date | None
    registered_at: datetime
    workflow_name: str
    workflow_version: int


class CaseDetail(CaseSummary):
    summary: str
    amount: str | None = Field(description="涉及金额（元）")
    people_involved: int
    venue: str | None
    attributes: dict[str, Any]
    parties: list[PartyOut]
    events: list[EventOut]
    clocks: list[ClockOut]
    available_triggers: list[TriggerOut]


class CasePage(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    page_size: int


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trigger: str = Field(min_length=1, max_length=64)
    expected_version: int = Field(ge=0)
    note: str = Field(default="", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)
    effective_at: datetime | None = None
