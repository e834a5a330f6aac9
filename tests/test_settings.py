"""One settings object: ``.env`` reaches the calendar, the time zone and the CLI; the clock offset exists only
in demo mode, and every page then says so."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import PASSWORD, Town
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from mediation_flow.store import clock
from mediation_flow.store.config import Settings, get_settings
from web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
BANNER = "演示模式：系统时间已调整 30 天"

PROBE = """
from datetime import UTC, date, datetime
from mediation_flow.store import clock
from mediation_flow.workflow.workdays import default_calendar
print(clock.LOCAL_TZ)
print(clock.local_date(datetime(2025, 3, 3, 2, 0, tzinfo=UTC)))
print(default_calendar().is_workday(date(2025, 3, 3)), default_calendar().is_workday(date(2025, 3, 1)))
"""


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_FLOW_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def run_in(folder: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=folder, env=clean_env(**env), capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Settings re-read from this test's environment (no ``.env`` of the developer's)."""
    for name in [k for k in os.environ if k.startswith("MEDIATION_FLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEDIATION_FLOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_dotenv_sets_the_time_zone_and_the_calendar(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "MEDIATION_FLOW_TIMEZONE=America/New_York\n"
        "MEDIATION_FLOW_EXTRA_HOLIDAYS=2025-03-03\n"
        "MEDIATION_FLOW_EXTRA_WORKDAYS=2025-03-01\n"
    )
    with_env = run_in(tmp_path, PROBE)
    assert with_env.returncode == 0, with_env.stderr
    assert with_env.stdout.split("\n")[:3] == ["America/New_York", "2025-03-02", "False True"]

    (tmp_path / ".env").unlink()
    without = run_in(tmp_path, PROBE)
    assert without.returncode == 0, without.stderr
    assert without.stdout.split("\n")[:3] == ["Asia/Shanghai", "2025-03-03", "True False"]


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MEDIATION_FLOW_TIMEZONE=America/New_York\n")
    result = run_in(tmp_path, PROBE, MEDIATION_FLOW_TIMEZONE="Asia/Shanghai")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["Asia/Shanghai", "2025-03-03"]


def test_settings_read_a_given_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "township.env"
    env_file.write_text(
        "MEDIATION_FLOW_TIMEZONE=Asia/Urumqi\nMEDIATION_FLOW_EXTRA_HOLIDAYS=2025-03-03, 2025-03-04,\n"
        "MEDIATION_FLOW_ESCALATE_AFTER_WORKING_DAYS=5\n"
    )
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert str(settings.zone) == "Asia/Urumqi"
    assert [d.isoformat() for d in settings.extra_holidays] == ["2025-03-03", "2025-03-04"]
    assert settings.escalate_after_working_days == 5


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("MEDIATION_FLOW_TIMEZONE=Mars/Olympus", "MEDIATION_FLOW_TIMEZONE"),
        ("MEDIATION_FLOW_EXTRA_WORKDAYS=2025-03-01,1/3/2025", "MEDIATION_FLOW_EXTRA_WORKDAYS.*'1/3/2025'"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(tmp_path: Path, line: str, named: str) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text(line + "\n")
    with pytest.raises(ValidationError, match=named):
        Settings(_env_file=env_file)  # type: ignore[call-arg]


def test_the_clock_offset_is_refused_outside_demo_mode(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CLOCK_OFFSET_DAYS is only allowed with MEDIATION_FLOW_DEMO_MODE"):
        Settings(_env_file=None, clock_offset_days=30)  # type: ignore[call-arg]
    assert Settings(_env_file=None, clock_offset_days=30, demo_mode=True).clock_offset_days == 30  # type: ignore[call-arg]
    # a deployment that sets the offset by mistake does not start at all, so nothing is recorded with it
    result = subprocess.run(
        [sys.executable, "-m", "mediation_flow.cli", "db", "upgrade"],
        cwd=tmp_path,
        env=clean_env(MEDIATION_FLOW_DATA_DIR=str(tmp_path), MEDIATION_FLOW_CLOCK_OFFSET_DAYS="30"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CLOCK_OFFSET_DAYS is only allowed" in result.stderr
    assert not (tmp_path / "mediation_flow.db").exists()


def test_the_clock_runs_ahead_only_in_demo_mode(fresh_settings: pytest.MonkeyPatch) -> None:
    real = datetime.now(UTC)
    assert abs(clock.utcnow() - real) < timedelta(minutes=1)
    assert clock.demo_offset_days() == 0

    fresh_settings.setenv("MEDIATION_FLOW_DEMO_MODE", "true")
    get_settings.cache_clear()
    assert abs(clock.utcnow() - real) < timedelta(minutes=1)  # demo mode alone does not move the clock

    fresh_settings.setenv("MEDIATION_FLOW_CLOCK_OFFSET_DAYS", "30")
    get_settings.cache_clear()
    assert abs(clock.utcnow() - (real + timedelta(days=30))) < timedelta(minutes=1)


def banner_of(html: str) -> str | None:
    match = re.search(r'<p class="demo-banner" role="status">([^<]*)</p>', html)
    return match.group(1) if match else None


def test_every_page_shows_the_demo_banner_while_the_clock_is_shifted(
    engine: Engine, town: Town, fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("MEDIATION_FLOW_DEMO_MODE", "true")
    fresh_settings.setenv("MEDIATION_FLOW_CLOCK_OFFSET_DAYS", "30")
    get_settings.cache_clear()
    client = TestClient(create_app(engine), follow_redirects=False)
    login = client.get("/login")
    assert banner_of(login.text) == BANNER
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', login.text)
    assert csrf is not None
    signed_in = client.post("/login", data={"username": "supervisor", "password": PASSWORD, "csrf_token": csrf[1]})
    assert signed_in.status_code == 303
    pages: dict[str, Any] = {url: client.get(url) for url in ("/queue", "/dashboard", "/cases", "/no-such-page")}
    assert {url: (r.status_code, banner_of(r.text)) for url, r in pages.items()} == {
        "/queue": (200, BANNER),
        "/dashboard": (200, BANNER),
        "/cases": (200, BANNER),
        "/no-such-page": (404, BANNER),
    }

    fresh_settings.delenv("MEDIATION_FLOW_CLOCK_OFFSET_DAYS")
    fresh_settings.delenv("MEDIATION_FLOW_DEMO_MODE")
    get_settings.cache_clear()
    assert banner_of(client.get("/queue").text) is None
    assert "演示模式" not in client.get("/login").text
