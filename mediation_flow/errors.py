"""Typed errors of the core. Each carries a stable code, a Chinese message and structured details;
the web layer maps them to HTTP statuses without knowing their insides."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"
    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class NotFound(DomainError):
    code = "not_found"
    status = 404


class CaseNotFound(NotFound):
    code = "case_not_found"


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class StoreUnavailable(DomainError):
    """The database connection was lost mid-transaction: nothing of it was written (the database rolls back
    what was not committed), and the next attempt gets a fresh connection."""

    code = "store_unavailable"
    status = 503


class StaleVersion(DomainError):
    code = "stale_version"
    status = 409


class UnknownTrigger(DomainError):
    code = "unknown_trigger"
    status = 422


class TriggerNotAllowed(DomainError):
    code = "trigger_not_allowed"
    status = 422


class GuardFailed(DomainError):
    code = "guard_failed"
    status = 422


class InvalidData(DomainError):
    """``errors`` is a list of ``{"field": ..., "message": ...}`` with Chinese messages."""

    code = "invalid_data"
    status = 422

    def __init__(self, errors: list[dict[str, str]], message: str = "提交的数据有误") -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class InvalidEffectiveTime(DomainError):
    code = "invalid_effective_time"
    status = 422


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    status = 401


class Conflict(DomainError):
    code = "conflict"
    status = 409


class IdempotencyKeyReused(DomainError):
    """An ``Idempotency-Key`` already accepted with another request body (IETF httpapi-idempotency-key)."""

    code = "idempotency_key_reused"
    status = 422


class PasswordChangeRequired(DomainError):
    """Signed in with a temporary password: nothing but changing it until it is changed."""

    code = "password_change_required"
    status = 403


class PrintTemplateInvalid(DomainError):
    """A printout template that cannot be filled (a township's own copy with a broken placeholder, an unknown
    field, or not a .docx): a message saying which and how to recover, not a server error."""

    code = "print_template_invalid"
    status = 422
