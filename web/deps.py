"""FastAPI dependencies: the database engine and the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.sessions import signed_in_session
from mediation_flow.errors import AuthenticationFailed, PasswordChangeRequired
from web.tokens import read_token_claims

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_db(request: Request) -> Engine:
    """The app's engine. ``async`` because it does no I/O: a plain ``def`` dependency costs every request a
    hop to the thread pool (and, under load, a wait for the GIL) just to read an attribute."""
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_db)]
# A case id in a path: bounded, so a 20-digit id is a 422 and never overflows the database's integer.
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647, description="案件 id")]


OWN_ACCOUNT = "/api/v1/account"  # what a temporary password may still reach (to change itself)


def api_actor(request: Request, engine: EngineDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Actor:
    claims = read_token_claims(token) if token else None
    if claims is None:
        raise AuthenticationFailed("请先登录（令牌缺失、无效或已过期）")
    user_id, stamp, session = claims
    actor, current_stamp = signed_in_session(engine, user_id, session)
    if actor is None:
        raise AuthenticationFailed("登录已失效或账号已停用，请重新登录")
    if stamp != current_stamp:
        raise AuthenticationFailed("密码已修改，请重新登录")
    if actor.must_change_password and not request.url.path.startswith(OWN_ACCOUNT):
        raise PasswordChangeRequired("请先修改临时密码（POST /api/v1/account/password）")
    return actor


def client_address(request: Request) -> str:
    """The client's address (uvicorn's --proxy-headers puts the real one here behind a proxy)."""
    return request.client.host if request.client else "unknown"


ApiActor = Annotated[Actor, Depends(api_actor)]
