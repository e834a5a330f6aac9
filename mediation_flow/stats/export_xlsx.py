"""The report as an .xlsx workbook: figures with their definitions, breakdowns with charts, the case
ledger (台账) and the report text."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from mediation_flow.display.exports import Rate, Yuan, append, put, table
from mediation_flow.display.formats import cn_datetime, date_range
from mediation_flow.display.labels import without_codes
from mediation_flow.stats.definitions import figures_at
from mediation_flow.stats.figures import Figures
from mediation_flow.stats.ledger_table import COLUMNS
from mediation_flow.stats.report_text import ReportText, joint_table, sandiao_table

BREAKDOWNS = [
    "monthly_taken_in",
    "monthly_resolved",
    "by_source",
    "by_category",
    "by_village",
    "by_venue",
    "referral_in",
    "referral_in_resolved",
    "referral_out",
    "petitions_resolved",
    "escalations",
    "resolved_by_level",
    "conversions",
]
CHARTS = [("monthly_taken_in", "月度登记纠纷"), ("by_category", "纠纷类型"), ("resolved_by_level", "化解层级")]


def _scope_lines(figures: Figures) -> list[str]:
    s = figures.scope
    return [
        f"辖区：{s.place.name}",
        f"统计期间：{date_range(s.start, s.end)}",
        f"数据截至：{cn_datetime(s.as_of)}",
    ]


def _figure_value(figures: Figures, key: str, unit: str) -> Any:
    """A figure as a number a spreadsheet computes with: money in yuan, rates in percent, counts as int."""
    if key == "agreement_amount":
        return Yuan.of_fen(int(figures.values["agreement_amount_fen"]))
    value = figures.values[key]
    return Rate(value) if unit == "%" and value is not None else value


def _figures_sheet(ws: Worksheet, figures: Figures, text: ReportText) -> None:
    ws.title = "统计数据"
    append(ws, [text.title])
    ws["A1"].font = Font(bold=True, size=14)
    for line in _scope_lines(figures):
        append(ws, [line])
    rows = [
        [
            d.label,
            _figure_value(figures, key, d.unit),
            d.unit,
            *(without_codes(s) for s in (d.numerator, d.denominator, d.date)),
        ]
        for key, d in figures_at(figures.scope.place.level).items()
        if key in figures.values
    ]
    table(ws, ["指标", "数值", "单位", "分子（计数）", "分母", "日期口径"], rows, first_row=ws.max_row + 2)


def _breakdowns_sheet(ws: Worksheet, figures: Figures) -> None:
    definitions = figures_at(figures.scope.place.level)
    row = 1
    anchors: dict[str, tuple[int, int]] = {}
    for name in BREAKDOWNS:
        rows = figures.breakdowns.get(name, [])
        put(ws, row, 1, definitions[name].label).font = Font(bold=True)
        table(ws, ["项目", "件数"], [[item["label"], item["count"]] for item in rows], first_row=row + 1, freeze=None)
        anchors[name] = (row + 1, row + 1 + len(rows))
        row += len(rows) + 3
    chart_row = 1
    for name, title in CHARTS:
        first, last = anchors[name]
        if last <= first:
            continue
        chart = BarChart()
        chart.title, chart.y_axis.title = title, "件"
        chart.add_data(Reference(ws, min_col=2, min_row=first, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=first + 1, max_row=last))
        chart.height, chart.width = 7, 16
        ws.add_chart(chart, f"E{chart_row}")
        chart_row += 16
    _block(ws, row, "三调对接（按对接类型，状态按年末计）", *sandiao_table(figures))
    _block(ws, ws.max_row + 2, definitions["joint_sessions"].label, *joint_table(figures))


def _block(ws: Worksheet, row: int, title: str, header: list[str], rows: list[list[Any]]) -> None:
    """A titled table of Chinese labels and numbers, from ``row`` down."""
    put(ws, row, 1, title).font = Font(bold=True)
    table(ws, header, rows, first_row=row + 1, freeze=None)


def _ledger_sheet(ws: Worksheet, rows: list[list[Any]]) -> None:
    table(ws, COLUMNS, rows, freeze=2)  # 序号 and 案件编号 stay in view


def _text_sheet(ws: Worksheet, text: ReportText) -> None:
    append(ws, [text.title])
    ws["A1"].font = Font(bold=True, size=14)
    append(ws, [text.heading])
    for paragraph in text.paragraphs:
        append(ws, [paragraph])
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 120


def report_xlsx(figures: Figures, text: ReportText, ledger: list[list[Any]]) -> bytes:
    """The workbook's bytes."""
    wb = Workbook()
    _figures_sheet(wb.active, figures, text)
    _breakdowns_sheet(wb.create_sheet("分项统计"), figures)
    _ledger_sheet(wb.create_sheet("台账"), ledger)
    _text_sheet(wb.create_sheet("报告正文"), text)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
