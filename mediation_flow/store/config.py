"""Settings, from environment variables prefixed ``MEDIATION_FLOW_`` and an optional ``.env`` file.

This is the only module that reads the environment. Everything else asks :func:`get_settings` (one
cached object per process) or takes values as arguments: the clock, the working-day calendar, the CLI,
the web layer.

Demo mode (``MEDIATION_FLOW_DEMO_MODE=true``) is the only place a shifted clock is allowed:
``MEDIATION_FLOW_CLOCK_OFFSET_DAYS`` moves "now" forward so that a demo or a browser test can show a
case becoming overdue without waiting a month. Outside demo mode a non-zero offset is refused at
start-up, because the offset also moves ``recorded_at`` in the append-only audit trail.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "MEDIATION_FLOW_"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

DayList = Annotated[tuple[date, ...], NoDecode]


def parse_days(spec: str) -> list[date]:
    """Parse a comma-separated list of ISO dates (``YYYY-MM-DD``).

    Blank items (e.g. a trailing comma) are ignored; an invalid item raises ValueError naming it.
    """
    days: list[date] = []
    for position, raw in enumerate(spec.split(","), start=1):
        item = raw.strip()
        if not item:
            continue
        if not _ISO_DAY.fullmatch(item):
            raise ValueError(f"invalid date {item!r} (item {position}): expected YYYY-MM-DD")
        try:
            days.append(date.fromisoformat(item))
        except ValueError as exc:
            raise ValueError(f"invalid date {item!r} (item {position}): {exc}") from None
    return days


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    workflows_dir: Path | None = None
    secret_key: str = ""
    timezone: str = "Asia/Shanghai"
    sqlite_synchronous: str = "FULL"
    token_minutes: int = 8 * 60
    session_minutes: int = 12 * 60
    due_soon_working_days: int = 2
    outbox_max_days: int = Field(default=7, ge=1, le=90)  # how old an offline registration may be at sync
    # How long an Idempotency-Key is remembered (cases.intake_once); never less than outbox_max_days + 1.
    intake_key_days: int = Field(default=30, ge=1, le=3650)
    escalate_after_working_days: int = Field(default=3, ge=1)
    extra_holidays: DayList = ()
    extra_workdays: DayList = ()
    # Secure cookies: "auto" when the request came over HTTPS (behind the proxy: uvicorn --proxy-headers and
    # X-Forwarded-Proto, as the production set-up runs it), "always", or "never".
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    # JSON log lines on stderr (off: records go only to the host's logging, e.g. a test run's log capture)
    log_stderr: bool = True
    demo_mode: bool = False
    clock_offset_days: float = 0.0

    @field_validator("extra_holidays", "extra_workdays", mode="before")
    @classmethod
    def _days(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return tuple(parse_days(value))
        except ValueError as exc:
            raise ValueError(f"{ENV_PREFIX}{str(info.field_name).upper()}: {exc}") from None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{ENV_PREFIX}TIMEZONE: unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _offset_only_in_demo(self) -> Settings:
        if self.clock_offset_days and not self.demo_mode:
            raise ValueError(
                f"{ENV_PREFIX}CLOCK_OFFSET_DAYS is only allowed with {ENV_PREFIX}DEMO_MODE=true "
                "(a shifted clock would falsify recorded_at in the audit trail)"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The township's time zone (local days for deadlines, report periods, dates on pages)."""
        return ZoneInfo(self.timezone)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mediation_flow.db').as_posix()}"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data directory (read once per settings: every
        API request checks a token with it; a new key takes a restart, as a changed setting does)."""
        return self._secret_key

    @cached_property
    def _secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():  # several workers may start at once: the first link wins, all read it
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            draft = path.with_name(f".secret_key.{os.getpid()}")
            draft.write_text(secrets.token_urlsafe(48))
            draft.chmod(0o600)
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process's settings (environment and ``.env``), read once; tests clear the cache after changing them."""
    return Settings()
