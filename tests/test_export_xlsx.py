"""Spreadsheets people can compute with (issue 13): the report workbook and the ledger template, read back
with openpyxl — amounts and counts are numbers, days are dates in a Chinese format, the 台账's amounts add
up to the report's 协议涉及金额, headers are frozen and filtered, no 键 column and no ISO time, and a stored
text that looks like a formula stays text (the one writer, display/exports.py)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from factories import drive, happy_path, make_town, register
from openpyxl import Workbook, load_workbook
from plain_text import ISO_DATE

from mediation_flow.display.exports import DATE_FORMAT, MONEY_FORMAT, Yuan, append, display_width, put, table
from mediation_flow.ledger.columns import template_xlsx
from mediation_flow.stats.service import annual_report, export
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade

TOWNSHIP, YEAR = "500101001", 2023
AMOUNTS = ["1200.50", "3000", "0.99"]  # three agreements of the year; a fourth case ends without one
FAIL = {"reason": "双方分歧较大", "routes_informed": True}


def _agreed(amount: str) -> list[tuple[str, dict[str, Any]]]:
    return [(t, {**d, "amount": amount} if t == "reach_agreement" else d) for t, d in happy_path()]


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    folder = tmp_path_factory.mktemp("xlsx")
    engine = make_engine(f"sqlite:///{folder}/x.db")
    upgrade(engine)
    town = make_town(engine)
    start = datetime(2023, 9, 28, 2, tzinfo=UTC)
    moments = [start + timedelta(days=n, hours=n) for n in (0, 1, 1, 2, 11, 12, 22, 23)]
    titles = ["=1+1", "张三与李四相邻通行纠纷", "王五与赵六合同纠纷", "邻里噪音纠纷"]
    for n, title in enumerate(titles):
        case_id = register(engine, town, "supervisor", title=title, effective_at=start)
        steps = _agreed(AMOUNTS[n]) if n < len(AMOUNTS) else [*happy_path()[:2], ("fail", FAIL)]
        steps = [("assign", {"mediator_id": town["mediator"].id}), *steps]
        drive(engine, case_id, town["supervisor"], steps, moments=moments[: len(steps)])
    report = annual_report(engine, actor=None, code=TOWNSHIP, year=YEAR)
    book = load_workbook(io.BytesIO(export(engine, report, "xlsx")))
    engine.dispose()
    return book, report


def _ledger(book: Any) -> tuple[list[str], list[dict[str, Any]]]:
    rows = list(book["台账"].iter_rows(values_only=True))
    header = list(rows[0])
    return header, [dict(zip(header, r, strict=True)) for r in rows[1:]]


def test_the_ledger_holds_numbers_and_dates_not_text(workbook: tuple[Any, Any]) -> None:
    book, _ = workbook
    header, rows = _ledger(book)
    assert "键" not in header and rows
    for row in rows:
        assert isinstance(row["序号"], int) and isinstance(row["涉及人数"], int)
        assert isinstance(row["登记日期"], datetime)
        for name in ("开始调解日期", "协议日期", "回访日期", "结案日期"):
            assert row[name] is None or isinstance(row[name], datetime), (name, row[name])
        assert row["协议金额（元）"] is None or isinstance(row["协议金额（元）"], int | float)
    ws = book["台账"]
    columns = {name: i for i, name in enumerate(header, start=1)}
    assert ws.cell(2, columns["登记日期"]).number_format == DATE_FORMAT == 'yyyy"年"m"月"d"日"'
    amounts = [ws.cell(r, columns["协议金额（元）"]) for r in range(2, ws.max_row + 1)]
    assert any(c.value for c in amounts) and all(c.number_format == MONEY_FORMAT for c in amounts if c.value)


def test_the_ledger_amounts_add_up_to_the_reports_agreement_amount(workbook: tuple[Any, Any]) -> None:
    """The 台账 lists the cases registered in the year, the figure the agreements made in it: here the same
    cases, so the column's SUM is the figure."""
    book, report = workbook
    _, rows = _ledger(book)
    total = sum(Decimal(str(r["协议金额（元）"])) for r in rows if r["协议金额（元）"] is not None)
    assert total == Decimal(report.figures.values["agreement_amount_fen"]) / 100 == Decimal("4201.49")
    figures = {r[0]: r for r in book["统计数据"].iter_rows(values_only=True) if r and r[0]}
    assert Decimal(str(figures["协议涉及金额"][1])) == total and figures["协议涉及金额"][2] == "元"
    assert isinstance(figures["受理（登记）纠纷"][1], int)


