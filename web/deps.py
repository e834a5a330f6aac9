"""FastAPI dependencies: the database engine and the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine

from mediation_flow.accounts import actor_for
from mediation_flow.errors import AuthenticationFailed
from mediation_flow.policy import Actor
from web.tokens import read_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_db(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_db)]


def api_actor(engine: EngineDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Actor:
    user_id = read_token(token) if token else None
    if user_id is None:
        raise AuthenticationFailed("请先登录（令牌缺失、无效或已过期）")
    with engine.connect() as conn:
        actor = actor_for(conn, user_id)
    if actor is None:
        raise AuthenticationFailed("账号不存在或已停用")
    return actor


ApiActor = Annotated[Actor, Depends(api_actor)]
