"""The official layout of a printout, as python-docx calls (used only to build the default templates).

A4 with GB/T 9704 margins (top 37 mm, bottom 35, left 28, right 26), 仿宋 body and 黑体 headings set in the
styles (East-Asian font in ``w:rFonts w:eastAsia``, digits in Times New Roman, Chinese line breaking by
``w:lang w:eastAsia``), so a
township changing a style in Word changes every paragraph of it. Tables have a fixed layout and fixed widths;
cells holding an ID or phone number do not wrap (``w:noWrap``) and rows do not break across pages. Signature
lines are tab stops with an underline leader: blank, to be signed by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips
from docx.styles.style import ParagraphStyle
from docx.table import Table
from docx.text.paragraph import Paragraph

BODY_FONT, HEADING_FONT = "仿宋", "黑体"
LATIN_FONT = "Times New Roman"  # digits and Latin letters, as official documents set them: half as wide as 仿宋
A4_TWIPS = (11906, 16838)
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}  # GB/T 9704-2012 §5.2.1
TEXT_WIDTH_MM = 210 - MARGINS_MM["left"] - MARGINS_MM["right"]  # 156 mm

# Word lists the built-in Normal as 正文; the others are the template's own styles
BODY, TITLE, HEADING, CELL, SMALL, SIGN = "Normal", "文件标题", "小标题", "表格文字", "文号", "签名行"


def twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


def _fonts(style: ParagraphStyle, font: str, size: float) -> None:
    style.font.name, style.font.size = LATIN_FONT, Pt(size)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), font)
    fonts.set(qn("w:cs"), LATIN_FONT)
    fonts.set(qn("w:hint"), "eastAsia")
    lang = OxmlElement("w:lang")  # Chinese line breaking for Chinese text; digits stay a word (never split)
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)


def _style(
    doc: DocxDocument, name: str, font: str, size: float, line: float, *, align: WD_ALIGN_PARAGRAPH | None = None
) -> ParagraphStyle:
    style: ParagraphStyle = doc.styles[BODY] if name == BODY else doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    if name != BODY:
        style.base_style = doc.styles["Normal"]
        style.quick_style = True
    _fonts(style, font, size)
    fmt = style.paragraph_format
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(line)
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.widow_control = True
    if align is not None:
        fmt.alignment = align
    return style


def new_document(*, body_size: float = 16, body_line: float = 28) -> DocxDocument:
    """An empty A4 document with the printout styles: 正文 (仿宋, 三号 by default, 28-point line), 文件标题 and
    小标题 (黑体), 表格文字 (仿宋 小四), 文号 and 签名行; page numbers “— 1 —” in the footer."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = (Twips(v) for v in A4_TWIPS)
    section.top_margin, section.bottom_margin = Twips(twips(MARGINS_MM["top"])), Twips(twips(MARGINS_MM["bottom"]))
    section.left_margin, section.right_margin = Twips(twips(MARGINS_MM["left"])), Twips(twips(MARGINS_MM["right"]))
    section.header_distance, section.footer_distance = Mm(15), Mm(20)
    _style(doc, BODY, BODY_FONT, body_size, body_line, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    _style(doc, TITLE, HEADING_FONT, 22, 36, align=WD_ALIGN_PARAGRAPH.CENTER).paragraph_format.space_after = Pt(12)
    heading = _style(doc, HEADING, HEADING_FONT, body_size, body_line)
    heading.paragraph_format.keep_with_next = True  # never stranded at the foot of a page
    _style(doc, CELL, BODY_FONT, 12, 20, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(doc, SMALL, BODY_FONT, 12, 20, align=WD_ALIGN_PARAGRAPH.RIGHT).paragraph_format.space_after = Pt(6)
    _style(doc, SIGN, BODY_FONT, body_size, body_line * 1.5)
    _page_numbers(doc)
    props = doc.core_properties
    props.author = props.comments = props.title = props.subject = props.keywords = props.last_modified_by = ""
    props.language = "zh-CN"
    return doc


def _page_numbers(doc: DocxDocument) -> None:
    footer = doc.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    footer._p.append(field)
    footer.add_run(" —")
    footer.style = doc.styles[CELL]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER


def para(
    doc: DocxDocument,
    text: str = "",
    style: str = BODY,
    *,
    indent: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    keep_with_next: bool = False,
) -> Paragraph:
    """A paragraph; ``indent``: the first line indented by two characters, as official prose is."""
    p = doc.add_paragraph(text, style=style)
    if indent:
        p.paragraph_format.first_line_indent = Pt(doc.styles[style].font.size.pt * 2)
    if align is not None:
        p.alignment = align
    if keep_with_next:
        p.paragraph_format.keep_with_next = True
    return p


def title(doc: DocxDocument, text: str, number: str | None = "编号：{{ 编号 }}") -> None:
    """The document's title, then its number on the right (``None``: no number line)."""
    para(doc, text, TITLE)
    if number:
        para(doc, number, SMALL)


def heading(doc: DocxDocument, text: str) -> Paragraph:
    return para(doc, text, HEADING)


def tag(doc: DocxDocument, text: str) -> Paragraph:
    """A paragraph holding only a ``{%p … %}`` tag (removed when the template is filled)."""
    return doc.add_paragraph(text, style=BODY)


def _cell_props(cell: object, width_mm: float, *, nowrap: bool) -> None:
    cell.width = Mm(width_mm)  # type: ignore[attr-defined]
    if nowrap:
        cell._tc.get_or_add_tcPr().append(OxmlElement("w:noWrap"))  # type: ignore[attr-defined]
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER  # type: ignore[attr-defined]


def _row_props(row: object, *, header: bool) -> None:
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    tr_pr.append(OxmlElement("w:cantSplit"))  # a row is never cut across two pages
    row.height = Mm(9)  # type: ignore[attr-defined]
    if header:
        tr_pr.append(OxmlElement("w:tblHeader"))  # repeated at the top of the next page


def _table_props(grid: Table) -> None:
    """The table as wide as the text, and 1 mm cell padding (Word's default 1.9 mm squeezes an 18-digit ID)."""
    tbl_pr = grid._tbl.tblPr
    width = tbl_pr.find(qn("w:tblW"))
    width.set(qn("w:type"), "dxa")
    width.set(qn("w:w"), str(twips(TEXT_WIDTH_MM)))
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(twips(1)))
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    look = tbl_pr.find(qn("w:tblLook"))
    if look is not None:
        look.addprevious(margins)
    else:
        tbl_pr.append(margins)


def table(
    doc: DocxDocument,
    widths_mm: Sequence[float],
    rows: Sequence[Sequence[str]],
    *,
    header_rows: int = 0,
    nowrap: Sequence[int] = (),
    labels: Sequence[int] = (),
) -> Table:
    """A fixed-layout grid table of ``rows`` (a row of one ``{%tr … %}`` tag spans nothing: it is removed when
    the template is filled); columns in ``nowrap`` never wrap, ``labels`` columns are centred."""
    assert abs(sum(widths_mm) - TEXT_WIDTH_MM) < 0.5, sum(widths_mm)
    grid: Table = doc.add_table(rows=0, cols=len(widths_mm))
    grid.style = doc.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False  # w:tblLayout fixed: the widths below hold whatever the text
    _table_props(grid)
    for column, width in zip(grid.columns, widths_mm, strict=True):
        column.width = Mm(width)
    for index, values in enumerate(rows):
        row = grid.add_row()  # type: ignore[no-untyped-call]
        _row_props(row, header=index < header_rows)
        for column, (cell, width) in enumerate(zip(row.cells, widths_mm, strict=True)):
            _cell_props(cell, width, nowrap=column in nowrap)
            p = cell.paragraphs[0]
            p.style = doc.styles[CELL]
            text = values[column] if column < len(values) else ""
            p.add_run(text)
            if column in labels or index < header_rows:
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return grid


def merge_row(grid: Table, row: int, *, first: int = 0) -> None:
    """Merge a row's cells from ``first`` to the last into one (a long value beside its label)."""
    cells = grid.rows[row].cells
    text = cells[first].text
    merged = cells[first].merge(cells[-1])
    for extra in merged.paragraphs[1:]:
        extra._p.getparent().remove(extra._p)
    merged.paragraphs[0].runs[0].text = text


def signatures(doc: DocxDocument, labels: Sequence[str], *, style: str = SIGN) -> Paragraph:
    """One line of blank signature fields: each label followed by an underlined blank to sign on."""
    p = doc.add_paragraph(style=style)
    share = TEXT_WIDTH_MM / max(2, len(labels))  # a single field takes half the line
    for index, label in enumerate(labels):
        p.paragraph_format.tab_stops.add_tab_stop(
            Mm(share * (index + 1) - 4), WD_TAB_ALIGNMENT.LEFT, WD_TAB_LEADER.LINES
        )
        if index:
            p.paragraph_format.tab_stops.add_tab_stop(Mm(share * index), WD_TAB_ALIGNMENT.LEFT)
            p.add_run("\t")
        p.add_run(f"{label}\t")
    return p


def closing(doc: DocxDocument, issuer: str = "{{ 调解委员会 }}（盖章）", day: str = "{{ 落款日期 }}") -> None:
    """落款: the issuing committee and the date, right-aligned, two characters in from the margin, kept on the
    page of the text before them (never alone at the top of a page)."""
    if doc.paragraphs:
        doc.paragraphs[-1].paragraph_format.keep_with_next = True
    para(doc, keep_with_next=True)
    for text in (issuer, day):
        p = para(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = Pt(32)
        p.paragraph_format.keep_with_next = text == issuer
        p.paragraph_format.keep_together = True


def page_break(doc: DocxDocument) -> None:
    doc.add_page_break()  # type: ignore[no-untyped-call]
