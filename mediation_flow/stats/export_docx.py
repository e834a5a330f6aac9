"""The report as a .docx in official-document layout (GB/T 9704 in spirit): A4, 仿宋 三号 body with a
28-point line, 黑体 headings, the issuer's red title line, the figures table and the definitions, the
落款 (issuer and date in Chinese), and page numbers "— 1 —" (a PAGE field in the footer, 宋体 四号).

Tables repeat their header row on every page, no row splits across pages, and a table's caption and header
row keep with its first row, so no header is left alone at the bottom of a page."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from mediation_flow.display.exports import safe_text
from mediation_flow.display.formats import cn_date, cn_datetime, heading_number, number
from mediation_flow.display.labels import without_codes
from mediation_flow.stats.definitions import load_definitions
from mediation_flow.stats.figures import Figures
from mediation_flow.stats.report_text import ReportText, joint_table, sandiao_table

BODY_FONT, HEADING_FONT, TITLE_FONT, KAI_FONT, PAGE_FONT = "仿宋", "黑体", "方正小标宋简体", "楷体", "宋体"
SIZE_3, SIZE_2, SIZE_4, SIZE_SMALL_4 = Pt(16), Pt(22), Pt(14), Pt(12)
RED = RGBColor(0xC0, 0x00, 0x00)


def _run(
    paragraph: Paragraph, text: str, font: str, size: Pt, *, bold: bool = False, color: RGBColor | None = None
) -> Run:
    run = paragraph.add_run(safe_text(text))  # stored text: nothing in it can break the file
    run.font.name, run.font.size, run.font.bold = font, size, bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
    if color is not None:
        run.font.color.rgb = color
    return run


def _para(
    doc: DocxDocument,
    text: str,
    font: str = BODY_FONT,
    size: Pt = SIZE_3,
    *,
    center: bool = False,
    indent: bool = False,
    bold: bool = False,
    color: RGBColor | None = None,
    keep: bool = False,
) -> Paragraph:
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(28)
    fmt.space_before = fmt.space_after = Pt(0)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    else:
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if indent:
        fmt.first_line_indent = Pt(size.pt * 2)
    if keep:
        fmt.keep_with_next = True
    _run(p, text, font, size, bold=bold, color=color)
    return p


def _page(doc: DocxDocument) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = BODY_FONT, SIZE_3
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)


def _row_property(row: object, tag: str) -> None:
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    element = OxmlElement(tag)
    element.set(qn("w:val"), "true")
    tr_pr.append(element)


def _table(doc: DocxDocument, header: list[str], rows: list[list[str]]) -> None:
    """A grid table whose header row repeats on each page (tblHeader) and keeps with the first row; no row
    splits across a page (cantSplit)."""
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _run(cell.paragraphs[0], text, HEADING_FONT, SIZE_SMALL_4)
        cell.paragraphs[0].paragraph_format.keep_with_next = True
    _row_property(table.rows[0], "w:tblHeader")
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            for i, line in enumerate(text.split("\n")):
                paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
                _run(paragraph, line, BODY_FONT, SIZE_SMALL_4)
    for row in table.rows:
        _row_property(row, "w:cantSplit")


def _field(paragraph: Paragraph, instruction: str, font: str, size: Pt) -> None:
    """A Word field (``PAGE``): begin, the instruction, separate, the value shown until updated, end."""

    def char(kind: str) -> None:
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        _run(paragraph, "", font, size)._r.append(element)

    char("begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    _run(paragraph, "", font, size)._r.append(instr)
    char("separate")
    _run(paragraph, "1", font, size)
    char("end")


def _page_numbers(doc: DocxDocument) -> None:
    """ "— 1 —" centred in the footer (GB/T 9704: 4号半角宋体阿拉伯数字, 一字线 on each side)."""
    footer = doc.sections[0].footer
    paragraph = footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, "— ", PAGE_FONT, SIZE_4)
    _field(paragraph, "PAGE", PAGE_FONT, SIZE_4)
    _run(paragraph, " —", PAGE_FONT, SIZE_4)


def _signature(doc: DocxDocument, issuer_lines: list[str], day: str) -> None:
    """The 落款: the issuer over the date, right-aligned, the date four characters in from the right."""
    _para(doc, "")
    for line in issuer_lines:
        p = _para(doc, line, keep=True)
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        p.paragraph_format.right_indent = Pt(SIZE_3.pt * 2)
    p = _para(doc, day)
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.paragraph_format.right_indent = Pt(SIZE_3.pt * 4)


def _period_line(figures: Figures) -> str:
    s = figures.scope
    return f"（统计期间：{s.period_text}；数据截至{cn_datetime(s.as_of)}）"


def report_docx(figures: Figures, text: ReportText) -> bytes:
    """The document's bytes."""
    doc = Document()
    _page(doc)
    for line in text.issuer_lines:
        _para(doc, line, TITLE_FONT, SIZE_2, center=True, color=RED)
    _para(doc, "", center=True)
    _para(doc, text.title, TITLE_FONT, SIZE_2, center=True)
    _para(doc, _period_line(figures), KAI_FONT, SIZE_3, center=True)
    _para(doc, f"{heading_number(1)}{text.heading}", HEADING_FONT, SIZE_3, indent=True, keep=True)
    for paragraph in text.paragraphs:
        _para(doc, paragraph, indent=True)
    _para(doc, f"{heading_number(2)}主要数据", HEADING_FONT, SIZE_3, indent=True, keep=True)
    table = [
        [r["label"], "\n".join(filter(None, [r["value"], r.get("parts", "")])), r["definition"]] for r in text.table
    ]
    _table(doc, ["指标", "数值", "统计口径"], table)
    _para(doc, f"{heading_number(3)}三调对接和“一庭两所”联合调解", HEADING_FONT, SIZE_3, indent=True, keep=True)
    header, rows = sandiao_table(figures)
    _para(doc, "按对接类型（转入、转出的状态按年末计）", KAI_FONT, SIZE_3, center=True, keep=True)
    _table(doc, header, [[number(v) if isinstance(v, int) else str(v) for v in row] for row in rows])
    joint_header, joint_rows = joint_table(figures)
    if joint_rows:
        _para(doc, "“一庭两所”联合调解（按参加单位）", KAI_FONT, SIZE_3, center=True, keep=True)
        _table(doc, joint_header, [[number(v) if isinstance(v, int) else str(v) for v in row] for row in joint_rows])
    _para(doc, f"{heading_number(4)}月度情况", HEADING_FONT, SIZE_3, indent=True, keep=True)
    resolved = {r["key"]: r["count"] for r in figures.breakdowns.get("monthly_resolved", [])}
    _table(
        doc,
        ["月份", "登记纠纷（件）", "达成协议（件）"],
        [
            [r["label"], number(r["count"]), number(resolved.get(r["key"], 0))]
            for r in figures.breakdowns["monthly_taken_in"]
        ],
    )
    _para(doc, f"{heading_number(5)}统计口径说明", HEADING_FONT, SIZE_3, indent=True, keep=True)
    for rule in load_definitions().common.values():
        _para(doc, without_codes(rule), indent=True)
    _signature(doc, text.issuer_lines, cn_date(figures.scope.as_of))
    _page_numbers(doc)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
