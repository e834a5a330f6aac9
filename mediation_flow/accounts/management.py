"""Account management by an administrator: list, add, disable / re-enable, reset a password, change role and
jurisdiction. Each change is checked by the policy, written with its line in the change log, in the caller's
transaction. A disabled account stops at its next request (every request reads ``is_active``); a reset password
is shown once and must be changed at the next sign-in.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from mediation_flow.accounts.admin_log import log_change
from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.accounts.users import add_user, hash_password
from mediation_flow.errors import Conflict, InvalidData, NotFound
from mediation_flow.places.changes import checked_line
from mediation_flow.places.jurisdictions import get_by_code
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.store.tables import SESSIONS, USERS
from mediation_flow.vocabulary import AGENCY_ROLES, Role

USERNAME_LIMIT = 64
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: str
    jurisdiction_code: str | None
    jurisdiction_name: str | None
    is_active: bool
    must_change_password: bool


def temporary_password() -> str:
    """12 characters, letters and digits both (the strength rule), none easily confused when read aloud."""
    while True:
        word = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        if any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
            return word


def list_accounts(conn: Connection, actor: Actor, *, role: str | None = None) -> list[Account]:
    """Every account (of ``role``), active first, by role and username."""
    require(actor, Permission.ADMINISTER)
    query = (
        select(USERS, JUR.c.code.label("place_code"), JUR.c.name.label("place_name"))
        .select_from(USERS.outerjoin(JUR, JUR.c.id == USERS.c.jurisdiction_id))
        .order_by(USERS.c.is_active.desc(), USERS.c.role, USERS.c.username)
    )
    if role:
        query = query.where(USERS.c.role == role)
    return [_account(r) for r in conn.execute(query)]


def _account(r: Any) -> Account:
    return Account(
        r.id,
        r.username,
        r.display_name,
        r.role,
        r.place_code,
        r.place_name,
        bool(r.is_active),
        bool(r.must_change_password),
    )


def get_account(conn: Connection, username: str) -> Account:
    row = conn.execute(
        select(USERS, JUR.c.code.label("place_code"), JUR.c.name.label("place_name"))
        .select_from(USERS.outerjoin(JUR, JUR.c.id == USERS.c.jurisdiction_id))
        .where(USERS.c.username == username)
    ).first()
    if row is None:
        raise NotFound(f"用户不存在：{username[:64]}")
    return _account(row)


def check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > USERNAME_LIMIT or not all(c.isalnum() or c in "._-" for c in username):
        raise InvalidData([{"field": "username", "message": "用户名为1至64位字母、数字、汉字或 . _ -"}])
    return username


def create_account(
    conn: Connection,
    actor: Actor,
    *,
    username: str,
    role: Role,
    display_name: str,
    jurisdiction_code: str | None,
    password: str | None = None,
    agency_code: str | None = None,
) -> tuple[Account, str | None]:
    """A new account; without ``password`` a temporary one is made, returned once, and must be changed at the
    first sign-in. Returns (the account, the temporary password or None)."""
    require(actor, Permission.ADMINISTER)
    username = check_username(username)
    if role not in AGENCY_ROLES:  # a partner agency's user names its agency instead (users.add_user checks it)
        _check_place(conn, role, jurisdiction_code)
    temporary = None if password else temporary_password()
    add_user(
        conn,
        username=username,
        password=password or temporary or "",
        role=role,
        display_name=checked_line(display_name, field="display_name", label="姓名", limit=64) if display_name else "",
        jurisdiction_code=jurisdiction_code or None,
        agency_code=agency_code,
    )
    if temporary:
        conn.execute(update(USERS).where(USERS.c.username == username).values(must_change_password=True))
    log_change(conn, actor, "account_add", username, role=role.value, jurisdiction=jurisdiction_code)
    return get_account(conn, username), temporary


def _check_place(conn: Connection, role: Role, jurisdiction_code: str | None) -> None:
    """A user other than an administrator belongs to an active jurisdiction."""
    if role == Role.ADMIN:
        return
    if not jurisdiction_code:
        raise InvalidData([{"field": "jurisdiction", "message": "除管理员外，用户必须属于一个辖区"}])
    try:
        place = get_by_code(conn, jurisdiction_code)
    except NotFound:
        raise InvalidData([{"field": "jurisdiction", "message": f"辖区代码不存在：{jurisdiction_code[:32]}"}]) from None
    if not place.active:
        raise InvalidData([{"field": "jurisdiction", "message": f"{place.name}已撤销"}])


def set_active(conn: Connection, actor: Actor, *, username: str, active: bool) -> Account:
    """Disable (its tokens stop at once, its browser sessions end for good: re-enabling does not bring them
    back) or re-enable an account. One may not disable oneself, nor the last active administrator."""
    require(actor, Permission.ADMINISTER)
    account = get_account(conn, username)
    if account.is_active == active:
        return account  # nothing to change, nothing to log (a second tap, a stale page)
    if not active:
        if account.id == actor.id:
            raise Conflict("不能停用自己的账号")
        _keep_an_admin(conn, account)
        conn.execute(delete(SESSIONS).where(SESSIONS.c.user_id == account.id))
    conn.execute(update(USERS).where(USERS.c.id == account.id).values(is_active=active))
    log_change(conn, actor, "account_enable" if active else "account_disable", username)
    return get_account(conn, username)


def _keep_an_admin(conn: Connection, account: Account) -> None:
    if account.role != Role.ADMIN or not account.is_active:
        return
    admins = conn.execute(
        select(func.count()).select_from(USERS).where(USERS.c.role == Role.ADMIN.value, USERS.c.is_active.is_(True))
    ).scalar()
    if (admins or 0) <= 1:
        raise Conflict("这是最后一个在用的管理员账号，不能停用或改为其他角色")


def reset_password(conn: Connection, actor: Actor, *, username: str) -> str:
    """A new temporary password (returned once, never stored in clear); the account must change it at the next
    sign-in, and its sessions and tokens end (they carry the old password's stamp)."""
    require(actor, Permission.ADMINISTER)
    account = get_account(conn, username)
    password = temporary_password()
    conn.execute(
        update(USERS)
        .where(USERS.c.id == account.id)
        .values(password_hash=hash_password(password), must_change_password=True)
    )
    log_change(conn, actor, "account_reset_password", username)
    return password


def change_placement(
    conn: Connection, actor: Actor, *, username: str, role: Role, jurisdiction_code: str | None
) -> Account:
    """A new role and jurisdiction (an administrator has none)."""
    require(actor, Permission.ADMINISTER)
    account = get_account(conn, username)
    if role in AGENCY_ROLES or account.role in AGENCY_ROLES:
        raise InvalidData([{"field": "role", "message": "对接单位的账号请用 mediation-flow users set-agency 调整"}])
    if role == account.role and (role == Role.ADMIN or (jurisdiction_code or None) == account.jurisdiction_code):
        return account  # the same role and place: its sessions stay, and the log gets no line
    if role != Role.ADMIN:
        _keep_an_admin(conn, account)
        conn.execute(delete(SESSIONS).where(SESSIONS.c.user_id == account.id))
    _check_place(conn, role, jurisdiction_code)
    place_id = get_by_code(conn, jurisdiction_code).id if role != Role.ADMIN and jurisdiction_code else None
    conn.execute(update(USERS).where(USERS.c.id == account.id).values(role=role.value, jurisdiction_id=place_id))
    log_change(
        conn,
        actor,
        "account_placement",
        username,
        before={"role": account.role, "jurisdiction": account.jurisdiction_code},
        after={"role": role.value, "jurisdiction": jurisdiction_code if place_id else None},
    )
    return get_account(conn, username)


def rename_account(conn: Connection, actor: Actor, *, username: str, display_name: str) -> Account:
    require(actor, Permission.ADMINISTER)
    account = get_account(conn, username)
    name = checked_line(display_name, field="display_name", label="姓名", limit=64)
    if name == account.display_name:
        return account
    conn.execute(update(USERS).where(USERS.c.id == account.id).values(display_name=name))
    log_change(conn, actor, "account_rename", username, before=account.display_name, after=name)
    return get_account(conn, username)
