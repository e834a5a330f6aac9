"""The one writer of stored text into exported files (.xlsx cells, .docx runs and cells): no string the
database holds can break the file or become a formula.

- Every string is first made XML-safe with the text-input policy's ``scrub`` (control characters, unpaired
  surrogates and non-characters dropped, pasted line breaks as newlines): openpyxl and python-docx refuse
  those with an exception, which would make a township-year's report impossible to download.
- A cell text that a spreadsheet could read as a formula or a command — beginning with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return — is written as a text cell with Excel's quote prefix: it shows as typed,
  is never evaluated, and stays text when the cell is edited.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from mediation_flow.textinput import scrub

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """Any stored string as text every XML writer accepts (python-docx, openpyxl)."""
    return scrub(value)


def cell_value(value: Any) -> Any:
    """A value as a cell may hold it: strings made safe; numbers, dates and None unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def _as_text(cell: Cell) -> Cell:
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
        cell.data_type = "s"  # openpyxl took a leading "=" for a formula
        cell.quotePrefix = True
    return cell


def put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write one cell (``ws.cell(row, column, value)``, through the rules above)."""
    return _as_text(ws.cell(row=row, column=column, value=cell_value(value)))


def append(ws: Worksheet, values: Iterable[Any]) -> None:
    """Append one row (``ws.append``, through the rules above)."""
    ws.append([cell_value(v) for v in values])
    for cell in ws[ws.max_row]:
        _as_text(cell)
