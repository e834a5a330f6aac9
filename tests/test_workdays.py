"""Tests for mediation_flow.workflow.workdays against the real chinesecalendar data."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import date, datetime

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediation_flow.store.config import get_settings, parse_days
from mediation_flow.workflow.workdays import (
    ENV_EXTRA_HOLIDAYS,
    ENV_EXTRA_WORKDAYS,
    WorkdayCalendar,
    clear_caches,
    default_calendar,
)

LOGGER = "mediation_flow.workflow.workdays"


def _reread_settings() -> None:
    get_settings.cache_clear()
    clear_caches()


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    _reread_settings()
    yield
    _reread_settings()


@pytest.fixture
def cal() -> WorkdayCalendar:
    return WorkdayCalendar()


def _fallback_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


# --- chinesecalendar facts (调休 and statutory holidays) -------------------------


def test_national_day_2023_adjusted_weekend_is_workday(cal: WorkdayCalendar) -> None:
    # 2023 National Day: holidays 09-29..10-06, Sat 10-07 and Sun 10-08 worked (调休).
    assert date(2023, 10, 7).weekday() == 5
    assert date(2023, 10, 8).weekday() == 6
    assert cal.is_workday(date(2023, 10, 7)) is True
    assert cal.is_workday(date(2023, 10, 8)) is True
    assert cal.source(date(2023, 10, 7)) == "chinesecalendar"


def test_national_day_2023_holiday_is_not_workday(cal: WorkdayCalendar) -> None:
    assert date(2023, 10, 2).weekday() == 0  # a Monday, yet a statutory holiday
    assert cal.is_workday(date(2023, 10, 2)) is False
    assert cal.is_workday(date(2023, 9, 29)) is False
    assert cal.is_workday(date(2023, 10, 6)) is False
    assert cal.source(date(2023, 10, 2)) == "chinesecalendar"


def test_spring_festival_2024_schedule(cal: WorkdayCalendar) -> None:
    # Official 2024 schedule: holidays Sat 02-10 .. Sat 02-17; Sun 02-04 and Sun 02-18 worked.
    # 除夕 (Fri 02-09) was NOT a statutory holiday in 2024: chinesecalendar has it as a workday.
    assert chinese_calendar.is_workday(date(2024, 2, 9)) is True
    assert cal.is_workday(date(2024, 2, 9)) is True
    assert cal.is_workday(date(2024, 2, 4)) is True
    assert cal.is_workday(date(2024, 2, 18)) is True
    for day in range(10, 18):
        assert cal.is_workday(date(2024, 2, day)) is False


def test_add_working_days_across_spring_festival_2024(cal: WorkdayCalendar) -> None:
    # From Thu 2024-02-08: 1st = Fri 02-09 (除夕, a workday in 2024), then 02-10..02-17 are
    # holidays, 2nd = Sun 02-18 (调休 working Sunday), 3rd = Mon 02-19.
    assert cal.add_working_days(date(2024, 2, 8), 1) == date(2024, 2, 9)
    assert cal.add_working_days(date(2024, 2, 8), 2) == date(2024, 2, 18)
    assert cal.add_working_days(date(2024, 2, 8), 3) == date(2024, 2, 19)
    assert cal.working_days_between(date(2024, 2, 8), date(2024, 2, 19)) == 3


def test_add_working_days_zero_and_start_not_counted(cal: WorkdayCalendar) -> None:
    assert cal.add_working_days(date(2023, 10, 2), 0) == date(2023, 10, 2)  # even on a holiday
    # Thu 2023-09-28 is a workday but is not counted; next is the 调休 Saturday 10-07.
    assert cal.add_working_days(date(2023, 9, 28), 1) == date(2023, 10, 7)
    assert cal.add_working_days(date(2023, 9, 28), 2) == date(2023, 10, 8)
    assert cal.add_working_days(date(2023, 9, 28), 3) == date(2023, 10, 9)


def test_add_working_days_rejects_negative(cal: WorkdayCalendar) -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        cal.add_working_days(date(2024, 1, 1), -1)


def test_working_days_between_edges(cal: WorkdayCalendar) -> None:
    assert cal.working_days_between(date(2024, 3, 1), date(2024, 3, 1)) == 0
    assert cal.working_days_between(date(2024, 3, 8), date(2024, 3, 1)) == 0
    # Fri 2024-03-01 excluded, Sat/Sun not workdays, Mon 03-04 included.
    assert cal.working_days_between(date(2024, 3, 1), date(2024, 3, 4)) == 1
    # The whole 2023 National Day block: 09-28 < d <= 10-08 -> only 10-07 and 10-08.
    assert cal.working_days_between(date(2023, 9, 28), date(2023, 10, 8)) == 2


def test_calendar_deadline_on_weekend_rolls_forward(cal: WorkdayCalendar) -> None:
    # 2023-09-28 + 30 days = Sat 2023-10-28 (an ordinary weekend) -> Mon 2023-10-30.
    assert date(2023, 10, 28).weekday() == 5
    assert cal.is_workday(date(2023, 10, 28)) is False
    assert cal.calendar_deadline(date(2023, 9, 28), 30) == date(2023, 10, 30)


def test_calendar_deadline_on_holiday_rolls_to_adjusted_workday(cal: WorkdayCalendar) -> None:
    # 2023-09-25 + 7 = Mon 10-02 (National Day) -> first workday after is the 调休 Sat 10-07.
    assert cal.calendar_deadline(date(2023, 9, 25), 7) == date(2023, 10, 7)
    # Ending on a 调休 working Saturday needs no extension.
    assert cal.calendar_deadline(date(2023, 9, 30), 7) == date(2023, 10, 7)
    # Ending on an ordinary workday.
    assert cal.calendar_deadline(date(2024, 3, 1), 3) == date(2024, 3, 4)
    assert cal.calendar_deadline(date(2024, 3, 4), 0) == date(2024, 3, 4)


def test_calendar_deadline_rejects_negative(cal: WorkdayCalendar) -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        cal.calendar_deadline(date(2024, 1, 1), -3)


def test_next_workday(cal: WorkdayCalendar) -> None:
    assert cal.next_workday(date(2023, 10, 9)) == date(2023, 10, 9)
    assert cal.next_workday(date(2023, 9, 29)) == date(2023, 10, 7)
    assert cal.next_workday(date(2024, 2, 10)) == date(2024, 2, 18)


def test_datetime_inputs_are_treated_as_dates(cal: WorkdayCalendar) -> None:
    assert cal.is_workday(datetime(2023, 10, 7, 15, 30)) is True
    assert cal.add_working_days(datetime(2024, 2, 8, 9, 0), 3) == date(2024, 2, 19)


# --- fallback for years chinesecalendar does not cover ----------------------------


def test_package_really_lacks_2027() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))


def test_far_year_uses_fallback_and_warns_once(cal: WorkdayCalendar, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert cal.is_workday(date(2027, 1, 4)) is True  # Monday
    assert cal.is_workday(date(2027, 1, 2)) is False  # Saturday
    assert cal.is_workday(date(2027, 1, 3)) is False  # Sunday
    assert cal.source(date(2027, 1, 4)) == "fallback"
    assert cal.add_working_days(date(2027, 1, 1), 1) == date(2027, 1, 4)
    assert cal.calendar_deadline(date(2027, 3, 1), 5) == date(2027, 3, 8)
    assert WorkdayCalendar().is_workday(date(2027, 6, 1)) is True

    warnings = _fallback_warnings(caplog)
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "2027年" in message
    assert "法定节假日" in message
    assert "请升级 chinesecalendar" in message
    assert "MEDIATION_FLOW_EXTRA_HOLIDAYS" in message


def test_each_uncovered_year_warns_separately(cal: WorkdayCalendar, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    for _ in range(3):
        cal.is_workday(date(2027, 5, 5))
        cal.is_workday(date(2030, 5, 6))
        cal.is_workday(date(2003, 5, 6))
    messages = [r.getMessage() for r in _fallback_warnings(caplog)]
    assert len(messages) == 3
    assert sorted(m.split("不含")[1][:4] for m in messages) == ["2003", "2027", "2030"]


def test_covered_year_does_not_warn(cal: WorkdayCalendar, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal.add_working_days(date(2026, 1, 1), 60)
    assert _fallback_warnings(caplog) == []


def test_fallback_across_year_boundary(cal: WorkdayCalendar) -> None:
    # 2026 comes from chinesecalendar, 2027 from the weekend-only fallback, which does
    # not know New Year's Day: Fri 2027-01-01 counts as a workday.
    assert cal.add_working_days(date(2026, 12, 30), 1) == date(2026, 12, 31)
    assert cal.add_working_days(date(2026, 12, 30), 2) == date(2027, 1, 1)
    assert cal.add_working_days(date(2026, 12, 30), 3) == date(2027, 1, 4)


def test_very_far_years_never_raise(cal: WorkdayCalendar) -> None:
    assert cal.is_workday(date(2999, 1, 7)) is (date(2999, 1, 7).weekday() < 5)
    assert cal.source(date(1, 1, 1)) == "fallback"
    assert cal.add_working_days(date(2100, 1, 1), 10) > date(2100, 1, 1)


def test_fallback_warning_is_logged_once_under_threads(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal = WorkdayCalendar()
    barrier = threading.Barrier(8)
    results: list[date] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait()
        answer = cal.add_working_days(date(2028, 1, 3), 40)
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert len(_fallback_warnings(caplog)) == 1


# --- local overrides --------------------------------------------------------------


def test_extra_holidays_and_workdays_override_package() -> None:
    cal = WorkdayCalendar(
        extra_holidays=[date(2023, 10, 7), date(2025, 3, 3)],
        extra_workdays=[date(2023, 10, 2), date(2025, 3, 1)],
    )
    assert cal.is_workday(date(2023, 10, 7)) is False  # package: 调休 workday
    assert cal.is_workday(date(2023, 10, 2)) is True  # package: National Day
    assert cal.is_workday(date(2025, 3, 3)) is False  # ordinary Monday
    assert cal.is_workday(date(2025, 3, 1)) is True  # ordinary Saturday
    assert cal.source(date(2023, 10, 7)) == "local"
    assert cal.source(date(2025, 3, 1)) == "local"
    assert cal.source(date(2025, 3, 4)) == "chinesecalendar"
    # Fri 2025-02-28 -> Sat 03-01 (local workday) -> Mon 03-03 (local holiday) skipped -> Tue 03-04.
    assert cal.add_working_days(date(2025, 2, 28), 1) == date(2025, 3, 1)
    assert cal.add_working_days(date(2025, 2, 28), 2) == date(2025, 3, 4)
    assert cal.calendar_deadline(date(2025, 2, 28), 3) == date(2025, 3, 4)
    assert cal.next_workday(date(2025, 3, 1)) == date(2025, 3, 1)


def test_local_days_override_fallback_without_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal = WorkdayCalendar(extra_holidays=[date(2027, 1, 1)], extra_workdays=[date(2027, 1, 2)])
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert cal.is_workday(date(2027, 1, 2)) is True
    assert cal.source(date(2027, 1, 1)) == "local"
    assert _fallback_warnings(caplog) == []
    assert cal.source(date(2027, 1, 4)) == "fallback"
    assert len(_fallback_warnings(caplog)) == 1


def test_overrides_do_not_leak_between_calendars() -> None:
    WorkdayCalendar(extra_holidays=[date(2025, 3, 3)]).is_workday(date(2025, 3, 3))
    assert WorkdayCalendar().is_workday(date(2025, 3, 3)) is True


def test_conflicting_local_days_rejected() -> None:
    with pytest.raises(ValueError, match="2025-03-03"):
        WorkdayCalendar(extra_holidays=[date(2025, 3, 3)], extra_workdays=[date(2025, 3, 3)])


# --- consistency property -----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    n=st.integers(min_value=0, max_value=80),
)
def test_working_days_between_inverts_add_working_days(start: date, n: int) -> None:
    cal = WorkdayCalendar()
    end = cal.add_working_days(start, n)
    assert cal.working_days_between(start, end) == n
    assert end >= start
    if n > 0:
        assert cal.is_workday(end)
        # end is the *first* date reaching n working days.
        assert cal.working_days_between(start, end.fromordinal(end.toordinal() - 1)) == n - 1


# --- parse_days and default_calendar ------------------------------------------------


def test_parse_days_valid() -> None:
    assert parse_days("2025-03-03,2025-03-04") == [date(2025, 3, 3), date(2025, 3, 4)]
    assert parse_days(" 2025-03-03 , 2025-03-04 ,") == [date(2025, 3, 3), date(2025, 3, 4)]
    assert parse_days("") == []
    assert parse_days("   ") == []


@pytest.mark.parametrize(
    ("spec", "bad"),
    [
        ("2025-03-03,2025-13-01", "2025-13-01"),
        ("2025-02-30", "2025-02-30"),
        ("2025/03/03", "2025/03/03"),
        ("20250303", "20250303"),
        ("2025-03-03,tomorrow", "tomorrow"),
        ("2025-3-3", "2025-3-3"),
    ],
)
def test_parse_days_errors_name_bad_item(spec: str, bad: str) -> None:
    with pytest.raises(ValueError, match=f"invalid date '{bad}'"):
        parse_days(spec)


def test_default_calendar_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_EXTRA_HOLIDAYS, "2025-03-03,2025-03-04")
    monkeypatch.setenv(ENV_EXTRA_WORKDAYS, "2025-03-01")
    _reread_settings()
    cal = default_calendar()
    assert cal is default_calendar()
    assert cal.extra_holidays == {date(2025, 3, 3), date(2025, 3, 4)}
    assert cal.extra_workdays == {date(2025, 3, 1)}
    assert cal.is_workday(date(2025, 3, 3)) is False
    assert cal.is_workday(date(2025, 3, 1)) is True


def test_default_calendar_empty_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_EXTRA_HOLIDAYS, raising=False)
    monkeypatch.delenv(ENV_EXTRA_WORKDAYS, raising=False)
    _reread_settings()
    cal = default_calendar()
    assert cal.extra_holidays == frozenset()
    assert cal.extra_workdays == frozenset()
    assert cal.is_workday(date(2023, 10, 7)) is True


def test_default_calendar_bad_env_names_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_EXTRA_HOLIDAYS, "2025-03-03,03/04/2025")
    monkeypatch.delenv(ENV_EXTRA_WORKDAYS, raising=False)
    _reread_settings()
    with pytest.raises(ValueError, match=f"{ENV_EXTRA_HOLIDAYS}.*'03/04/2025'"):
        default_calendar()
