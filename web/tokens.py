"""Signed, expiring bearer tokens for the API (itsdangerous; no server-side store needed)."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from mediation_flow.config import get_settings

_SALT = "mediation-flow-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().resolved_secret_key(), salt=_SALT)


def issue_token(user_id: int) -> str:
    return _serializer().dumps({"uid": user_id})


def read_token(token: str) -> int | None:
    """The user id inside a valid, unexpired token; None otherwise."""
    try:
        payload = _serializer().loads(token, max_age=get_settings().token_minutes * 60)
    except (BadSignature, SignatureExpired):
        return None
    uid = payload.get("uid") if isinstance(payload, dict) else None
    return uid if isinstance(uid, int) else None
