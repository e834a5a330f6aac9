"""关联纠纷 over the API: the case's parties matched against other cases, and a supervisor's decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from mediation_flow.cases.related import Related, decide_link, related_disputes
from web.deps import ApiActor, CaseId, EngineDep

router = APIRouter(prefix="/cases", tags=["cases"])


class RelatedMatch(BaseModel):
    case_id: int
    number: str
    title: str
    state: str
    source: str
    registered_at: datetime
    kind: Literal["id", "phone", "name"] = Field(description="按身份证号、手机号或同村同名匹配")
    strength: Literal["strong", "medium", "weak"]
    label: str
    party_name: str = Field(description="对方案件当事人姓名，号码已打码")
    decision: Literal["", "confirmed", "dismissed"] = Field(default="", description="督办人员的确认或排除")


class RelatedPartyRead(BaseModel):
    name: str
    role: str
    summary: str = Field(description="如：该当事人近两年涉及3起纠纷（其中1起信访转办）")
    matches: list[RelatedMatch]
    dismissed: list[RelatedMatch]


class RelatedRead(BaseModel):
    case_id: int
    count: int
    may_decide: bool
    risk_reasons: list[str]
    parties: list[RelatedPartyRead]


class LinkDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    other_case_id: int = Field(ge=1)
    decision: Literal["confirmed", "dismissed"]
    note: str = Field(default="", max_length=200)


def _read(related: Related) -> dict[str, Any]:
    def match(m: Any) -> dict[str, Any]:
        return {
            **vars(m),
            "strength": m.strength,
            "label": m.label,
            "decision": "" if m.decision == "dismissed" else m.decision,
        }

    return {
        "case_id": related.case_id,
        "count": related.count,
        "may_decide": related.may_decide,
        "risk_reasons": related.risk_reasons,
        "parties": [
            {
                "name": p.name,
                "role": p.role,
                "summary": p.summary,
                "matches": [match(m) for m in p.matches],
                "dismissed": [match(m) for m in p.dismissed],
            }
            for p in related.parties
        ],
    }


@router.get("/{case_id}/related", response_model=RelatedRead)
def read_related(engine: EngineDep, actor: ApiActor, case_id: CaseId) -> dict[str, Any]:
    """The case's parties matched against the other cases of the user's jurisdiction in the last two years."""
    return _read(related_disputes(engine, actor, case_id))


@router.post("/{case_id}/related", response_model=RelatedRead)
def decide_related(engine: EngineDep, actor: ApiActor, case_id: CaseId, body: LinkDecision) -> dict[str, Any]:
    """Confirm or dismiss a suggested link (supervisors; recorded with who and when)."""
    return _read(decide_link(engine, actor, case_id, body.other_case_id, body.decision, note=body.note))
