"""The phone's outbox (offline registration) as the server sees it: the key that seals a user's outbox on the
device, what a synced registration answers, and what the grid worker's home lists as synced.

The outbox lives in the browser's IndexedDB, each entry encrypted (AES-GCM) with a key the server derives for
the signed-in user (``outbox_seal``) and hands only to that user's session. The page keeps the key while the
user is signed in (so registering offline works) and deletes it at sign-out and on the login page: what stays
on the device is ciphertext that neither the next user of the browser nor anyone else can read, and that
becomes readable again only when the same user signs in (so nothing typed offline is lost by signing out).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from mediation_flow.accounts.personal_data import mask_text
from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.intake_once import Registered
from mediation_flow.cases.queries import get_case_row
from mediation_flow.display.formats import cn_datetime
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import CASES, INTAKE_KEYS

RECENT_DAYS = 7


def _derive(purpose: str, user_id: int) -> bytes:
    secret = get_settings().resolved_secret_key().encode()
    return hmac.new(secret, f"outbox:{purpose}:{user_id}".encode(), hashlib.sha256).digest()


def outbox_seal(actor: Actor) -> dict[str, str]:
    """The signed-in user's outbox key (32 bytes, base64url) and the opaque owner tag their entries carry
    (not the user id: a tag tells another user of the device nothing)."""
    assert actor.id is not None
    key = base64.urlsafe_b64encode(_derive("key", actor.id)).decode().rstrip("=")
    return {"key": key, "owner": _derive("owner", actor.id).hex()[:32]}


def _summary(row: Any, *, replayed: bool = False) -> dict[str, Any]:
    return {
        "case_id": int(row["id"]),
        "number": row["number"],
        "title": mask_text(row["title"]),
        "registered": cn_datetime(row["registered_at"]),
        "url": f"/cases/{int(row['id'])}",
        "replayed": replayed,
    }


def synced_answer(engine: Engine, actor: Actor, done: Registered) -> dict[str, Any]:
    """What the outbox is told of an entry it sent: the case, its number, its registration time as shown."""
    with reads(engine) as conn:
        return _summary(get_case_row(conn, actor, done.case_id), replayed=done.replayed)


@dataclass(frozen=True)
class Synced:
    case_id: int
    number: str
    title: str
    registered: str  # when the grid worker recorded it (on the phone)
    submitted: str  # when it reached the server


def recent_synced(engine: Engine, actor: Actor, *, limit: int = 10) -> list[Synced]:
    """The registrations ``actor``'s phone sent through its outbox in the last week, newest first."""
    if actor.id is None:
        return []
    since = clock.utcnow() - timedelta(days=RECENT_DAYS)
    query = (
        select(CASES.c.id, CASES.c.number, CASES.c.title, CASES.c.registered_at, INTAKE_KEYS.c.created_at)
        .join(CASES, CASES.c.id == INTAKE_KEYS.c.case_id)
        .where(INTAKE_KEYS.c.user_id == actor.id, INTAKE_KEYS.c.created_at >= since)
        .order_by(INTAKE_KEYS.c.created_at.desc())
        .limit(limit)
    )
    with reads(engine) as conn:
        rows = conn.execute(query).mappings().all()
    return [
        Synced(
            int(r["id"]),
            r["number"],
            mask_text(r["title"]),
            cn_datetime(r["registered_at"]),
            cn_datetime(r["created_at"]),
        )
        for r in rows
    ]
