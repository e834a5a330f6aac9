"""The case's pydantic ladder: what a client sends (create), what it reads back (read: the case in full as the
actor may see it; public: the row of a list), and what a transition request looks like.

``CaseCreate`` *is* the intake parser's model (``intake.CaseIntake``) plus the moment of registration, so the
API documents exactly what the core accepts and rejects. A transition's ``data`` depends on the trigger and the
case's workflow version: the core validates it (``workflow.fields``); ``transition_body_schema`` documents it,
generated from the workflow files, one branch per trigger."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mediation_flow.cases.intake import CaseIntake
from mediation_flow.cases.party_input import PartyIn
from mediation_flow.store import clock
from mediation_flow.textinput import Text
from mediation_flow.workflow.fields import DEFAULT_TEXT_LIMIT
from mediation_flow.workflow.registry import read_workflow_file, workflows_dir
from mediation_flow.workflow.schema import FieldSpec, WorkflowSpec

PartyCreate = PartyIn  # one party as registered (the intake parser's model)

MOMENT_DESCRIPTION = (
    "{what}，ISO 8601，如 2023-12-31T20:00:00。不带时区的时间按北京时间（Asia/Shanghai）理解；"
    "须在2000年1月1日至明天之间"
)


def user_moment(value: Any) -> datetime | None:
    """A moment a client sent: None or '' for none; without an offset it is Beijing time; out of range refused."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if clock.out_of_range(value):
            raise ValueError(clock.RANGE_MESSAGE)
        return clock.as_local(value)
    return clock.parse_user_moment(str(value))


class CaseCreate(CaseIntake):
    """纠纷登记: the intake form, and when the dispute was registered (only 司法所 staff may back-date)."""

    effective_at: datetime | None = Field(
        default=None, description=MOMENT_DESCRIPTION.format(what="登记时间（补录时填写）")
    )

    _moment = field_validator("effective_at", mode="before")(lambda cls, value: user_moment(value))

    def intake(self) -> CaseIntake:
        """The intake part, as the core's ``register_case`` takes it."""
        return CaseIntake.model_construct(**{name: getattr(self, name) for name in CaseIntake.model_fields})


class PartyRead(BaseModel):
    """A party as the actor may see it: ID number and phone masked unless the role may see them in full."""

    id: int
    role: str
    kind: str
    name: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = Field(default=None, description="住址（掩码时只保留到村、组）")
    gender: str | None = Field(default=None, description="性别：male 男 | female 女")
    ethnicity: str | None = Field(default=None, description="民族，如 汉族")
    birth: str = Field(default="", description="出生日期，如 1968年4月5日（掩码时只有年份）")
    age: int | None = Field(default=None, description="年龄（未填出生日期时）")


class EventRead(BaseModel):
    seq: int
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: int | None = Field(description="经办人（实际办理的人）")
    actor_name: str | None = None
    recorded_by: int | None = Field(default=None, description="代录人：由他人（录入员）补录时填写")
    recorder_name: str | None = None
    effective_at: datetime
    recorded_at: datetime
    note: str
    data: dict[str, Any]


class ClockRead(BaseModel):
    name: str
    label: str
    status: str
    due: date | None
    days_left: int | None
    basis: str


class FieldRead(BaseModel):
    name: str
    label: str
    type: str
    required: bool
    required_when: dict[str, str] | None = Field(
        None, description="required when each named field of the same step has this value (a choice's code)"
    )
    choices: dict[str, str] | None = None


class TriggerRead(BaseModel):
    """A step offered now (its guards that do not depend on what is typed pass), in the case page's order."""

    trigger: str
    label: str
    dest: str | None
    group: Literal["primary", "usual", "other", "rare"] = Field(
        description="primary: the step usually taken next (the page's main button); usual: the other usual "
        "steps from this state; other; rare: administrative or seldom steps (更正, 转出, 中止 …)"
    )
    fields: list[FieldRead]


class HandoffRead(BaseModel):
    """三调对接 on the case (``views.HandoffView``)."""

    direction: str
    direction_label: str
    agency_code: str
    agency_name: str
    handoff: str
    handoff_label: str
    reference_number: str
    referring_body: str


