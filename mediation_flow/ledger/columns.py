"""The documented columns of the ledger import (Chinese headers), and the downloadable template."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Column:
    header: str
    required: bool
    help: str
    example: Any  # typed as the spreadsheet holds it: a date, a number or text

    @property
    def example_text(self) -> str:
        """The example as the documentation writes it (a date as 2023年3月1日)."""
        if isinstance(self.example, date):
            return f"{self.example.year}年{self.example.month}月{self.example.day}日"
        return str(self.example)


COLUMNS = [
    Column("原台账编号", False, "原纸质或电子台账中的编号，导入后记入案件备注", "2023-015"),
    Column("案件名称", True, "不超过200字", "张三与李四相邻通行纠纷"),
    Column("登记日期", True, "日期，如 2023年3月1日，须早于今天", date(2023, 3, 1)),
    Column("所属辖区代码", True, "乡镇、村（社区）或网格的辖区代码，须在导入人的辖区内", "500101001001"),
    Column("纠纷类型", True, "参考数据中的纠纷类型名称或代码，如 邻里、婚姻家庭", "邻里"),
    Column("案件来源", True, "当事人申请、主动排查、公安移交、法院委派/委托、信访转办、部门指定", "主动排查"),
    Column("纠纷简要情况", True, "不超过5000字", "两户因院坝通道宽度发生争执。"),
    Column("申请人", True, "姓名或单位名称", "张三"),
    Column("申请人身份证号", False, "18位公民身份号码（校验位须正确）", ""),
    Column("申请人电话", False, "手机或固定电话", "13812345678"),
    Column("被申请人", True, "姓名或单位名称", "李四"),
    Column("涉及人数", False, "整数，默认2", 2),
    Column("涉及金额（元）", False, "纠纷涉及金额", 1200),
    Column("调解员", False, "调解员的用户名；不填则为导入人", ""),
    Column("调解场所", False, "参考数据中的调解场所名称或代码，如 清风茶室", "清风茶室"),
    Column("开始调解日期", False, "调解结果为达成协议、调解不成、调解中时必填", date(2023, 3, 3)),
    Column("调解结果", True, "达成协议、调解不成、当事人撤回、不予受理、调解中、已受理、已登记", "达成协议"),
    Column("协议形式", False, "书面 或 口头，默认口头", "口头"),
    Column("协议日期", False, "达成协议时必填（协议生效日期）", date(2023, 3, 5)),
    Column("协议金额（元）", False, "调解协议涉及金额", 800),
    Column("协议内容", False, "达成协议的内容；书面协议须同时填写履行方式", "李四让出通道一米"),
    Column("履行方式", False, "履行方式、地点、期限（书面协议必填）", ""),
    Column("回访日期", False, "达成协议后回访的日期", date(2023, 3, 20)),
    Column("履行情况", False, "已履行、部分履行、未履行（填写回访日期时必填）", "已履行"),
    Column("结案日期", False, "达成协议的须先回访；调解不成的结案", date(2023, 3, 21)),
    Column("原因说明", False, "调解不成、撤回、不予受理的原因", ""),
    # 三调对接: a case referred in by a partner agency, imported on the agency's own path
    Column("移交单位", False, "派出所、人民法庭或信访部门移入的案件：移交单位的名称或代码；不填为本乡镇自行受理", ""),
    Column("来文单位", False, "移交文书落款的单位名称（与移交单位不同时填写）", ""),
    Column("来文编号", False, "移交单位的文号、法院案号或信访件编号（填写移交单位时必填）", ""),
    Column("委派方式", False, "法院移入的案件：委派调解 或 委托调解", ""),
    Column("信访形式", False, "信访部门转办的案件：来信、来访、来电、网上信访", ""),
    Column("信访情形", False, "重复访、越级访、进京访、购票进京、到京，可填多项，用顿号分隔", ""),
    Column("结果反馈日期", False, "移入案件向移交单位反馈调解结果的日期（移入案件结案前必填）", ""),
    Column("联合调解单位", False, "一庭两所：参加联合调解的人民法庭、派出所等单位的名称或代码，用顿号分隔", ""),
    Column("提级至", False, "提级处理到的层级：村（社区）、乡镇（街道）或县（区）", ""),
    Column("提级日期", False, "提级处理的日期（调解结束之前）", ""),
    Column("申请司法确认日期", False, "达成协议后申请司法确认的日期", ""),
    Column("受理法院", False, "受理司法确认申请的法院", ""),
    Column("司法确认日期", False, "法院裁定确认调解协议有效的日期", ""),
    Column("裁定书文号", False, "司法确认裁定书的文号", ""),
]
REQUIRED = [c.header for c in COLUMNS if c.required]
OUTCOMES = {
    "达成协议": "agreed",
    "调解成功": "agreed",
    "调解不成": "failed",
    "当事人撤回": "withdrawn",
    "撤回": "withdrawn",
    "不予受理": "rejected",
    "调解中": "mediating",
    "已受理": "accepted",
    "已登记": "registered",
}
PERFORMED = {"已履行": "full", "部分履行": "partial", "未履行": "none"}
FORMS = {"书面": "written", "书面协议": "written", "口头": "oral", "口头协议": "oral"}


def template_xlsx() -> bytes:
    """The import template: the 台账 sheet with headers and one example row, and 填写说明 (through the one
    export writer: the example's dates are dates, its numbers numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from mediation_flow.display.exports import append, table

    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    table(ws, [c.header for c in COLUMNS], [[c.example for c in COLUMNS]], freeze=0)
    for cell, column in zip(ws[1], COLUMNS, strict=True):
        if column.required:
            cell.font = Font(bold=True, color="C00000")
    help_sheet = wb.create_sheet("填写说明")
    rows = [[c.header, "必填" if c.required else "选填", c.help, c.example] for c in COLUMNS]
    table(help_sheet, ["列名", "是否必填", "说明", "示例"], rows)
    append(help_sheet, [])
    append(help_sheet, ["删除示例行后填写；每行一件纠纷；任何一行有误则整个文件不导入，并逐行逐列列出错误。"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


DOCS_INTRO = """# 台账导入 (ledger import)

Generated from `mediation_flow/ledger/columns.py` (a test checks they match). Download the template
with `mediation-flow ledger-template 台账模板.xlsx` or `GET /api/v1/reports/ledger/template`; import with
`mediation-flow import-ledger FILE --user SUPERVISOR` or `POST /api/v1/reports/ledger/import` (multipart `file`).

- `.xlsx` (the sheet named 台账, else the first sheet) or `.csv` (UTF-8 or GBK), first row the headers below.
- Every row is checked; every problem is reported with its row number (as Excel shows it) and column.
  If any row is wrong, nothing is imported. Rows the engine refuses while importing roll the whole file back.
- Each row becomes a case registered and driven through the engine with back-dated effective times
  (registration 09:00 on 登记日期, mediation on 开始调解日期, agreement on 协议日期, visit on 回访日期,
  closing on 结案日期), plus a note naming the row and the original number, so it counts in the
  statistics like any other case. Only supervisors import (back-dating is theirs). Dates must be before today.
- The steps of the mediation are recorded as done by the row's 调解员 (the mediator on the paper ledger) and typed
  in by the importer (代录: both are kept on each event); registration, assignment and escalation are the importer's.
- A case referred in (移交单位) is imported on its agency's path (警调、诉调、访调对接) with its reference, the
  court's mode, the petition's channel and situations; 结果反馈日期 adds the result reported back (at 16:00, before
  closing). Joint mediation (联合调解单位), escalation (提级, on 提级日期 at 11:00) and judicial confirmation
  (申请 16:10, 确认 16:20) count in the report's 三调, petition and level figures as if entered step by step.

"""


def docs_markdown() -> str:
    """docs/ledger_import.md; regenerate: ``python -m mediation_flow.ledger.columns > docs/ledger_import.md``."""
    return DOCS_INTRO + columns_markdown()


def columns_markdown() -> str:
    lines = ["| 列名 | 必填 | 说明 | 示例 |", "|---|---|---|---|"]
    lines += [f"| {c.header} | {'是' if c.required else ''} | {c.help} | {c.example_text} |" for c in COLUMNS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(docs_markdown(), end="")
