"""Sign-in throttling: recent failures lock an account and a client address for a while.

Attempts live in the ``login_attempt`` table, so the count is shared by every uvicorn worker and
survives a restart. An account locks after ``ACCOUNT_FAILURES`` failures within ``WINDOW`` (a
success resets its count); an address after ``ADDRESS_FAILURES`` failures, whatever the usernames
(a township office shares one address, hence the higher limit). While locked, the password is not
even checked, so a locked account cannot be probed. An attempt is reserved — counted as a failure, after
the lock check, in one serialised transaction — before its password is checked (``reserve_attempt``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from mediation_flow.accounts.policy import Actor
from mediation_flow.accounts.users import authenticate
from mediation_flow.errors import DomainError
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import LOGIN_ATTEMPTS as ATTEMPTS

ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW = timedelta(minutes=15)
KEEP = timedelta(days=1)
_LOCK_KEY = 0x6D665F6C6F67696E  # "mf_login": the advisory lock that serialises reservations on PostgreSQL


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


def record_attempt(conn: Connection, *, username: str, address: str, succeeded: bool, now: datetime) -> int:
    """Insert one attempt; returns its id."""
    inserted = conn.execute(
        insert(ATTEMPTS).values(username=username[:64], address=address[:64], succeeded=succeeded, at=now)
    ).inserted_primary_key
    if not succeeded:
        conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.at < now - KEEP))
    assert inserted is not None  # an INSERT of one row always has its key
    return int(inserted[0])


def reserve_attempt(engine: Engine, *, username: str, address: str, now: datetime | None = None) -> int:
    """Decide the lock and record the attempt as a failure in one transaction, *before* the password is
    checked; returns the attempt's id (:func:`settle_attempt` turns it into a success). Reservations are
    serialised — SQLite's write lock, a transaction-scoped advisory lock on PostgreSQL — so a burst of
    concurrent attempts, across workers, cannot all pass the check before any failure is counted: at most
    ``ACCOUNT_FAILURES`` passwords are ever checked per window."""
    now = now or clock.utcnow()
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        check_not_locked(conn, username=username[:64], address=address, now=now)
        return record_attempt(conn, username=username, address=address, succeeded=False, now=now)


def settle_attempt(conn: Connection, attempt_id: int) -> None:
    """A reserved attempt succeeded (which resets the account's count)."""
    conn.execute(update(ATTEMPTS).where(ATTEMPTS.c.id == attempt_id).values(succeeded=True))


def withdraw_attempt(conn: Connection, attempt_id: int) -> None:
    """A reserved attempt turned out not to be a password guess (e.g. a password change refused for its
    new password): it does not count."""
    conn.execute(delete(ATTEMPTS).where(ATTEMPTS.c.id == attempt_id))


def sign_in(engine: Engine, *, username: str, password: str, address: str, now: datetime | None = None) -> Actor:
    """Reserve the attempt (lock decided, failure counted), then check the password; a right password turns
    the reservation into a success in the same transaction. Used by the API and the pages."""
    username = username[:64]
    attempt = reserve_attempt(engine, username=username, address=address, now=now)
    with write_transaction(engine) as conn:
        actor = authenticate(conn, username, password)  # AuthenticationFailed: the reservation stays a failure
        settle_attempt(conn, attempt)
    return actor
