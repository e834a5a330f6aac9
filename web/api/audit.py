"""The personal-data access log of a case (who saw full ID numbers and phones), for supervisors."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from mediation_flow.accounts.audit import access_history
from web.deps import ApiActor, CaseId, EngineDep

router = APIRouter(prefix="/cases", tags=["cases"])


class AccessEntry(BaseModel):
    id: int
    action: str
    detail: str
    at: datetime
    user_id: int | None
    username: str | None
    display_name: str | None


@router.get("/{case_id}/access-log", response_model=list[AccessEntry])
def case_access_log(engine: EngineDep, actor: ApiActor, case_id: CaseId) -> list[dict[str, object]]:
    return access_history(engine, actor, case_id)
