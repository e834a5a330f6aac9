"""The one formats module: exact examples of each format, and properties over many values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediation_flow.display.formats import (
    BLANK_DATE,
    cn_date,
    cn_datetime,
    cn_month_day,
    cn_numeral,
    date_range,
    day_count,
    days_left,
    duration,
    heading_number,
    money,
    money_decimal,
    money_wan,
    number,
    percent,
    quantity,
)
from mediation_flow.workflow.fields import parse_money_fen

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_money_has_separators_two_decimals_and_the_unit():
    assert money(6_600_000) == "66,000.00元"
    assert money(120_050) == "1,200.50元"
    assert money(5) == "0.05元"
    assert money(0) == "0.00元"
    assert money(-150) == "-1.50元"
    assert money(None) == ""


def test_money_decimal_is_the_data_form():
    assert (money_decimal(500_000), money_decimal(7), money_decimal(None)) == ("5000.00", "0.07", None)


def test_report_money_and_numbers():
    assert (money_wan(320_000), money_wan(1_680_000_00), money_wan(120_050)) == ("3200元", "168万元", "1200.50元")
    assert money_wan(16_800_000) == "16.8万元"
    assert (number(122), number(100.0), number(88.94), number(None)) == ("122", "100", "88.9", "—")


def test_percent_and_quantities():
    assert (percent(84.615), percent(100.0), percent(0), percent(None)) == ("84.6%", "100%", "0%", "—")
    assert (quantity(122, "件"), quantity(84.615, "%"), quantity(None, "件")) == ("122件", "84.6%", "—")


def test_dates_in_chinese():
    assert cn_date(date(2025, 1, 3)) == "2025年1月3日"
    assert cn_date("2025-01-03") == "2025年1月3日"
    assert cn_date("2025-01-03T23:00:00") == "2025年1月3日"
    assert cn_date("不详") == "不详"
    assert (cn_date(None), cn_date(""), cn_date(None, blank=BLANK_DATE)) == ("", "", BLANK_DATE)
    assert cn_month_day(date(2025, 1, 3)) == "1月3日"
    assert date_range(date(2023, 1, 1), date(2024, 1, 1)) == "2023年1月1日至2023年12月31日"


def test_moments_are_shown_in_beijing_time():
    late = datetime(2025, 1, 2, 16, 30, tzinfo=UTC)  # 00:30 on 3 January in Beijing
    assert cn_datetime(late, tz=SHANGHAI) == "2025年1月3日 00:30"
    assert cn_date(late, tz=SHANGHAI) == "2025年1月3日"
    naive = datetime(2025, 1, 2, 16, 30)  # SQLite's naive values are UTC
    assert cn_datetime(naive, tz=SHANGHAI) == "2025年1月3日 00:30"
    assert cn_datetime(None) == ""


def test_durations_and_days_left():
    assert (duration(30), duration(15, "working_days"), duration(None)) == ("30天", "15个工作日", "")
    # every count says which days it counts (issue 13: the queue and the case page disagreed on 天 and 工作日)
    assert (days_left(3), days_left(0), days_left(-2), days_left(None)) == (
        "剩余3个自然日",
        "今天到期",
        "已超期2个自然日",
        "",
    )
    assert (days_left(-22, "working_days"), days_left(1, "working_days")) == ("已超期22个工作日", "剩余1个工作日")
    assert (day_count(12), day_count(3, "working_days"), day_count(None)) == ("12个自然日", "3个工作日", "")


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "零"),
        (1, "一"),
        (10, "十"),
        (11, "十一"),
        (20, "二十"),
        (31, "三十一"),
        (100, "一百"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1001, "一千零一"),
        (1010, "一千零一十"),
        (10_000, "一万"),
        (10_010, "一万零一十"),
        (100_000, "十万"),
        (120_034, "十二万零三十四"),
        (12_345_678, "一千二百三十四万五千六百七十八"),
    ],
)
def test_chinese_numerals(n, text):
    assert cn_numeral(n) == text


def test_heading_numbers():
    assert [heading_number(i) for i in (1, 2, 4, 10, 12)] == ["一、", "二、", "四、", "十、", "十二、"]
    with pytest.raises(ValueError):
        cn_numeral(-1)


def _read_numeral(text: str) -> int:
    """An independent reader of Chinese numerals, to check the writer against."""
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")}
    units = {"十": 10, "百": 100, "千": 1000}
    total, section, digit = 0, 0, None
    for char in text:
        if char in digits:
            digit = digits[char]
        elif char in units:
            section += (1 if digit is None else digit) * units[char]
            digit = None
        elif char == "万":
            total = (section + (digit or 0)) * 10_000
            section, digit = 0, None
    return total + section + (digit or 0)


@given(st.integers(min_value=0, max_value=10**8 - 1))
def test_numerals_read_back(n):
    text = cn_numeral(n)
    assert _read_numeral(text) == n
    assert "零零" not in text and not (n and text.endswith("零"))


@given(st.integers(min_value=0, max_value=10**14 - 1))
def test_money_reads_back_to_the_same_fen(fen):
    shown = money(fen)
    assert shown.endswith("元") and " " not in shown
    assert parse_money_fen(shown) == fen  # what a page shows, the form and the ledger import read back
    assert parse_money_fen(money_decimal(fen)) == fen
    assert Decimal(money_decimal(fen) or "0") * 100 == fen


@given(st.floats(min_value=0, max_value=100, allow_nan=False))
def test_percent_has_one_decimal_at_most_and_no_space(rate):
    text = percent(rate)
    assert text.endswith("%") and " " not in text
    assert abs(float(text[:-1]) - rate) <= 0.05 + 1e-9


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_read_back(day):
    text = cn_date(day)
    year, rest = text.split("年")
    month, rest = rest.split("月")
    assert date(int(year), int(month), int(rest.rstrip("日"))) == day
    assert cn_date(day.isoformat()) == text
