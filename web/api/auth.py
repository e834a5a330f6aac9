"""OAuth2 password flow: a username and password for a signed, expiring bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from mediation_flow.accounts import authenticate
from mediation_flow.config import get_settings
from mediation_flow.db import write_transaction
from web.api.schemas import ErrorResponse, Token
from web.deps import EngineDep
from web.tokens import issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token, responses={401: {"model": ErrorResponse}})
def login_for_token(engine: EngineDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    with write_transaction(engine) as conn:
        actor = authenticate(conn, form.username, form.password)
    assert actor.id is not None
    return Token(access_token=issue_token(actor.id), expires_in=get_settings().token_minutes * 60)
