"""Signed, expiring bearer tokens for the API (itsdangerous; no server-side store needed).

A token carries the user id, a fingerprint of the user's password hash (``accounts.password_stamp``: changing
the password ends every token issued before) and the key of a server-side session opened when it was issued
(``accounts.sessions.start_session``): disabling the account deletes its sessions, so its tokens stay dead when
the account is enabled again.
"""

from __future__ import annotations

from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from mediation_flow.store.config import get_settings

_SALT = "mediation-flow-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return _serializer_for(get_settings().resolved_secret_key())


@lru_cache(maxsize=4)
def _serializer_for(secret_key: str) -> URLSafeTimedSerializer:
    """One serializer per key (every API request reads a token; a new key gets its own)."""
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def issue_token(user_id: int, stamp: str = "", session: str = "") -> str:
    return _serializer().dumps({"uid": user_id, "st": stamp, "sid": session})


def read_token_claims(token: str) -> tuple[int, str, str] | None:
    """(user id, password stamp, session) inside a valid, unexpired token; None otherwise."""
    try:
        payload = _serializer().loads(token, max_age=get_settings().token_minutes * 60)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict):
        return None
    uid, stamp, session = payload.get("uid"), payload.get("st", ""), payload.get("sid", "")
    if not isinstance(uid, int) or isinstance(uid, bool) or not isinstance(stamp, str) or not isinstance(session, str):
        return None
    return uid, stamp, session
