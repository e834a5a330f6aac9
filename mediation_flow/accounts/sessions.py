"""The signed-in user of a request: one read per request, shared by the API's tokens and the pages' sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.accounts.throttle import check_not_locked, record_failure
from mediation_flow.accounts.users import actor_for, change_password, password_stamp, stamp_of
from mediation_flow.errors import InvalidData
from mediation_flow.places.jurisdictions import all_places
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.fast import Prepared
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.tables import USERS
from mediation_flow.vocabulary import Role

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


def _signed_in(conn: Connection, user_id: int) -> tuple[Actor | None, str | None]:
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


def signed_in_user(engine: Engine, user_id: int) -> tuple[Actor | None, str | None]:
    """The active user as an ``Actor`` (what ``users.actor_for`` gives) and its password stamp
    (``users.password_stamp``), in one query; (None, stamp) for an unknown or deactivated user."""
    with engine.connect() as conn:
        return _signed_in(conn, user_id)


def current_stamp(engine: Engine, user_id: int) -> str:
    """The fingerprint of the user's password hash that a token or a session carries ('' if none)."""
    with engine.connect() as conn:
        return password_stamp(conn, user_id) or ""


def active_actor(engine: Engine, user_id: int) -> Actor | None:
    with engine.connect() as conn:
        return actor_for(conn, user_id)


LEVELS = {"county": "县", "township": "乡镇", "village": "村（社区）", "grid": "网格"}


def roster(engine: Engine, actor: Actor) -> tuple[list[Any], list[tuple[int, str, str, str]]]:
    """The administrator's view: every user with their place, and the jurisdiction tree as
    (depth, level label, name, code) rows."""
    require(actor, Permission.ADMINISTER)
    with engine.connect() as conn:
        users = list(
            conn.execute(
                select(
                    USERS.c.username, USERS.c.display_name, USERS.c.role, USERS.c.is_active, JUR.c.name.label("place")
                )
                .select_from(USERS.outerjoin(JUR, USERS.c.jurisdiction_id == JUR.c.id))
                .order_by(USERS.c.role, USERS.c.username)
            )
        )
        places = all_places(conn)
    return users, [(p.path.count("/") - 2, LEVELS.get(p.level, p.level), p.name, p.code) for p in places]


def change_own_password(engine: Engine, actor: Actor, *, address: str, current: str, new: str) -> None:
    """Change the signed-in user's password. A wrong current password counts as a failed sign-in
    (throttled); every token and session issued before stops working (their stamp no longer matches)."""
    assert actor.id is not None
    with engine.connect() as conn:
        check_not_locked(conn, username=actor.username, address=address, now=clock.utcnow())
    try:
        with write_transaction(engine) as conn:
            change_password(conn, user_id=actor.id, current_password=current, new_password=new)
    except InvalidData as exc:
        if any(e["field"] == "current_password" for e in exc.errors):
            record_failure(engine, username=actor.username, address=address)
        raise
