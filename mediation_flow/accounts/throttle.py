"""Sign-in throttling: recent failures lock an account and a client address for a while.

Attempts live in the ``login_attempt`` table, so the count is shared by every uvicorn worker and
survives a restart. An account locks after ``ACCOUNT_FAILURES`` failures within ``WINDOW`` (a
success resets its count); an address after ``ADDRESS_FAILURES`` failures, whatever the usernames
(a township office shares one address, hence the higher limit). While locked, the password is not
even checked, so a locked account cannot be probed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import authenticate
from mediation_flow.errors import AuthenticationFailed, DomainError
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import LOGIN_ATTEMPTS as ATTEMPTS

ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW = timedelta(minutes=15)
KEEP = timedelta(days=1)


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429


def _failures(conn: Connection, column: str, value: str, since: datetime) -> tuple[int, datetime | None]:
    """Failures on ``column == value`` since ``since`` (and after the last success, for accounts)."""
    col = ATTEMPTS.c[column]
    after_id = 0
    if column == "username":
        after_id = (
            conn.execute(
                select(func.max(ATTEMPTS.c.id)).where(
                    col == value, ATTEMPTS.c.succeeded.is_(True), ATTEMPTS.c.at > since
                )
            ).scalar()
            or 0
        )
    count, oldest = conn.execute(
        select(func.count(), func.min(ATTEMPTS.c.at)).where(
            col == value, ATTEMPTS.c.succeeded.is_(False), ATTEMPTS.c.at > since, ATTEMPTS.c.id > after_id
        )
    ).one()
    return int(count), clock.ensure_aware(oldest) if oldest is not None else None


def check_not_locked(conn: Connection, *, username: str, address: str, now: datetime) -> None:
    """Raise :class:`TooManyAttempts` (429, Chinese message) if the account or the address is locked."""
    since = now - WINDOW
    for column, value, limit, who in (
        ("username", username, ACCOUNT_FAILURES, "该账号"),
        ("address", address, ADDRESS_FAILURES, "当前网络地址"),
    ):
        count, oldest = _failures(conn, column, value, since)
        if count >= limit and oldest is not None:
            minutes = max(1, math.ceil((oldest + WINDOW - now).total_seconds() / 60))
            raise TooManyAttempts(
                f"{who}登录失败次数过多，已暂时锁定，请{minutes}分钟后再试",
                retry_after=minutes * 60,
            )


def record_attempt(conn: Connection, *, username: str, address: str, succeeded: bool, now: datetime) -> None:
    conn.execute(insert(ATTEMPTS).values(username=username[:64], address=address[:64], succeeded=succeeded, at=now))
    if not succeeded:
        conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.at < now - KEEP))


def sign_in(engine: Engine, *, username: str, password: str, address: str, now: datetime | None = None) -> Actor:
    """Check the lock, then the password; record the attempt either way. Used by the API and the pages."""
    now = now or clock.utcnow()
    username = username[:64]
    with engine.connect() as conn:
        check_not_locked(conn, username=username, address=address, now=now)
    try:
        with write_transaction(engine) as conn:
            actor = authenticate(conn, username, password)
            record_attempt(conn, username=username, address=address, succeeded=True, now=now)
    except AuthenticationFailed:
        with write_transaction(engine) as conn:
            record_attempt(conn, username=username, address=address, succeeded=False, now=now)
        raise
    return actor


def record_failure(engine: Engine, *, username: str, address: str, now: datetime | None = None) -> None:
    """Count a wrong password given elsewhere (e.g. the current password on a password change)."""
    with write_transaction(engine) as conn:
        record_attempt(conn, username=username, address=address, succeeded=False, now=now or clock.utcnow())
