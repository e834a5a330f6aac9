"""Reading a ledger (台账) file, .xlsx or .csv with the documented Chinese headers, into rows of cells;
problems reported by row and column as the user sees them."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from mediation_flow.errors import InvalidData
from mediation_flow.ledger.columns import COLUMNS
from mediation_flow.textinput import normalise, refusal, scrub

MAX_ROWS = 200_000
MAX_BYTES = 64 * 1024 * 1024
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


class LedgerImportError(InvalidData):
    """``errors``: ``{"row", "column", "message"}`` for every problem found; nothing was written."""

    code = "ledger_invalid"


def read_table(filename: str, content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(row number as the user sees it, {header: value}) for every non-empty row after the header."""
    if len(content) > MAX_BYTES:
        raise LedgerImportError([error_at(0, "", f"文件过大（上限{MAX_BYTES // 1024 // 1024}MB）")])
    name = filename.lower()
    if name.endswith(".xlsx"):
        rows = _xlsx_rows(content)
    elif name.endswith(".csv"):
        rows = _csv_rows(content)
    else:
        raise LedgerImportError([error_at(0, "", "只支持 .xlsx 或 .csv 文件")])
    if not rows:
        raise LedgerImportError([error_at(1, "", "文件为空")])
    header = [scrub(str(h)).strip() if h is not None else "" for h in rows[0]]
    missing = [c.header for c in COLUMNS if c.required and c.header not in header]
    unknown = [h for h in header if h and h not in {c.header for c in COLUMNS}]
    errors = [error_at(1, h, "缺少必填列") for h in missing] + [error_at(1, h, "未知的列") for h in unknown]
    if errors:
        raise LedgerImportError(errors)
    table, refused = [], []
    for number, values in enumerate(rows[1:], start=2):
        record = {}
        for h, v in zip(header, values, strict=False):  # text stripped; blank cells and columns left out
            if type(v) is str:
                v = normalise(v).strip()  # the text-input policy, as for typed text
                reason = refusal(v)
                if reason is not None:
                    refused.append(error_at(number, h, reason))
                elif v and h:
                    record[h] = v
            elif v is not None and h:
                record[h] = v
        if record:
            table.append((number, record))
    if refused:
        raise LedgerImportError(refused[:200])
    if not table:
        raise LedgerImportError([error_at(2, "", "没有数据行")])
    if len(table) > MAX_ROWS:
        raise LedgerImportError([error_at(0, "", f"一次最多导入{MAX_ROWS}行")])
    return table


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise LedgerImportError([error_at(0, "", "无法读取该 Excel 文件（文件损坏或不是 .xlsx）")]) from None
    ws = wb["台账"] if "台账" in wb.sheetnames else wb.worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _csv_rows(content: bytes) -> list[list[Any]]:
    rows = csv_cells(content)
    if rows is None:
        raise LedgerImportError([error_at(0, "", "CSV 文件编码无法识别（请用 UTF-8 或 GBK）")])
    return list(rows)


def csv_cells(content: bytes) -> list[list[str]] | None:
    """The rows of a CSV file saved as UTF-8 (with or without BOM) or GB18030 (Excel's Chinese default);
    None when it is neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return None
    return [list(r) for r in csv.reader(io.StringIO(text))]


def error_at(row: int, column: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "field": column, "message": message}


@lru_cache(maxsize=8192)  # a ledger repeats a few hundred days a year
def parse_day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE.match(str(value))
    if not match:
        raise ValueError("应为日期，如 2023年3月1日")
    return date(int(match[1]), int(match[2]), int(match[3]))


def as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
