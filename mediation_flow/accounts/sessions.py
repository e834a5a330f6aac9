"""The signed-in user of a request: one read per request, shared by the API's tokens and the pages' sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.throttle import reserve_attempt, withdraw_attempt
from mediation_flow.accounts.users import actor_for, change_password, password_stamp, stamp_of
from mediation_flow.errors import InvalidData
from mediation_flow.places.jurisdictions import place_name
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.db import write_transaction
from mediation_flow.store.fast import Prepared
from mediation_flow.store.reads import reads, single_read
from mediation_flow.store.tables import AGENCIES, SESSIONS, USERS
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.unchanged import first_noting_token
from mediation_flow.vocabulary import Role

# Every signed-in request reads its user: one statement (user, scope path, password hash), compiled once.
_USER_COLUMNS = (
    USERS.c.id,
    USERS.c.username,
    USERS.c.role,
    USERS.c.display_name,
    USERS.c.jurisdiction_id,
    USERS.c.agency_id,
    USERS.c.is_active,
    USERS.c.password_hash,
    USERS.c.must_change_password,
    JUR.c.path,
    AGENCIES.c.name.label("agency_name"),
)
_USER_AND_PLACE = USERS.outerjoin(JUR, JUR.c.id == USERS.c.jurisdiction_id).outerjoin(
    AGENCIES, AGENCIES.c.id == USERS.c.agency_id
)
# The user only while the session's row exists (signing out, or disabling the account, deletes it).
_SIGNED_IN_SESSION = Prepared(
    select(*_USER_COLUMNS)
    .select_from(_USER_AND_PLACE.join(SESSIONS, SESSIONS.c.user_id == USERS.c.id))
    .where(USERS.c.id == bindparam("user_id"), SESSIONS.c.id == bindparam("session_id"))
)


def _signed_in(row: Any) -> tuple[Actor | None, str | None]:
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
        agency_id=row["agency_id"],
        agency_name=row["agency_name"] or "",
        must_change_password=bool(row["must_change_password"]),
    )
    return actor, stamp


def _session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signed_in_session(engine: Engine, user_id: int, token: str | None) -> tuple[Actor | None, str | None]:
    """The active user as an ``Actor`` (what ``users.actor_for`` gives) and its password stamp
    (``users.password_stamp``), in one query, while the session ``token`` (from :func:`start_session`: kept in a
    browser's signed cookie, or inside an API token) is open; (None, stamp) for a deactivated user, (None, None)
    for a closed session."""
    if not token:
        return None, None
    with single_read(engine) as conn:  # its own checkout, one statement (store.reads: why not the page's)
        row = first_noting_token(_SIGNED_IN_SESSION, conn, {"user_id": user_id, "session_id": _session_key(token)})
    return _signed_in(row)


def start_session(engine: Engine, user_id: int, *, now: datetime | None = None) -> str:
    """Open a browser session for the user; returns the random token its cookie carries. Sessions older
    than the configured lifetime are deleted on the way (their cookies have expired too)."""
    now = now or clock.utcnow()
    token = secrets.token_urlsafe(32)
    with write_transaction(engine) as conn:
        conn.execute(delete(SESSIONS).where(SESSIONS.c.created_at < now - _session_lifetime()))
        conn.execute(insert(SESSIONS).values(id=_session_key(token), user_id=user_id, created_at=now))
    return token


def end_session(engine: Engine, token: str | None) -> None:
    """Sign out on the server: the session's cookie, or any copy of it, no longer signs anyone in."""
    if token:
        with write_transaction(engine) as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.id == _session_key(token)))


def _session_lifetime() -> timedelta:
    """How long a session row is kept: a browser session's lifetime, or an API token's if that is longer."""
    settings = get_settings()
    return timedelta(minutes=max(settings.session_minutes, settings.token_minutes))


def current_stamp(engine: Engine, user_id: int) -> str:
    """The fingerprint of the user's password hash that a token or a session carries ('' if none)."""
    with reads(engine) as conn:
        return password_stamp(conn, user_id) or ""


def active_actor(engine: Engine, user_id: int) -> Actor | None:
    with reads(engine) as conn:
        return actor_for(conn, user_id)


def change_own_password(engine: Engine, actor: Actor, *, address: str, current: str, new: str) -> None:
    """Change the signed-in user's password. A wrong current password counts as a failed sign-in
    (throttled, reserved before it is checked); every token and session issued before stops working
    (their stamp no longer matches)."""
    assert actor.id is not None
    attempt = reserve_attempt(engine, username=actor.username, address=address)
    try:
        with write_transaction(engine) as conn:
            change_password(conn, user_id=actor.id, current_password=current, new_password=new)
            withdraw_attempt(conn, attempt)  # the right current password: not a failure
    except InvalidData as exc:
        if not any(e["field"] == "current_password" for e in exc.errors):
            with write_transaction(engine) as conn:
                withdraw_attempt(conn, attempt)
        raise


def place_name_of(engine: Engine, actor: Actor) -> str:
    """The name of the actor's jurisdiction ('' for an administrator of the whole system)."""
    if actor.jurisdiction_id is None:
        return ""
    with reads(engine) as conn:
        return place_name(conn, actor.jurisdiction_id)
