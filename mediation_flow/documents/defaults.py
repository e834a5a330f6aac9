"""The default printout templates, built from the official layout (``layout.py``). Run
``python -m mediation_flow.documents.defaults`` after changing this file: it rewrites ``templates/*.docx``
(a test checks the committed files match what this builds).

A template's placeholders are Chinese (docxtpl's Jinja tags, see ``cases/printout_data.py`` for every field):
``{{ 案件名称 }}`` prints a value, ``{%tr for 人 in 当事人 %}`` repeats a table row, ``{%p if … %}`` keeps a
paragraph only when the case has it. A township copies a file into ``<data folder>/templates/``, edits the
wording and layout in Word, keeps the placeholders, and its copy is used from then on.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH

from mediation_flow.documents.layout import (
    HEADING,
    closing,
    heading,
    merge_row,
    new_document,
    page_break,
    para,
    signatures,
    table,
    tag,
    title,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
BUILT_ON = datetime(2026, 12, 1)  # fixed, so a rebuild changes the files only when the layout changes

PARTY_WIDTHS = (20, 26, 48, 30, 32)  # 身份, 姓名或名称, 证件号码 (18 digits), 联系电话, 住址: 156 mm
PARTY_ROWS = [
    ["身份", "姓名或名称", "证件号码", "联系电话", "住址"],
    ["{%tr for 人 in 当事人 %}"],
    ["{{ 人.身份 }}", "{{ 人.姓名 }}", "{{ 人.证件号码 }}", "{{ 人.联系电话 }}", "{{ 人.住址 }}"],
    ["{%tr endfor %}"],
]


def _parties_table(doc: DocxDocument) -> None:
    table(doc, PARTY_WIDTHS, PARTY_ROWS, header_rows=1, nowrap=(2, 3))


def registration(doc: DocxDocument) -> None:
    title(doc, "人民调解受理登记表")
    grid = table(
        doc,
        (24, 54, 24, 54),
        [
            ["案件名称", "{{ 案件名称 }}"],
            ["{%tr for 行 in 来文情况 %}"],
            ["{{ 行.项目 }}", "{{ 行.内容 }}"],
            ["{%tr endfor %}"],
            ["纠纷类型", "{{ 纠纷类型 }}", "案件来源", "{{ 案件来源 }}"],
            ["登记日期", "{{ 登记日期 }}", "所属辖区", "{{ 所属辖区 }}"],
            ["处理层级", "{{ 处理层级 }}", "风险等级", "{{ 风险等级 }}"],
            ["涉及人数", "{{ 涉及人数 }}", "涉及金额", "{{ 涉及金额 }}"],
            ["登记人", "{{ 登记人 }}", "调解员", "{{ 调解员 }}"],
        ],
        labels=(0, 2),
    )
    for row in (0, 2):
        merge_row(grid, row, first=1)
    para(doc, "当事人", HEADING)
    _parties_table(doc)
    para(doc)
    table(
        doc,
        (30, 126),
        [
            ["纠纷简要情况", "{{ 纠纷简要情况 }}"],
            ["受理意见", "{{ 受理框 }}受理　　{{ 不予受理框 }}不予受理（理由：{{ 不予受理理由 }}）"],
        ],
        labels=(0,),
    )
    para(doc, "{{ 告知框 }}已告知当事人人民调解的性质、原则、效力以及当事人在调解活动中享有的权利和承担的义务。")
    signatures(doc, ["当事人（签名）：", "登记人（签名）："])
    closing(doc)


def session_record(doc: DocxDocument) -> None:
    tag(doc, "{%p for 次 in 笔录 %}")
    title(doc, "人民调解笔录（{{ 次.次数 }}）")
    grid = table(
        doc,
        (24, 54, 24, 54),
        [
            ["案件名称", "{{ 案件名称 }}"],
            ["调解时间", "{{ 次.调解日期 }}", "调解地点", "{{ 次.调解地点 }}"],
            ["主持人", "{{ 调解员 }}", "记录人", ""],
            ["参加人员", "{{ 次.参加人员 }}"],
        ],
        labels=(0, 2),
    )
    for row in (0, 3):
        merge_row(grid, row, first=1)
    para(doc, "当事人", HEADING)
    _parties_table(doc)
    para(doc, "调解情况", HEADING)
    para(doc, "{{ 次.调解情况 }}", indent=True)
    para(doc)
    signatures(doc, ["当事人（签名）：", "调解员（签名）："])
    signatures(doc, ["记录人（签名）："])
    tag(doc, "{%p if not loop.last %}")
    page_break(doc)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")


def agreement(doc: DocxDocument) -> None:
    title(doc, "人民调解协议书")
    heading(doc, "当事人")
    tag(doc, "{%p for 人 in 当事人 %}")
    para(doc, "{{ 人.身份 }}：{{ 人.简况 }}。", indent=True)
    tag(doc, "{%p endfor %}")
    for head, value in (
        ("纠纷主要事实、争议事项及各方责任", "{{ 纠纷事实 }}"),
        ("经调解，双方当事人自愿达成如下协议", "{{ 协议内容 }}"),
        ("履行方式、地点、期限", "{{ 履行方式 }}"),
    ):
        heading(doc, head)
        para(doc, value, indent=True)
    tag(doc, "{%p if 协议金额 %}")
    heading(doc, "协议涉及金额")
    para(doc, "{{ 协议金额 }}", indent=True)
    tag(doc, "{%p endif %}")
    para(doc, "协议形式：{{ 协议形式 }}。", indent=True)
    para(
        doc,
        "本协议自各方当事人签名（盖章或按指印）、人民调解员签名并加盖人民调解委员会印章之日起生效。"
        "经人民调解委员会调解达成的调解协议，具有法律约束力，当事人应当按照约定履行（《中华人民共和国人民调解法》"
        "第三十一条）。双方当事人可以自本协议生效之日起三十日内共同向人民法院申请司法确认（第三十三条）。"
        "本协议一式三份，双方当事人、人民调解委员会各执一份。",
        indent=True,
    )
    para(doc)
    tag(doc, "{%p for 人 in 当事人 %}")
    signatures(doc, ["{{ 人.身份 }}（签名、盖章或按指印）："])
    tag(doc, "{%p endfor %}")
    signatures(doc, ["人民调解员（签名）："])
    closing(doc)


def follow_up(doc: DocxDocument) -> None:
    title(doc, "人民调解回访记录")
    grid = table(
        doc,
        (24, 54, 24, 54),
        [
            ["案件名称", "{{ 案件名称 }}"],
            ["当事人", "{{ 当事人姓名 }}"],
            ["调解员", "{{ 调解员 }}", "协议日期", "{{ 协议日期 }}"],
        ],
        labels=(0, 2),
    )
    for row in (0, 1):
        merge_row(grid, row, first=1)
    tag(doc, "{%p for 次 in 回访 %}")
    heading(doc, "{{ 次.次数 }}回访")
    grid = table(
        doc,
        (24, 54, 24, 54),
        [
            ["回访日期", "{{ 次.回访日期 }}", "履行情况", "{{ 次.履行情况 }}"],
            ["满意度", "{{ 次.满意度 }}", "另行起诉", "{{ 次.另行起诉 }}"],
            ["隐患情况", "{{ 次.隐患情况 }}"],
            ["采取的措施", "{{ 次.采取措施 }}"],
        ],
        labels=(0, 2),
    )
    for row in (2, 3):
        merge_row(grid, row, first=1)
    tag(doc, "{%p endfor %}")
    para(doc)
    signatures(doc, ["回访人（签名）：", "被回访人（签名）："])
    closing(doc)


RIGHTS = [
    (
        "一、人民调解的性质",
        [
            "人民调解委员会是依法设立的调解民间纠纷的群众性组织（第七条）。人民调解委员会调解民间纠纷，不收取任何费用（第四条）。"
        ],
    ),
    (
        "二、人民调解的原则（第三条）",
        [
            "（一）在当事人自愿、平等的基础上进行调解；",
            "（二）不违背法律、法规和国家政策；",
            "（三）尊重当事人的权利，不得因调解而阻止当事人依法通过仲裁、行政、司法等途径维护自己的权利。",
        ],
    ),
    (
        "三、调解协议的效力",
        [
            "经人民调解委员会调解达成的调解协议，具有法律约束力，当事人应当按照约定履行（第三十一条）。"
            "双方当事人认为有必要的，可以自调解协议生效之日起三十日内共同向人民法院申请司法确认（第三十三条）。"
        ],
    ),
    (
        "四、当事人享有的权利（第二十三条）",
        [
            "（一）选择或者接受人民调解员；",
            "（二）接受调解、拒绝调解或者要求终止调解；",
            "（三）要求调解公开进行或者不公开进行；",
            "（四）自主表达意愿、自愿达成调解协议。",
        ],
    ),
    (
        "五、当事人承担的义务（第二十四条）",
        ["（一）如实陈述纠纷事实；", "（二）遵守调解现场秩序，尊重人民调解员；", "（三）尊重对方当事人行使权利。"],
    ),
]


def _signed_for(doc: DocxDocument, receipt: str) -> None:
    """落款, then the party's receipt: a line to sign and the day, both blank."""
    closing(doc)
    para(doc)
    para(doc, receipt, indent=True, keep_with_next=True)
    signatures(doc, ["当事人（签名）：", "签收日期："])


