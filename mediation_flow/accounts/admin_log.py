"""The administrators' change log: every change to jurisdictions, accounts and reference data, with who and when.

The rows are written in the same transaction as the change they describe, so a refused or failed change
leaves no line; passwords never appear in ``detail``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, insert, select

from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import ADMIN_LOG as LOG
from mediation_flow.store.tables import USERS

T = TypeVar("T")


def administer(engine: Engine, actor: Actor, change: Callable[[Connection, Actor], T]) -> T:
    """Run one administrator's change (a function of ``places.changes``, ``places.importing`` or
    ``accounts.management`` taking ``(conn, actor)``) in one transaction: all of it and its log lines, or
    nothing. Then the kept dashboards are forgotten: a moved place changes which subtree its cases count in."""
    from mediation_flow.stats.dashboard import clear_cache

    require(actor, Permission.ADMINISTER)
    with write_transaction(engine) as conn:
        result = change(conn, actor)
    clear_cache()
    return result


def inspect(engine: Engine, actor: Actor, read: Callable[[Connection], T]) -> T:
    """What the administration pages and API read (``read(conn)``): administrators only."""
    require(actor, Permission.ADMINISTER)
    with reads(engine) as conn:
        return read(conn)


def log_change(conn: Connection, actor: Actor, action: str, target: str, **detail: Any) -> None:
    """Record ``action`` on ``target`` (a jurisdiction code, a username, ``kind:code``) by ``actor``."""
    conn.execute(
        insert(LOG).values(actor_id=actor.id, action=action, target=target[:64], detail=detail, at=clock.utcnow())
    )


def recent_changes(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest ``limit`` changes, newest first, with the administrator's name."""
    rows = conn.execute(
        select(LOG.c.action, LOG.c.target, LOG.c.detail, LOG.c.at, USERS.c.display_name.label("by"))
        .select_from(LOG.outerjoin(USERS, USERS.c.id == LOG.c.actor_id))
        .order_by(LOG.c.at.desc(), LOG.c.id.desc())
        .limit(limit)
    ).mappings()
    return [{**row, "at": _aware(row["at"]), "by": row["by"] or "命令行"} for row in rows]


def _aware(moment: datetime) -> datetime:
    return clock.ensure_aware(moment)