class CasePublic(BaseModel):
    """A case as a list shows it."""

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
    agency_id: int | None = Field(default=None, description="三调对接：当前对接单位（移送或移入）")
    handoff: str | None = Field(
        default=None, description="sent 已移送未签收 | acknowledged 已签收 | answered 已反馈 | returned 已退回"
    )


class CaseRead(CasePublic):
    """A case in full: facts, parties, history, clocks and what the actor may do next."""

    summary: str
    amount: str | None = Field(description="涉及金额（元）")
    people_involved: int
    venue: str | None
    incident_place: str | None = Field(default=None, description="发生地点")
    occurred_at: datetime | None = Field(default=None, description="纠纷发生时间")
    risk_hints: list[str] | None = Field(default=None, description="登记人勾选的风险提示（risk_rules.yaml 的 hints）")
    attributes: dict[str, Any]
    parties: list[PartyRead]
    events: list[EventRead]
    clocks: list[ClockRead]
    available_triggers: list[TriggerRead]
    handoff_view: HandoffRead | None = Field(default=None, description="三调对接：对接单位、方向、移送状态、来文编号")


class TransitionCreate(BaseModel):
    """Fire ``trigger`` on a case at ``expected_version``; ``data`` carries the trigger's fields."""

    model_config = ConfigDict(extra="forbid")

    trigger: str = Field(min_length=1, max_length=64)
    expected_version: int = Field(ge=0)
    note: Text = Field(default="", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)
    acted_by: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        description="代录：实际经办人的用户 id（纸质台账上的调解员；见 GET /api/v1/cases/{id}/assignees）。"
        "仅司法所人员和录入员可用；事件同时记下经办人和录入人",
    )
    effective_at: datetime | None = Field(
        default=None, description=MOMENT_DESCRIPTION.format(what="生效时间（补录时填写）")
    )

    _moment = field_validator("effective_at", mode="before")(lambda cls, value: user_moment(value))


class CorrectionCreate(BaseModel):
    """更正 (a supervisor): one fact of the case, of a party, or the time or amount of an earlier step, with the
    reason. The original stays in the history; reports as of an earlier moment keep the old figures."""

    model_config = ConfigDict(extra="forbid")

    expected_version: int = Field(ge=0)
    what: str = Field(
        min_length=1,
        max_length=32,
        description="title 案件名称 | summary 纠纷简要情况 | category 纠纷类型 | village 所属村（社区）、网格 | "
        "party_name / party_id_number / party_phone 当事人姓名 / 身份证号码 / 联系电话 | amount 涉及金额 | "
        "agreement_amount 协议涉及金额 | event_time 某一步的办理时间",
    )
    value: Text = Field(
        min_length=1,
        max_length=2000,
        description="更正为：纠纷类型填代码或名称，村（社区）填代码或名称，办理时间按北京时间（如 2024-01-03T10:00）",
    )
    reason: Text = Field(min_length=1, max_length=500, description="更正理由")
    party: int | None = Field(default=None, ge=1, le=999, description="第几位当事人（按案件的当事人顺序，从1起）")
    event: int | None = Field(default=None, ge=1, le=100_000, description="哪一步：办理记录的序号 seq")

    def data(self) -> dict[str, Any]:
        """The ``correct`` trigger's fields."""
        return {k: v for k, v in self.model_dump(exclude={"expected_version"}).items() if v is not None}


