"""Every value shown to a person is formatted here, once: pages (as Jinja filters), printouts, .docx, .xlsx
and the report text.

Money is stored as integer fen. Shown, it carries thousands separators and two decimals, with the unit
written straight after the figure as Chinese official text does (``66,000.00元``); the report text uses its
own register (``16.8万元``). Dates are written ``2025年1月3日``; moments are shown in the township's time zone
(Beijing time unless configured otherwise). Rates have one decimal and no space before ``%``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from mediation_flow.store import clock

BLANK_DATE = "    年  月  日"  # a date to be written by hand on a printed form
NO_VALUE = "—"
_DIGITS = "零一二三四五六七八九"
_UNITS = ["", "十", "百", "千"]
DURATION_UNITS = {"calendar_days": "天", "days": "天", "working_days": "个工作日"}


def money(fen: int | None) -> str:
    """Integer fen as ``66,000.00元``; None as an empty string."""
    if fen is None:
        return ""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    whole, cents = divmod(int(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}元"


def money_decimal(fen: int | None) -> str | None:
    """Integer fen as the plain decimal text of yuan (``66000.00``): the API's and the ledger's data form,
    which a spreadsheet or a client reads back without loss."""
    if fen is None:
        return None
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def number(value: float | int | None) -> str:
    """A figure in running text: 122 → ``122``, 100.0 → ``100``, 88.94 → ``88.9``, 12345 → ``12,345``,
    None → ``—`` (thousands separated as the money is)."""
    if value is None:
        return NO_VALUE
    if isinstance(value, float):
        return f"{value:,.1f}".rstrip("0").rstrip(".")
    return f"{value:,}"


def money_wan(fen: int) -> str:
    """Money as the report writes it: ``3200元`` below ten thousand yuan, ``16.8万元`` from there on."""
    yuan = fen / 100
    if yuan >= 10_000:
        return f"{number(round(yuan / 10_000, 2))}万元"
    return f"{yuan:.2f}元" if fen % 100 else f"{fen // 100}元"


def percent(value: float | int | None) -> str:
    """A rate already in percent: 84.615 → ``84.6%``, 100.0 → ``100%``, None → ``—``."""
    return NO_VALUE if value is None else f"{number(float(value))}%"


def quantity(value: float | int | None, unit: str = "") -> str:
    """A figure with its unit as the report table shows it: ``122件``, ``84.6%``; None → ``—``."""
    if value is None:
        return NO_VALUE
    return percent(value) if unit == "%" else f"{number(value)}{unit}"


def _as_date(value: date | datetime | str, tz: tzinfo | None) -> date | None:
    if isinstance(value, datetime):
        return clock.ensure_aware(value).astimezone(tz or clock.LOCAL_TZ).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def cn_date(value: date | datetime | str | None, *, tz: tzinfo | None = None, blank: str = "") -> str:
    """``2025年1月3日``. A datetime is shown on its local calendar day; an ISO text is read as a date;
    other text is returned unchanged; nothing gives ``blank``."""
    if value is None or value == "":
        return blank
    day = _as_date(value, tz)
    if day is None:
        return str(value)
    return f"{day.year}年{day.month}月{day.day}日"


def cn_month_day(value: date | datetime | str | None, *, tz: tzinfo | None = None) -> str:
    """``1月3日`` (within a year the reader already knows)."""
    day = None if value is None or value == "" else _as_date(value, tz)
    return "" if day is None else f"{day.month}月{day.day}日"


def cn_datetime(value: datetime | None, *, tz: tzinfo | None = None) -> str:
    """``2025年1月3日 09:30`` in the township's time zone (naive values are UTC, as SQLite returns them)."""
    if value is None:
        return ""
    local = clock.ensure_aware(value).astimezone(tz or clock.LOCAL_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def date_range(start: date, end: date) -> str:
    """A period given with an exclusive end, as people write it (last day inclusive):
    ``2023年1月1日至2023年12月31日``."""
    return f"{cn_date(start)}至{cn_date(end - timedelta(days=1))}"


def duration(length: int | None, unit: str = "calendar_days") -> str:
    """``30天`` or ``15个工作日``."""
    if length is None:
        return ""
    return f"{length}{DURATION_UNITS[unit]}"


DAY_UNITS = {"calendar_days": "个自然日", "working_days": "个工作日"}


def day_count(days: int | None, unit: str = "calendar_days") -> str:
    """``12个自然日`` or ``3个工作日``: a number of days, saying which."""
    return "" if days is None else f"{days}{DAY_UNITS.get(unit, '天')}"


def days_left(days: int | None, unit: str = "calendar_days") -> str:
    """A deadline seen from today, saying which days it counts (``deadlines.days_until`` counts them):
    ``剩余3个自然日``, ``今天到期``, ``已超期22个工作日``."""
    if days is None:
        return ""
    if days == 0:
        return "今天到期"
    word = DAY_UNITS.get(unit, "天")
    return f"已超期{-days}{word}" if days < 0 else f"剩余{days}{word}"


def cn_numeral(n: int) -> str:
    """0 ≤ n < 10⁸ in Chinese numerals as written in prose: 10 → 十, 21 → 二十一, 105 → 一百零五,
    31 → 三十一 (law articles: 第三十一条), 10010 → 一万零一十."""
    if not 0 <= n < 10**8:
        raise ValueError(f"{n} is outside 0..99,999,999")
    if n == 0:
        return _DIGITS[0]
    high, low = divmod(n, 10_000)
    if not high:
        text = _below_10000(low)
        return text[1:] if text.startswith("一十") else text  # 十一, not 一十一
    head = _below_10000(high)
    head = head[1:] if head.startswith("一十") else head
    if not low:
        return f"{head}万"
    tail = _below_10000(low)
    return f"{head}万{'零' if low < 1000 else ''}{tail}"


def _below_10000(n: int) -> str:
    """1 ≤ n < 10000 with inner zeros read once (一千零五)."""
    digits = [int(d) for d in f"{n:04d}"]
    text, zero = "", False
    for position, digit in enumerate(digits):
        unit = _UNITS[3 - position]
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += _DIGITS[0]
            zero = False
        text += _DIGITS[digit] + unit
    return text


def heading_number(n: int) -> str:
    """The numbering of a first-level heading in an official document: 1 → ``一、``."""
    return f"{cn_numeral(n)}、"
