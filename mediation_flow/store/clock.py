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


#: The earliest moment a person may enter: nothing in mediation records predates it, and far-off years make
#: every date computation (working days, periods) slow. The latest is the end of tomorrow, local time.
FIRST_DAY = date(2000, 1, 1)
RANGE_MESSAGE = "日期须在2000年1月1日至明天之间"
FORMAT_MESSAGE = "时间格式不正确（ISO 8601），如 2023-12-31T20:00:00（北京时间）或 2023-12-31T20:00:00+08:00"


def as_local(moment: datetime) -> datetime:
    """A moment a person entered: without an offset it is the township's local time (Beijing time), never UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def out_of_range(moment: datetime, now: datetime | None = None) -> bool:
    """Before 2000-01-01 or after tomorrow (local days): no real record, refused wherever a person enters a time."""
    if not FIRST_DAY.year - 1 <= moment.year <= 9000:  # far off: converting zones could overflow
        return True
    today = local_date(now or utcnow())
    day = as_local(moment).astimezone(LOCAL_TZ).date()
    return day < FIRST_DAY or (day - today).days > 1


def parse_user_moment(text: str, now: datetime | None = None) -> datetime:
    """A date or date-time typed by a person or sent to the API (ISO 8601), as an aware datetime: without an
    offset, local time; a bare date is its local midnight. ValueError with the Chinese message otherwise."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except (ValueError, TypeError, OverflowError):
        raise ValueError(FORMAT_MESSAGE) from None
    moment = as_local(parsed)
    if out_of_range(moment, now):
        raise ValueError(RANGE_MESSAGE)
    return moment
