"""Settings, from environment variables prefixed ``MEDIATION_FLOW_`` and an optional ``.env`` file."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_FLOW_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    workflows_dir: Path | None = None
    secret_key: str = ""
    timezone: str = "Asia/Shanghai"
    sqlite_synchronous: str = "FULL"
    token_minutes: int = 8 * 60
    session_minutes: int = 12 * 60
    due_soon_working_days: int = 2
    extra_holidays: str = ""
    extra_workdays: str = ""
    demo: bool = False

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mediation_flow.db').as_posix()}"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():  # several workers may start at once: the first link wins, all read it
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".secret_key.{os.getpid()}")
            draft.write_text(secrets.token_urlsafe(48))
            draft.chmod(0o600)
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
