"""Registration once per ``Idempotency-Key`` (the IETF httpapi draft's header): a phone's outbox, a double
tap or two tabs may send one registration many times; the first makes the case, every other gets that case.

The key is claimed in the registration's own transaction (``intake_key``'s primary key is (user, key)):
two workers racing with one key serialise on it, the loser's transaction rolls back whole, and it answers
with the winner's case. The same key with a different body is refused (``IdempotencyKeyReused``).

Keys are remembered for ``key_window`` (settings ``intake_key_days``, 30 days, never less than the outbox's
age plus a day): each new claim forgets the keys older than that, in its own transaction. A replay within
the window always finds its key. One after it that carries the time recorded on the phone is refused as
too old by ``registration_time`` (the outbox keeps entries for ``outbox_max_days`` only), so a forgotten
key cannot make a second case either; only a key sent without a recorded time (a double tap, online) could
register again after 30 days.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.intake import parse_intake, register_in, registration_time
from mediation_flow.errors import IdempotencyKeyReused, InvalidData
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.db import write_transaction
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import INTAKE_KEYS
from mediation_flow.workflow.registry import REGISTRY, WorkflowRegistry

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}", re.ASCII)  # visible ASCII; clients send a UUID


@dataclass(frozen=True)
class Registered:
    case_id: int
    replayed: bool  # the key had been accepted before: nothing was created


def check_key(value: str) -> str:
    """The header's value, or InvalidData when it is not 1-255 visible ASCII characters."""
    key = value.strip().strip('"')  # the draft writes it as a quoted string
    if not _KEY.fullmatch(key):
        raise InvalidData([{"field": HEADER, "message": "提交编号格式不正确（1至255个英文字母、数字或符号）"}])
    return key


def request_digest(payload: Any) -> str:
    """A digest of the request body, independent of key order and spacing."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_window() -> timedelta:
    """How long a key is remembered: ``intake_key_days``, at least a day longer than the outbox keeps entries."""
    settings = get_settings()
    return timedelta(days=max(settings.intake_key_days, settings.outbox_max_days + 1))


def _claimed(engine: Engine, user_id: int, key: str) -> Any:
    with reads(engine) as conn:
        query = select(INTAKE_KEYS).where(INTAKE_KEYS.c.user_id == user_id, INTAKE_KEYS.c.key == key)
        return conn.execute(query).first()


def _replay(found: Any, digest: str) -> Registered:
    if found.request_digest != digest:
        raise IdempotencyKeyReused("此提交编号已用于另一份内容不同的登记，请勿重复使用", key=found.key)
    return Registered(int(found.case_id), True)


def register_once(
    engine: Engine,
    *,
    actor: Actor,
    key: str,
    intake: dict[str, Any],
    effective_at: datetime | None = None,
    now: datetime | None = None,
    registry: WorkflowRegistry = REGISTRY,
) -> Registered:
    """Register ``intake`` unless ``actor`` already sent ``key``; ``effective_at`` is the time recorded on the
    phone, accepted back to the outbox's age (settings ``outbox_max_days``)."""
    key = check_key(key)
    if actor.id is None:
        raise InvalidData([{"field": HEADER, "message": "提交编号须由已登录的用户发送"}])
    digest = request_digest({"intake": intake, "effective_at": effective_at.isoformat() if effective_at else None})
    found = _claimed(engine, actor.id, key)
    if found is not None:
        return _replay(found, digest)
    data = parse_intake(intake)
    now = now or clock.utcnow()
    moment = registration_time(actor, effective_at, now, outbox=timedelta(days=get_settings().outbox_max_days))
    claim = {"user_id": actor.id, "key": key}
    try:
        with write_transaction(engine) as conn:
            conn.execute(delete(INTAKE_KEYS).where(INTAKE_KEYS.c.created_at < now - key_window()))
            conn.execute(insert(INTAKE_KEYS).values(**claim, request_digest=digest, case_id=None, created_at=now))
            case_id = register_in(conn, actor=actor, data=data, moment=moment, now=now, registry=registry)
            where = (INTAKE_KEYS.c.user_id == actor.id, INTAKE_KEYS.c.key == key)
            conn.execute(update(INTAKE_KEYS).where(*where).values(case_id=case_id))
    except IntegrityError:
        found = _claimed(engine, actor.id, key)
        if found is None or found.case_id is None:
            raise
        return _replay(found, digest)
    return Registered(case_id, False)