def field_schema(spec: FieldSpec, specs: list[FieldSpec] | None = None) -> dict[str, Any]:
    """The JSON schema of one workflow field, as ``workflow.fields`` validates it (``specs``: its step's fields,
    which a ``required_when`` names)."""
    kind = spec.type
    schema: dict[str, Any]
    if kind in ("text", "longtext"):
        schema = {"type": "string", "maxLength": spec.max_length or DEFAULT_TEXT_LIMIT}
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind in ("int", "user"):
        schema = {"type": "integer"}
        schema.update({k: v for k, v in (("minimum", spec.min), ("maximum", spec.max)) if v is not None})
    elif kind == "money":
        schema = {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$", "examples": ["12000.50"]}
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    else:  # choice, multichoice
        one: dict[str, Any] = {"type": "string"}
        if isinstance(spec.choices, dict):
            one["enum"] = list(spec.choices)
        else:
            one["description"] = f"参考数据“{spec.choices}”中的代码"
        schema = one if kind == "choice" else {"type": "array", "items": one, "uniqueItems": True}
    note = "（须为是）" if kind == "bool" and spec.required else ""
    if spec.required_when:  # said in words: the 422 names the field when it is missing
        lists = {f.name for f in specs or [] if f.type == "multichoice"}  # required when a box is ticked: 含
        when = "、".join(f"{k} {'含' if k in lists else '为'} {v}" for k, v in spec.required_when.items())
        schema["description"] = f"{schema.get('description', '')}{when} 时必填".strip()
    return {"title": spec.label + note, **schema}


def _branch(trigger: str, found: list[tuple[WorkflowSpec, list[FieldSpec], str]]) -> dict[str, Any]:
    envelope = TransitionCreate.model_json_schema()
    properties: dict[str, Any] = {}
    for _spec, fields, _label in found:
        for f in fields:
            schema = field_schema(f, fields)
            known = properties.setdefault(f.name, schema)
            if known != schema and schema not in known.get("anyOf", []):
                properties[f.name] = {"anyOf": [*known.get("anyOf", [known]), schema]}
    required = set.intersection(*({f.name for f in fields if f.required} for _s, fields, _l in found))
    data: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        data["required"] = sorted(required)
    labels = sorted({label for _s, _f, label in found})
    workflows = "、".join(sorted({s.title for s, _f, _l in found}))
    body = {
        "title": f"{trigger}（{'/'.join(labels)}）",
        "description": f"{'/'.join(labels)}。适用流程：{workflows}。",
        "type": "object",
        "properties": {
            **envelope["properties"],
            "trigger": {"const": trigger, "title": "/".join(labels)},
            "data": data,
        },
        "required": ["trigger", "expected_version", *(["data"] if required else [])],
        "additionalProperties": False,
    }
    return body


def workflow_file_specs() -> list[WorkflowSpec]:
    """The workflows as their files define them now (the versions new cases get)."""
    return [read_workflow_file(path)[0] for path in sorted(workflows_dir().glob("*.yaml"))]


def transition_body_schema(specs: Iterable[WorkflowSpec] | None = None) -> dict[str, Any]:
    """The documented request body of ``POST /cases/{id}/transitions``: one branch per trigger (the value of
    ``trigger`` tells them apart), with the fields the workflow files declare for it. A trigger that several
    workflows share lists the union of their fields; a field is required where every workflow requires it."""
    by_trigger: dict[str, list[tuple[WorkflowSpec, list[FieldSpec], str]]] = {}
    for spec in workflow_file_specs() if specs is None else specs:
        for t in spec.transitions:
            by_trigger.setdefault(t.trigger, []).append((spec, t.fields, t.label))
    branches = [_branch(trigger, found) for trigger, found in sorted(by_trigger.items())]
    return {"title": "Transition", "oneOf": branches}


# --- 三调对接 (mediation_flow.cases.handoffs, places.agencies) ------------------------------------------------


class AgencyOut(BaseModel):
    """A partner agency (派出所, 人民法庭, 信访部门) and the format of its reference numbers."""

    code: str
    name: str
    kind: str
    kind_label: str
    reference_example: str


class HandoffItemOut(BaseModel):
    """A case of a handoff list: its direction (out 转出 / in 移入), the agency, where the handoff stands
    (handoff: sent 已移送未签收 | acknowledged 已签收 | answered 已反馈 | returned 已退回) and its deadline."""

    id: int
    number: str
    title: str
    state: str
    state_label: str
    direction: str
    direction_label: str
    agency_id: int | None
    agency_name: str
    handoff: str | None
    handoff_label: str
    village: str
    mediator_id: int | None
    mediator: str
    since: datetime
    reference_number: str
    deadline: date | None
    deadline_label: str
    deadline_status: str


class AgencyInboxOut(BaseModel):
    """对接单位收件箱: referrals to the agency not yet answered (oldest first), and the cases it referred in."""

    agency_id: int | None
    agency_name: str
    agency_kind: str
    today: date
    incoming: list[HandoffItemOut]
    sent_in: list[HandoffItemOut]


class ReferredOutQueueOut(BaseModel):
    """转出待反馈: cases referred out and not yet answered, whoever handles them (oldest referral first)."""

    today: date
    total: int
    items: list[HandoffItemOut]
