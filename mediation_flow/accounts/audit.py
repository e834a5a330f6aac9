"""Who saw personal data in full: the ``access_log`` table.

Mediators and supervisors see parties' whole ID numbers and phone numbers when they ask for them (查看完整信息
on the case page, ``identity=full`` in the API; the default views are masked and log nothing: 最小必要) and on
printouts; each such view is recorded (user, case, channel, when), at most once per user, case and channel
every ``DEDUP`` so that repeated looks do not flood the log. Supervisors read the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from mediation_flow.accounts.policy import Actor, Permission, can_see_case, require
from mediation_flow.errors import CaseNotFound
from mediation_flow.store import clock, group_commit
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import ACCESS_LOG as LOG
from mediation_flow.store.tables import CASES, USERS

VIEW_IDENTITY = "view_identity"
DEDUP = timedelta(minutes=10)


def _full(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "*" not in value


def record_identity_view(
    engine: Engine,
    *,
    actor: Actor,
    case_id: int,
    parties: Iterable[dict[str, Any]],
    channel: str,
    now: datetime | None = None,
) -> bool:
    """Log that ``actor`` was shown ``parties`` with full ID numbers or phones (if any were). True if logged."""
    shown = list(parties)
    ids = sum(1 for p in shown if _full(p.get("id_number")))
    phones = sum(1 for p in shown if _full(p.get("phone")))
    if not ids and not phones:
        return False
    return record_access(
        engine, actor=actor, case_id=case_id, channel=channel, detail=f"身份证号{ids}个，电话{phones}个", now=now
    )


def record_access(
    engine: Engine, *, actor: Actor, case_id: int, channel: str, detail: str, now: datetime | None = None
) -> bool:
    """Log that ``actor`` was given personal data in full through ``channel`` (a view, a printout, an ID
    copy downloaded), at most once per user, case and channel every ``DEDUP``. True if logged."""
    now = now or clock.utcnow()
    detail = f"{channel}：{detail}"
    recent = (
        select(LOG.c.id)
        .where(
            LOG.c.user_id == actor.id,
            LOG.c.case_id == case_id,
            LOG.c.action == VIEW_IDENTITY,
            LOG.c.detail.like(f"{channel}：%"),
            LOG.c.at > now - DEDUP,
        )
        .limit(1)
    )
    with reads(engine) as conn:  # the usual case, already logged: answered without taking the write lock
        if conn.execute(recent).first() is not None:
            return False
    # Durable before the view is answered; grouped with other requests' rows into one commit (one fsync).
    row = {"user_id": actor.id, "case_id": case_id, "action": VIEW_IDENTITY, "detail": detail[:255], "at": now}
    return group_commit.append(engine, LOG, row, unless=recent)


def access_history(engine: Engine, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """The case's access log, newest first: supervisors and admins only; CaseNotFound outside their area."""
    with reads(engine) as conn:
        return _history(conn, actor, case_id)


def _history(conn: Connection, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    row = conn.execute(select(CASES.c.jurisdiction_path, CASES.c.agency_id).where(CASES.c.id == case_id)).first()
    if row is None or not can_see_case(actor, dict(row._mapping)):
        raise CaseNotFound("案件不存在或无权查看", case_id=case_id)
    require(actor, Permission.READ_ACCESS_LOG)
    rows = conn.execute(
        select(LOG.c.id, LOG.c.action, LOG.c.detail, LOG.c.at, LOG.c.user_id, USERS.c.username, USERS.c.display_name)
        .select_from(LOG.outerjoin(USERS, USERS.c.id == LOG.c.user_id))
        .where(LOG.c.case_id == case_id)
        .order_by(LOG.c.at.desc(), LOG.c.id.desc())
    ).mappings()
    return [{**row, "at": clock.ensure_aware(row["at"])} for row in rows]
