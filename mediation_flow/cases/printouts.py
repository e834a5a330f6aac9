"""Print-ready Word files of a case for signatures and the paper file (一案一卷): the 受理登记表 and the
调解协议书 with the fields the law asks for (人民调解法 Art. 29; 《人民调解工作若干规定》Art. 35)."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from sqlalchemy import Connection, Engine, select

from mediation_flow.accounts.policy import Actor, may_see_full_identity
from mediation_flow.cases.queries import case_workflow, get_case_row, user_names
from mediation_flow.cases.referral_facts import AGENCY_NAMES, referral_facts
from mediation_flow.cases.views import PartyView, free_text_as_shown, letter_kind, log_full_views, read_parties
from mediation_flow.display import labels
from mediation_flow.display.exports import safe_text
from mediation_flow.display.formats import BLANK_DATE, cn_date, money
from mediation_flow.errors import NotFound
from mediation_flow.places.jurisdictions import get_by_id, township_of
from mediation_flow.places.reference import reference_labels
from mediation_flow.store.tables import EVENTS
from mediation_flow.workflow.fields import parse_money_fen

FONT = "SimSun"
TITLES = {"registration": "受理登记表", "agreement": "调解协议书", "referral": "移送函"}


def _date(value: date | datetime | str | None) -> str:
    """A date on a form; a blank to be filled in by hand when there is none."""
    return cn_date(value, blank=BLANK_DATE)


def _document(title: str, number: str) -> Any:
    doc = Document()
    for section in doc.sections:  # A4, as official forms are (python-docx starts from US Letter)
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(28)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    heading = _para(doc)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(title)
    run.bold = True
    run.font.size = Pt(20)
    sub = _para(doc, number)
    sub.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return doc


def _para(doc: Any, text: str = "") -> Any:
    """A paragraph of stored text: nothing in it can break the file (``display.exports``)."""
    return doc.add_paragraph(safe_text(text))


def _rows(doc: Any, rows: list[tuple[str, str]]) -> None:
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text = label
        cells[1].text = safe_text(value or "")


def _bytes(doc: Any) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _committee(conn: Connection, row: dict[str, Any]) -> str:
    township = township_of(conn, get_by_id(conn, row["jurisdiction_id"]))
    return f"{township.name if township else ''}人民调解委员会"


def registration_docx(conn: Connection, actor: Actor, case_id: int, parties: list[PartyView]) -> bytes:
    """人民调解受理登记表 of a case the actor may see (CaseNotFound otherwise), with ``parties`` as shown."""
    row, _ = free_text_as_shown(get_case_row(conn, actor, case_id), [], full=may_see_full_identity(actor))
    reference = reference_labels(conn)
    names = user_names(conn, {i for i in (row["mediator_id"], row["created_by"]) if i})
    place = get_by_id(conn, row["jurisdiction_id"]).name
    referral = referral_facts(case_workflow(conn, row).spec, row["attributes"], reference)
    doc = _document("人民调解受理登记表", row["number"])
    _rows(
        doc,
        [
            ("案件名称", row["title"]),
            ("纠纷类型", reference.get("category", {}).get(row["category"], row["category"])),
            ("案件来源", reference.get("source", {}).get(row["source"], row["source"])),
            *(referral.rows() if referral else []),
            ("登记日期", _date(row["registered_at"])),
            ("所属辖区", place),
            ("处理层级", labels.label("levels", row["level"])),
            ("风险等级", reference.get("risk_grade", {}).get(row["risk_grade"], row["risk_grade"])),
            ("涉及人数", f"{row['people_involved']}人"),
            ("涉及金额", money(row["amount_fen"])),
            ("登记人", names.get(row["created_by"] or 0, "")),
            ("调解员", names.get(row["mediator_id"] or 0, "")),
        ],
    )
    _para(doc)
    _para(doc, "当事人").runs[0].bold = True
    table = doc.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, ("身份", "姓名或名称", "证件号码", "联系电话", "住址"), strict=True):
        cell.text = text
    for p in parties:
        values = (p.role_label, p.name, p.id_number or "", p.phone or "", p.address or "")
        for cell, text in zip(table.add_row().cells, values, strict=True):
            cell.text = safe_text(text)
    _para(doc)
    _para(doc, "纠纷简要情况").runs[0].bold = True
    _para(doc, row["summary"])
    _para(doc, "受理意见：□ 受理    □ 不予受理（理由：                              ）")
    _para(doc, "已告知当事人人民调解的性质、原则、效力以及当事人在调解活动中享有的权利和承担的义务。")
    _para(doc)
    _para(doc, "当事人（签名）：                    登记人（签名）：")
    _para(doc, f"{_committee(conn, row)}（盖章）            {_date(None)}")
    return _bytes(doc)


def agreement_docx(conn: Connection, actor: Actor, case_id: int, parties: list[PartyView]) -> bytes:
    """人民调解协议书 from the case's latest ``reach_agreement`` event; NotFound before there is one."""
    row = get_case_row(conn, actor, case_id)
    data = _latest(conn, case_id, "reach_agreement")
    if data is None:
        raise NotFound("本案尚未达成调解协议，不能打印调解协议书")
    full = may_see_full_identity(actor)
    row, [agreement] = free_text_as_shown(row, [{"note": "", "data": data}], full=full)
    data = agreement["data"]
    mediator = user_names(conn, {row["mediator_id"]} if row["mediator_id"] else set())
    doc = _document("人民调解协议书", row["number"])
    _para(doc, "当事人").runs[0].bold = True
    for p in parties:
        details = "，".join(
            x
            for x in (
                p.sex_birth,
                f"证件号码{p.id_number}" if p.id_number else "",
                f"联系电话{p.phone}" if p.phone else "",
                f"住{p.address}" if p.address else "",
            )
            if x
        )
        _para(doc, f"{p.role_label}：{p.name}{'，' + details if details else ''}。")
    sections = [
        ("纠纷主要事实、争议事项及各方责任", data.get("facts", "")),
        ("经调解，双方当事人自愿达成如下协议", data.get("terms", "")),
        ("履行方式、地点、期限", "，".join(x for x in (data.get("performance", ""), _deadline(data)) if x)),
    ]
    if data.get("amount"):
        sections.append(("协议涉及金额", money(parse_money_fen(data["amount"]))))
    for heading, text in sections:
        _para(doc, heading).runs[0].bold = True
        _para(doc, text or "")
    _para(doc, f"协议形式：{labels.label('agreement_forms', data.get('form'))}。")
    _para(
        doc,
        "本协议自各方当事人签名（盖章或按指印）、人民调解员签名并加盖人民调解委员会印章之日起生效。"
        "经人民调解委员会调解达成的调解协议，具有法律约束力，当事人应当按照约定履行（《中华人民共和国人民调解法》第三十一条）。"
        "双方当事人可以自本协议生效之日起三十日内共同向人民法院申请司法确认（第三十三条）。"
        "本协议一式三份，双方当事人、人民调解委员会各执一份。",
    )
    _para(doc)
    _para(doc, "当事人（签名、盖章或按指印）：")
    _para(doc, f"人民调解员（签名）：{mediator.get(row['mediator_id'] or 0, '')}")
    _para(doc, f"{_committee(conn, row)}（盖章）")
    _para(doc, _date(data.get("signed_on")))
    return _bytes(doc)


