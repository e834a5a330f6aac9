"""The signed-in user's own account: who am I, and changing one's password."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from mediation_flow.accounts import sessions
from web.api.schemas import ErrorResponse
from web.deps import ApiActor, EngineDep, client_address

router = APIRouter(prefix="/account", tags=["account"])
ERRORS = {status: {"model": ErrorResponse} for status in (401, 422, 429)}


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class AccountOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    jurisdiction_id: int | None
    must_change_password: bool = Field(default=False, description="临时密码：修改之前只能访问 /api/v1/account")


class PasswordChanged(BaseModel):
    status: str = "ok"
    message: str = "密码已修改，请用新密码重新登录"


@router.get("", response_model=AccountOut, responses=ERRORS)
def read_account(actor: ApiActor) -> AccountOut:
    assert actor.id is not None
    return AccountOut(
        id=actor.id,
        username=actor.username,
        display_name=actor.display_name,
        role=actor.role.value,
        jurisdiction_id=actor.jurisdiction_id,
        must_change_password=actor.must_change_password,
    )


@router.post("/password", response_model=PasswordChanged, responses=ERRORS)
def change_own_password(request: Request, engine: EngineDep, actor: ApiActor, body: PasswordChange) -> PasswordChanged:
    """Change one's password. A wrong current password counts as a failed sign-in (throttled);
    every token issued before stops working."""
    sessions.change_own_password(
        engine, actor, address=client_address(request), current=body.current_password, new=body.new_password
    )
    return PasswordChanged()
