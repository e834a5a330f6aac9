"""The one writer of values into exported files (.xlsx cells, .docx runs and cells): no string the database
holds can break the file or become a formula, and numbers and dates stay numbers and dates.

- Every string is first made XML-safe with the text-input policy's ``scrub`` (control characters, unpaired
  surrogates and non-characters dropped, pasted line breaks as newlines): openpyxl and python-docx refuse
  those with an exception, which would make a township-year's report impossible to download.
- A cell text that a spreadsheet could read as a formula or a command — beginning with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return — is written as a text cell with Excel's quote prefix: it shows as typed,
  is never evaluated, and stays text when the cell is edited. Real numbers never pass as text.
- Money (:class:`Yuan`) is a number with two decimals and thousands separators, counts are integers, a day is
  a date and a moment a date-time, each with a Chinese number format (``2025年1月3日``), so SUM, filters and
  sorting work in Excel and WPS.
- :func:`table` writes a header and rows the way every exported list looks: bold header on a tinted row,
  frozen under the header, an auto-filter over the table, columns as wide as their (CJK) text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from mediation_flow.store import clock
from mediation_flow.textinput import scrub

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = 'yyyy"年"m"月"d"日"'
DATETIME_FORMAT = 'yyyy"年"m"月"d"日" hh:mm'
RATE_FORMAT = "0.0"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
MAX_WIDTH = 48  # wider text wraps instead


class Yuan(Decimal):
    """An amount of money in yuan: written as a number with the money format."""

    @classmethod
    def of_fen(cls, fen: int | None) -> Yuan | None:
        """Integer fen as yuan (None stays None: an empty cell)."""
        return None if fen is None else cls(Decimal(int(fen)).scaleb(-2))


class Rate(float):
    """A rate already in percent (84.6): a number with one decimal."""


def safe_text(value: str) -> str:
    """Any stored string as text every XML writer accepts (python-docx, openpyxl)."""
    return scrub(value)


def cell_value(value: Any) -> Any:
    """A value as a cell holds it: strings made safe; aware date-times as local wall time (Excel has no
    zones); numbers, dates and None unchanged."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, datetime):
        return clock.ensure_aware(value).astimezone(clock.LOCAL_TZ).replace(tzinfo=None, microsecond=0)
    return value


def _typed(cell: Cell, value: Any) -> Cell:
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
        cell.data_type = "s"  # openpyxl took a leading "=" for a formula
        cell.quotePrefix = True
    elif isinstance(value, Yuan):
        cell.number_format = MONEY_FORMAT
    elif isinstance(value, Rate):
        cell.number_format = RATE_FORMAT
    elif isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write one cell (``ws.cell(row, column, value)``, through the rules above)."""
    return _typed(ws.cell(row=row, column=column, value=cell_value(value)), value)


def append(ws: Worksheet, values: Iterable[Any]) -> None:
    """Append one row (``ws.append``, through the rules above)."""
    row = ws.max_row + 1 if ws.max_row > 1 or ws.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        put(ws, row, column, value)


def display_width(value: Any) -> int:
    """How many Latin character widths a value takes on screen: CJK and full-width characters count two."""
    if isinstance(value, Yuan):
        text = f"{value:,.2f}"
    elif isinstance(value, datetime | date):
        text = "2025年12月31日" + (" 00:00" if isinstance(value, datetime) else "")
    else:
        text = "" if value is None else str(value)
    longest = max(text.split("\n"), key=len, default="")
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def table(
    ws: Worksheet,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    first_row: int = 1,
    freeze: int | None = 1,
) -> int:
    """``header`` and ``rows`` from ``first_row`` down: the header bold and tinted, each column as wide as its
    widest value (long texts wrap). The sheet's main table (``freeze`` not None) also gets the panes frozen
    under its header (and right of its first ``freeze`` columns) and the sheet's auto-filter. Returns the
    last row written."""
    for column, name in enumerate(header, start=1):
        cell = put(ws, first_row, column, name)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    widths = [display_width(name) for name in header]
    last = first_row
    for last, values in enumerate(rows, start=first_row + 1):
        for column, value in enumerate(values, start=1):
            cell = put(ws, last, column, value)
            if column <= len(widths):
                widths[column - 1] = max(widths[column - 1], display_width(value))
            if isinstance(value, str) and display_width(value) > MAX_WIDTH:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in enumerate(widths, start=1):
        letter = get_column_letter(column)  # a column an earlier table of the sheet made wider stays so
        before = ws.column_dimensions[letter].width if letter in ws.column_dimensions else 0
        ws.column_dimensions[letter].width = max(before, min(width + 2, MAX_WIDTH))
    if freeze is None:
        return last
    ws.freeze_panes = f"{get_column_letter(freeze + 1)}{first_row + 1}"
    ws.auto_filter.ref = f"A{first_row}:{get_column_letter(len(header))}{max(last, first_row + 1)}"
    return last
