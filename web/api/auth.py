"""OAuth2 password flow: a username and password for a signed, expiring bearer token (throttled)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from mediation_flow.accounts.sessions import current_stamp, start_session
from mediation_flow.accounts.throttle import sign_in
from mediation_flow.store.config import get_settings
from web.api.schemas import ErrorResponse, Token
from web.deps import EngineDep, client_address
from web.tokens import issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    response_model=Token,
    responses={401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}},
)
def login_for_token(
    request: Request, engine: EngineDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    actor = sign_in(engine, username=form.username, password=form.password, address=client_address(request))
    assert actor.id is not None
    return Token(
        access_token=issue_token(actor.id, current_stamp(engine, actor.id), start_session(engine, actor.id)),
        expires_in=get_settings().token_minutes * 60,
    )
