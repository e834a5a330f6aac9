"""Signed, expiring bearer tokens for the API (itsdangerous; no server-side store needed).

A token carries the user id and a fingerprint of the user's password hash (``accounts.password_stamp``):
changing the password ends every token issued before.
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


def issue_token(user_id: int, stamp: str = "") -> str:
    return _serializer().dumps({"uid": user_id, "st": stamp})


def read_token_claims(token: str) -> tuple[int, str] | None:
    """(user id, password stamp) inside a valid, unexpired token; None otherwise."""
    try:
        payload = _serializer().loads(token, max_age=get_settings().token_minutes * 60)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict):
        return None
    uid, stamp = payload.get("uid"), payload.get("st", "")
    if not isinstance(uid, int) or isinstance(uid, bool) or not isinstance(stamp, str):
        return None
    return uid, stamp
