"""China working-day calendar for mediation deadlines.

Answers come from, in order of precedence:

1. ``local``: days configured by the operator (extra holidays / extra workdays);
2. ``chinesecalendar``: the ``chinesecalendar`` package, which knows statutory
   holidays and the adjusted working weekends (调休);
3. ``fallback``: for years the package does not cover, Monday-Friday are
   working days and weekends are not.  Statutory holidays are then unknown, so
   one warning per uncovered year is logged per process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Literal

import chinese_calendar

from mediation_flow.store.config import ENV_PREFIX, get_settings

__all__ = [
    "ENV_EXTRA_HOLIDAYS",
    "ENV_EXTRA_WORKDAYS",
    "Source",
    "WorkdayCalendar",
    "clear_caches",
    "default_calendar",
]

logger = logging.getLogger("mediation_flow.workflow.workdays")

ENV_EXTRA_HOLIDAYS = f"{ENV_PREFIX}EXTRA_HOLIDAYS"
ENV_EXTRA_WORKDAYS = f"{ENV_PREFIX}EXTRA_WORKDAYS"

Source = Literal["local", "chinesecalendar", "fallback"]

_warned_years: set[int] = set()
_warned_lock = threading.Lock()


def _as_date(d: date) -> date:
    """Normalise a ``datetime`` (a ``date`` subclass) to a plain ``date``."""
    if isinstance(d, datetime):
        return d.date()
    if not isinstance(d, date):
        raise TypeError(f"expected datetime.date, got {type(d).__name__}")
    return d


def _warn_uncovered_year(year: int) -> None:
    """Log the fallback warning once per uncovered year per process."""
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    logger.warning(
        "节假日数据（chinesecalendar）不含%d年：该年的法定节假日和调休上班日未知，暂按周一至周五计算工作日。"
        "请升级 chinesecalendar（pip install -U chinesecalendar），或用 %s / %s 填写%d年本地的放假日和调休上班日"
        "（如 %d-01-01,%d-02-05）",
        year,
        ENV_EXTRA_HOLIDAYS,
        ENV_EXTRA_WORKDAYS,
        year,
        year,
        year,
    )


@lru_cache(maxsize=1 << 16)  # ~180 years of days; bounded against arbitrary input
def _package_workday(d: date) -> bool | None:
    """Ask chinesecalendar whether ``d`` is a workday; ``None`` if it has no data."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return None


def clear_caches() -> None:
    """Forget cached per-day answers, the default calendar and warned years (for tests)."""
    _package_workday.cache_clear()
    default_calendar.cache_clear()
    with _warned_lock:
        _warned_years.clear()


class WorkdayCalendar:
    """Working-day arithmetic for mainland China, with local overrides.

    Instances are immutable after construction and safe to share between threads.
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        """Build a calendar; configured local days override chinesecalendar.

        Raises ValueError if a day is configured both as holiday and as workday.
        """
        self._extra_holidays: frozenset[date] = frozenset(_as_date(d) for d in extra_holidays)
        self._extra_workdays: frozenset[date] = frozenset(_as_date(d) for d in extra_workdays)
        both = self._extra_holidays & self._extra_workdays
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"days configured both as extra holiday and extra workday: {listed}")

    @property
    def extra_holidays(self) -> frozenset[date]:
        """Locally configured non-working days."""
        return self._extra_holidays

    @property
    def extra_workdays(self) -> frozenset[date]:
        """Locally configured working days."""
        return self._extra_workdays

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(extra_holidays={sorted(self._extra_holidays)!r}, "
            f"extra_workdays={sorted(self._extra_workdays)!r})"
        )

    def _decide(self, d: date) -> tuple[bool, Source]:
        d = _as_date(d)
        if d in self._extra_holidays:
            return False, "local"
        if d in self._extra_workdays:
            return True, "local"
        answer = _package_workday(d)
        if answer is not None:
            return answer, "chinesecalendar"
        _warn_uncovered_year(d.year)
        return d.weekday() < 5, "fallback"

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day (调休 weekends included)."""
        return self._decide(d)[0]

    def source(self, d: date) -> Source:
        """Which rule decided ``d``: ``local``, ``chinesecalendar`` or ``fallback``."""
        return self._decide(d)[1]

    def next_workday(self, d: date) -> date:
        """``d`` itself if it is a workday, else the first workday after it."""
        d = _as_date(d)
        while not self.is_workday(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` not counted); ``n == 0`` -> ``start``."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        d = _as_date(start)
        remaining = n
        while remaining:
            d += timedelta(days=1)
            if self.is_workday(d):
                remaining -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days ``d`` with ``start < d <= end`` (0 if ``end <= start``)."""
        start, end = _as_date(start), _as_date(end)
        days = (end - start).days
        return sum(1 for i in range(1, days + 1) if self.is_workday(start + timedelta(days=i)))

    def calendar_deadline(self, start: date, n: int) -> date:
        """End of an n-calendar-day period from ``start``.

        If ``start + n`` is not a working day, the period ends on the first
        working day after it (民事诉讼法 第八十五条).
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return self.next_workday(_as_date(start) + timedelta(days=n))


@lru_cache(maxsize=1)
def default_calendar() -> WorkdayCalendar:
    """The process-wide calendar from the settings' extra holidays and workdays (environment or ``.env``)."""
    settings = get_settings()
    return WorkdayCalendar(extra_holidays=settings.extra_holidays, extra_workdays=settings.extra_workdays)