def test_headers_are_frozen_and_filtered_columns_fit_and_nothing_is_iso_or_a_key(workbook: tuple[Any, Any]) -> None:
    book, _ = workbook
    ledger = book["台账"]
    assert (
        ledger.freeze_panes == "C2"
        and ledger.auto_filter.ref == f"A1:{ledger.cell(1, ledger.max_column).column_letter}{ledger.max_row}"
    )
    figures = book["统计数据"]
    header_row = next(r for r in range(1, 10) if figures.cell(r, 1).value == "指标")
    assert figures.freeze_panes == f"B{header_row + 1}" and figures.auto_filter.ref.startswith(f"A{header_row}:F")
    assert [figures.cell(header_row, c).value for c in range(1, 8)][-1] is None  # six columns, no 键
    for ws in (ledger, figures):
        for cell in ws[1 if ws is ledger else header_row]:
            assert ws.column_dimensions[cell.column_letter].width >= min(display_width(cell.value), 46)
    strings = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [s for s in strings if ISO_DATE.search(s) or "+00:00" in s]
    as_of = next(s for s in strings if s.startswith("数据截至"))
    assert re.fullmatch(r"数据截至：20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d", as_of), as_of


def test_a_stored_formula_stays_text(workbook: tuple[Any, Any]) -> None:
    book, _ = workbook
    ledger = book["台账"]
    cells = [c for row in ledger.iter_rows() for c in row if c.value == "=1+1"]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_the_one_writer_types_every_value() -> None:
    wb = Workbook()
    ws = wb.active
    day, moment = datetime(2025, 1, 3).date(), datetime(2025, 1, 3, 1, 30, tzinfo=UTC)
    append(ws, [Yuan.of_fen(6_600_050), 7, day, moment, "-3+4", "@SUM(1,2)", None])
    put(ws, 2, 1, "=1+1")
    table(ws, ["金额", "件数"], [[Yuan.of_fen(100), 1]], first_row=4)
    back = load_workbook(io.BytesIO(_save(wb))).active
    assert back["A1"].value == 66000.5 and back["A1"].number_format == MONEY_FORMAT
    assert back["B1"].value == 7 and isinstance(back["B1"].value, int)
    assert back["C1"].value == datetime(2025, 1, 3) and back["C1"].number_format == DATE_FORMAT
    assert back["D1"].value == datetime(2025, 1, 3, 9, 30)  # Beijing wall time: Excel has no time zones
    assert [back[a].data_type for a in ("E1", "F1", "A2")] == ["s", "s", "s"] and back["A2"].value == "=1+1"
    assert back.freeze_panes == "B5" and back.auto_filter.ref == "A4:B5"


def test_the_ledger_template_writes_its_example_as_numbers_and_dates() -> None:
    book = load_workbook(io.BytesIO(template_xlsx()))
    header, example = (list(r) for r in book["台账"].iter_rows(values_only=True))
    row = dict(zip(header, example, strict=True))
    assert isinstance(row["登记日期"], datetime) and isinstance(row["涉及人数"], int)
    assert isinstance(row["协议金额（元）"], int | float)
    assert book["台账"].freeze_panes == "A2" and book["填写说明"].auto_filter.ref


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