def _latest(conn: Connection, case_id: int, trigger: str) -> dict[str, Any] | None:
    found = conn.execute(
        select(EVENTS.c.data, EVENTS.c.effective_at)
        .where(EVENTS.c.case_id == case_id, EVENTS.c.trigger == trigger)
        .order_by(EVENTS.c.seq.desc())
        .limit(1)
    ).first()
    return {**(found.data or {}), "_on": found.effective_at} if found else None


def _due(row: dict[str, Any], clock_name: str) -> str:
    clock = (row["clocks"] or {}).get(clock_name) or {}
    return _date(clock["due"]) if clock.get("due") else ""


def referral_docx(conn: Connection, actor: Actor, case_id: int, parties: list[PartyView]) -> bytes:
    """纠纷移送函 (转办单 to a 信访 office) of the case's latest ``refer``: to whom, why, the case and its
    parties, the deadlines to sign for it and to answer, and a receipt to tear off. NotFound before a refer."""
    row = get_case_row(conn, actor, case_id)
    data = _latest(conn, case_id, "refer")
    if data is None:
        raise NotFound("本案尚未转出，没有移送函")
    row, [refer] = free_text_as_shown(row, [{"note": "", "data": data}], full=may_see_full_identity(actor))
    data = refer["data"]
    reference = reference_labels(conn)
    target = reference.get("referral_target", {}).get(data.get("target", ""), "")
    kind = letter_kind([{"trigger": "refer", "data": data}])
    agency = reference.get(AGENCY_NAMES, {}).get(str(data.get("agency") or ""), "")
    recipient = agency or data.get("receiving_body") or target
    mediator = user_names(conn, {row["mediator_id"]} if row["mediator_id"] else set()).get(row["mediator_id"] or 0, "")
    committee = _committee(conn, row)
    doc = _document(f"矛盾纠纷{kind}", row["number"])
    _para(doc, f"{recipient}：")
    asks = "，".join(
        x
        for x in (
            f"请于{_due(row, 'handoff_receipt')}前签收" if _due(row, "handoff_receipt") else "",
            f"于{_due(row, 'referral_feedback')}前将办理结果反馈我委" if _due(row, "referral_feedback") else "",
        )
        if x
    )
    _para(
        doc,
        f"　　我委于{_date(row['registered_at'])}登记的“{row['title']}”，因{data.get('reason', '')}，"
        f"根据《中华人民共和国人民调解法》第十八条的规定，现{kind[:2]}你单位依法处理{'，' + asks if asks else ''}。",
    )
    _rows(
        doc,
        [
            ("案件名称", row["title"]),
            ("纠纷类型", reference.get("category", {}).get(row["category"], row["category"])),
            ("所属辖区", get_by_id(conn, row["jurisdiction_id"]).name),
            ("转往", target),
            ("转出理由", data.get("reason", "")),
            ("转出日期", _date(data["_on"])),
            ("承办调解员", mediator),
        ],
    )
    _para(doc, "当事人").runs[0].bold = True
    for p in parties:
        contact = "，".join(
            x for x in (f"联系电话{p.phone}" if p.phone else "", f"住{p.address}" if p.address else "") if x
        )
        _para(doc, f"{p.role_label}：{p.name}{'，' + contact if contact else ''}。")
    _para(doc, "纠纷简要情况").runs[0].bold = True
    _para(doc, row["summary"])
    _para(doc)
    _para(doc, f"{committee}（盖章）").alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _para(doc, _date(data["_on"])).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _para(doc, "- - - - - - - - - - - - - - - 沿此线剪开 - - - - - - - - - - - - - - -")
    _para(doc, "签收回执").runs[0].bold = True
    _para(doc, f"{committee}：你委{kind}{row['number']}收悉。")
    _para(doc, f"签收单位（盖章）：                签收人：                签收日期：{_date(None)}")
    return _bytes(doc)


def _deadline(data: dict[str, Any]) -> str:
    return f"于{_date(data['performance_deadline'])}前履行完毕" if data.get("performance_deadline") else ""


def printout(engine: Engine, actor: Actor, case_id: int, form_name: str) -> tuple[bytes, str]:
    """The .docx of ``form_name`` (registration, agreement) and its file name; parties shown as the policy
    lets ``actor`` see them, a full view logged under ``print:<form>``. CaseNotFound outside the user's
    subtree (before NotFound for an unknown form, so a hidden case stays hidden)."""
    with engine.connect() as conn:
        number = get_case_row(conn, actor, case_id)["number"]
        if form_name not in TITLES:
            raise NotFound("页面不存在")
        parties = read_parties(conn, actor, case_id, shown=True, births=True)
        build = {"registration": registration_docx, "agreement": agreement_docx, "referral": referral_docx}[form_name]
        content = build(conn, actor, case_id, parties)
    log_full_views(engine, actor, case_id, parties, f"print:{form_name}")
    return content, f"{TITLES[form_name]}{number}.docx"