def rights(doc: DocxDocument) -> None:
    title(doc, "人民调解当事人权利义务告知书")
    para(doc, "{{ 当事人姓名 }}：")
    para(
        doc,
        "根据《中华人民共和国人民调解法》，现将人民调解的性质、原则、效力以及当事人在人民调解活动中享有的权利和"
        "承担的义务告知如下：",
        indent=True,
    )
    for head, lines in RIGHTS:
        heading(doc, head).paragraph_format.first_line_indent = doc.styles[HEADING].font.size * 2
        for line in lines:
            para(doc, line, indent=True)
    _signed_for(doc, "本人已收到本告知书，知悉上述内容。")


def refusal(doc: DocxDocument) -> None:
    title(doc, "不予受理告知书")
    para(doc, "{{ 申请人姓名 }}：")
    para(
        doc,
        "你（单位）于{{ 登记日期 }}申请调解的“{{ 案件名称 }}”，经审查，因{{ 不予受理理由 }}，本委员会决定不予受理。",
        indent=True,
    )
    para(doc, "你（单位）可以依法通过仲裁、行政、司法等途径维护自己的权利。", indent=True)
    para(doc, "特此告知。", indent=True)
    _signed_for(doc, "本人已收到本告知书。")


def referral(doc: DocxDocument) -> None:
    title(doc, "矛盾纠纷{{ 函名 }}")
    para(doc, "{{ 收函单位 }}：")
    para(
        doc,
        "我委于{{ 登记日期 }}登记的“{{ 案件名称 }}”，因{{ 转出理由 }}，根据《中华人民共和国人民调解法》第十八条的规定，"
        "现{{ 移送 }}你单位依法处理{{ 办理要求 }}。",
        indent=True,
    )
    table(
        doc,
        (30, 126),
        [
            ["案件名称", "{{ 案件名称 }}"],
            ["纠纷类型", "{{ 纠纷类型 }}"],
            ["所属辖区", "{{ 所属辖区 }}"],
            ["转往", "{{ 转往 }}"],
            ["转出理由", "{{ 转出理由 }}"],
            ["转出日期", "{{ 转出日期 }}"],
            ["承办调解员", "{{ 调解员 }}"],
        ],
        labels=(0,),
    )
    heading(doc, "当事人")
    tag(doc, "{%p for 人 in 当事人 %}")
    para(doc, "{{ 人.身份 }}：{{ 人.姓名 }}{{ 人.联系 }}。", indent=True)
    tag(doc, "{%p endfor %}")
    heading(doc, "纠纷简要情况")
    para(doc, "{{ 纠纷简要情况 }}", indent=True)
    closing(doc)
    para(doc, "- - - - - - - - - - - - - - 沿此线剪开 - - - - - - - - - - - - - -", align=WD_ALIGN_PARAGRAPH.CENTER)
    heading(doc, "签收回执").alignment = WD_ALIGN_PARAGRAPH.CENTER
    para(doc, "{{ 调解委员会 }}：", keep_with_next=True)
    para(doc, "你委{{ 函名 }}（编号：{{ 编号 }}）收悉。", indent=True, keep_with_next=True)
    signatures(doc, ["签收单位（盖章）：", "签收人："])
    signatures(doc, ["签收日期："])


# file name (the form's name, as a township sees it) → builder, body size (三号 for letters, 四号 for forms)
BUILDERS: dict[str, tuple[Callable[[DocxDocument], None], float]] = {
    "受理登记表": (registration, 14),
    "调解笔录": (session_record, 14),
    "调解协议书": (agreement, 16),
    "回访记录": (follow_up, 14),
    "权利义务告知书": (rights, 16),
    "不予受理告知书": (refusal, 16),
    "移送函": (referral, 16),
}


def build(name: str) -> bytes:
    """The default template ``name`` (a key of ``BUILDERS``) as .docx bytes."""
    builder, size = BUILDERS[name]
    doc = new_document(body_size=size, body_line=28 if size >= 16 else 24)
    builder(doc)
    doc.core_properties.created = doc.core_properties.modified = BUILT_ON
    doc.core_properties.revision = 1
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def write_all(folder: Path = TEMPLATES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in BUILDERS:
        path = folder / f"{name}.docx"
        path.write_bytes(build(name))
        written.append(path)
    return written


if __name__ == "__main__":
    for written in write_all():
        print(written)
