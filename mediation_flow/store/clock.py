"""The one source of 'now'. Time is an argument everywhere else; this is where it comes from.

``MEDIATION_FLOW_CLOCK_OFFSET_DAYS`` (or :func:`set_offset`) moves the clock forward, for demos and
browser tests that need a case to become overdue without waiting a month.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_offset = timedelta(days=float(os.environ.get("MEDIATION_FLOW_CLOCK_OFFSET_DAYS", "0") or 0))
LOCAL_TZ = ZoneInfo(os.environ.get("MEDIATION_FLOW_TIMEZONE", "Asia/Shanghai"))


def utcnow() -> datetime:
    """Aware UTC now, shifted by the configured offset."""
    return datetime.now(UTC) + _offset


def set_offset(offset: timedelta) -> None:
    global _offset
    _offset = offset


def get_offset() -> timedelta:
    return _offset


def local_date(moment: datetime) -> date:
    """The calendar date in the township's time zone (deadlines count in local days)."""
    return moment.astimezone(LOCAL_TZ).date()


def ensure_aware(moment: datetime) -> datetime:
    """Treat a naive datetime as UTC (SQLite returns naive values)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
