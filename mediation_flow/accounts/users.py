"""Users and passwords (Argon2)."""

from __future__ import annotations

import hashlib
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from mediation_flow.accounts.policy import Actor
from mediation_flow.errors import AuthenticationFailed, Conflict, InvalidData, NotFound
from mediation_flow.places.agencies import get_agency, get_agency_by_id
from mediation_flow.places.jurisdictions import get_by_code, get_by_id
from mediation_flow.store.tables import USERS
from mediation_flow.textinput import TextRefused, clean_text
from mediation_flow.vocabulary import Role

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# Verifying against this when the user does not exist keeps the timing the same (no user enumeration).
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidData([{"field": "password", "message": f"密码至少{MIN_PASSWORD_LENGTH}位"}])
    if password.isdigit() or password.isalpha():
        raise InvalidData([{"field": "password", "message": "密码须同时包含字母和数字"}])


def add_user(
    conn: Connection,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    jurisdiction_code: str | None = None,
    agency_code: str | None = None,
) -> int:
    """A new active user. A partner agency's user (the three agency roles) names its agency instead of a
    jurisdiction: it works in the area the agency serves."""
    check_password_strength(password)
    try:  # the text-input policy, as for every other input (the CLI's included)
        username = clean_text(username, label="用户名", max_length=64, multiline=False)
        display_name = clean_text(display_name, label="姓名", max_length=64, multiline=False)
    except TextRefused as exc:
        raise InvalidData([{"field": "username", "message": str(exc)}]) from None
    if not username:
        raise InvalidData([{"field": "username", "message": "请填写用户名"}])
    agency_id, jurisdiction_id = _agency_of(conn, role, agency_code)
    if jurisdiction_id is None:
        if role != Role.ADMIN and not jurisdiction_code:
            raise InvalidData([{"field": "jurisdiction", "message": "除管理员外，用户必须属于一个辖区"}])
        jurisdiction_id = get_by_code(conn, jurisdiction_code).id if jurisdiction_code else None
    if conn.execute(select(USERS.c.id).where(USERS.c.username == username)).first():
        raise Conflict(f"用户名已存在：{username}")
    inserted = conn.execute(
        insert(USERS).values(
            username=username,
            display_name=display_name or username,
            role=role.value,
            jurisdiction_id=jurisdiction_id,
            agency_id=agency_id,
            password_hash=hash_password(password),
            is_active=True,
        )
    ).inserted_primary_key
    assert inserted is not None  # an INSERT of one row always has its key
    return int(inserted[0])


def _agency_of(conn: Connection, role: Role, agency_code: str | None) -> tuple[int | None, int | None]:
    """(agency id, jurisdiction id) of a partner agency's user; (None, None) for the other roles."""
    kind = role.agency_kind
    if kind is None:
        if agency_code:
            raise InvalidData([{"field": "agency", "message": "只有派出所、人民法庭、信访部门的对接人员属于对接单位"}])
        return None, None
    if not agency_code:
        raise InvalidData([{"field": "agency", "message": f"{role.label}的用户必须属于一个对接单位"}])
    try:
        agency = get_agency(conn, agency_code)
    except NotFound as exc:
        raise InvalidData([{"field": "agency", "message": exc.message}]) from None
    if agency.kind != kind:
        raise InvalidData([{"field": "agency", "message": f"{agency.name}不是{kind.label}，与角色不符"}])
    return agency.id, agency.jurisdiction_id


def set_agency(conn: Connection, *, username: str, agency_code: str) -> None:
    """Attach an existing agency-role user to its agency (e.g. a ``liaison`` renamed by migration 0011)."""
    row = conn.execute(select(USERS.c.id, USERS.c.role).where(USERS.c.username == username)).first()
    if row is None:
        raise NotFound(f"用户不存在：{username[:64]}")
    agency_id, jurisdiction_id = _agency_of(conn, Role(row.role), agency_code)
    if agency_id is None:
        raise InvalidData([{"field": "agency", "message": "只有派出所、人民法庭、信访部门的对接人员属于对接单位"}])
    conn.execute(update(USERS).where(USERS.c.id == row.id).values(agency_id=agency_id, jurisdiction_id=jurisdiction_id))


def set_password(conn: Connection, *, user_id: int, password: str) -> None:
    """A password the user chose (so no longer a temporary one to be changed)."""
    check_password_strength(password)
    conn.execute(
        update(USERS)
        .where(USERS.c.id == user_id)
        .values(password_hash=hash_password(password), must_change_password=False)
    )


def change_password(conn: Connection, *, user_id: int, current_password: str, new_password: str) -> None:
    """Change one's own password: the current one must be given; the new one must differ and be strong."""
    row = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, current_password)
    except (VerificationError, InvalidHashError):
        raise InvalidData([{"field": "current_password", "message": "当前密码不正确"}]) from None
    if new_password == current_password:
        raise InvalidData([{"field": "new_password", "message": "新密码不能与当前密码相同"}])
    set_password(conn, user_id=user_id, password=new_password)


def password_stamp(conn: Connection, user_id: int) -> str | None:
    """A short fingerprint of the password hash: tokens carry it, so a password change ends them."""
    hashed = conn.execute(select(USERS.c.password_hash).where(USERS.c.id == user_id)).scalar()
    return stamp_of(hashed)


def stamp_of(hashed: str | None) -> str | None:
    """The fingerprint ``password_stamp`` gives for this password hash."""
    return hashlib.sha256(hashed.encode()).hexdigest()[:16] if hashed else None


def accounts_with_password(conn: Connection, candidates: dict[str, str]) -> list[str]:
    """Which of ``{username: password}`` still sign in with that password (e.g. the demo defaults)."""
    rows = conn.execute(select(USERS.c.username, USERS.c.password_hash).where(USERS.c.username.in_(candidates)))
    found = []
    for username, hashed in rows:
        try:
            if _hasher.verify(hashed, candidates[username]):
                found.append(username)
        except (VerificationError, InvalidHashError):
            continue
    return sorted(found)


def actor_for(conn: Connection, user_id: int) -> Actor | None:
    row = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
    if row is None or not row.is_active:
        return None
    return _actor(conn, row)


def any_actor(conn: Connection, user_id: int) -> Actor | None:
    """The user as an ``Actor`` whether or not still active (who acted in a past step being recorded)."""
    row = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
    return None if row is None else _actor(conn, row)


def _actor(conn: Connection, row: Any) -> Actor:
    scope = get_by_id(conn, row.jurisdiction_id).path if row.jurisdiction_id else None
    agency = get_agency_by_id(conn, row.agency_id) if row.agency_id is not None else None
    return Actor(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        scope_path=scope,
        display_name=row.display_name,
        jurisdiction_id=row.jurisdiction_id,
        agency_id=row.agency_id,
        agency_name=agency.name if agency else "",
        must_change_password=bool(row.must_change_password),
    )


def authenticate(conn: Connection, username: str, password: str) -> Actor:
    row = conn.execute(select(USERS).where(USERS.c.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise AuthenticationFailed("用户名或密码错误") from None
    if row is None or not row.is_active:
        raise AuthenticationFailed("用户名或密码错误")
    if _hasher.check_needs_rehash(row.password_hash):
        conn.execute(update(USERS).where(USERS.c.id == row.id).values(password_hash=hash_password(password)))
    return _actor(conn, row)
