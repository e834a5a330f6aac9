"""The one source of 'now'. Time is an argument everywhere else; this is where it comes from.

The time zone and, in demo mode only, a forward shift of the clock come from the settings
(:mod:`mediation_flow.store.config`); a non-zero shift outside demo mode is refused there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mediation_flow.store.config import get_settings

LOCAL_TZ = get_settings().zone  # fixed for the life of the process: one township, one zone


def demo_offset_days() -> float:
    """How many days the demo clock runs ahead (0 outside demo mode)."""
    settings = get_settings()
    return settings.clock_offset_days if settings.demo_mode else 0.0


def utcnow() -> datetime:
    """Aware UTC now (shifted by the demo offset, in demo mode)."""
    now = datetime.now(UTC)
    days = demo_offset_days()
    return now + timedelta(days=days) if days else now


def local_date(moment: datetime) -> date:
    """The calendar date in the township's time zone (deadlines count in local days)."""
    return moment.astimezone(LOCAL_TZ).date()


def ensure_aware(moment: datetime) -> datetime:
    """Treat a naive datetime as UTC (SQLite returns naive values)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def bounded(moment: datetime) -> datetime:
    """An aware moment a person or a client gave, between 1900 and 2200 (ValueError otherwise): at the edges
    of what ``datetime`` holds, converting to UTC or adding a day would overflow."""
    moment = ensure_aware(moment)
    try:
        in_range = EARLIEST <= moment.astimezone(UTC) < LATEST
    except OverflowError:
        in_range = False
    if not in_range:
        raise ValueError("时间超出范围（1900年至2199年）")
    return moment


def bounded_day(day: date) -> date:
    """A calendar date a person or a client gave, between 1900 and 2199 (ValueError otherwise)."""
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError("日期超出范围（1900年至2199年）")
    return day
