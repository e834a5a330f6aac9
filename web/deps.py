"""FastAPI dependencies: the database engine and the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Connection, Engine, bindparam, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import stamp_of
from mediation_flow.errors import AuthenticationFailed
from mediation_flow.store.fast import Prepared
from mediation_flow.store.models import Jurisdiction, User
from mediation_flow.vocabulary import Role
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


USERS, JUR = User.__table__, Jurisdiction.__table__
# Every signed-in request reads its user: one statement (user, scope path, password hash), compiled once.
_SIGNED_IN = Prepared(
    select(
        USERS.c.id,
        USERS.c.username,
        USERS.c.role,
        USERS.c.display_name,
        USERS.c.jurisdiction_id,
        USERS.c.is_active,
        USERS.c.password_hash,
        JUR.c.path,
    )
    .select_from(USERS.outerjoin(JUR, JUR.c.id == USERS.c.jurisdiction_id))
    .where(USERS.c.id == bindparam("user_id"))
)


def signed_in_user(conn: Connection, user_id: int) -> tuple[Actor | None, str | None]:
    """The active user as an ``Actor`` (what ``accounts.actor_for`` gives) and its password stamp
    (``accounts.password_stamp``), in one query; (None, stamp) for an unknown or deactivated user."""
    row = _SIGNED_IN.first(conn, {"user_id": user_id})
    if row is None:
        return None, None
    stamp = stamp_of(row["password_hash"])
    if not row["is_active"] or (row["jurisdiction_id"] is not None and row["path"] is None):
        return None, stamp
    actor = Actor(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        scope_path=row["path"],
        display_name=row["display_name"],
        jurisdiction_id=row["jurisdiction_id"],
    )
    return actor, stamp


def api_actor(engine: EngineDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Actor:
    claims = read_token_claims(token) if token else None
    if claims is None:
        raise AuthenticationFailed("请先登录（令牌缺失、无效或已过期）")
    user_id, stamp = claims
    with engine.connect() as conn:
        actor, current_stamp = signed_in_user(conn, user_id)
    if actor is None:
        raise AuthenticationFailed("账号不存在或已停用")
    if stamp != current_stamp:
        raise AuthenticationFailed("密码已修改，请重新登录")
    return actor


def client_address(request: Request) -> str:
    """The client's address (uvicorn's --proxy-headers puts the real one here behind a proxy)."""
    return request.client.host if request.client else "unknown"


ApiActor = Annotated[Actor, Depends(api_actor)]
