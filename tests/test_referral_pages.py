"""The reference of a referred case in front of people (三调对接): 来文单位 / 来文编号 and the court's 委派/委托,
适用程序 and 承办法官 on the case page, in the lists and on the 受理登记表; the 移送函 of a case referred out
(A4, Chinese dates, no internal codes), refused before there is a referral."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from factories import Town, drive, register
from sqlalchemy import Engine
from test_web_pages import app, data_dir, signed_in  # noqa: F401 - the page fixtures

COURT = {
    "agency": "qinglong_tribunal",
    "reference_number": "（2026）示0101民诉前调123号",
    "court_mode": "entrusted",
    "procedure": "simplified",
    "judge": "李明",
}


def docx_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as docx:
        return re.sub(r"<[^>]+>", "", docx.read("word/document.xml").decode())


def docx_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as docx:
        return docx.read("word/document.xml").decode()


def test_a_court_case_shows_its_reference_on_the_page_in_lists_and_on_the_registration_form(
    signed_in: Any,  # noqa: F811
    engine: Engine,
    town: Town,
) -> None:
    case_id = register(engine, town, "mediator", workflow="court_referral", source="court", attributes=COURT)
    mediator = signed_in("mediator")
    page = mediator.get(f"/cases/{case_id}").text
    for shown in ("<dt>来文单位</dt><dd>青龙人民法庭</dd>", "<dt>来文编号</dt><dd>（2026）示0101民诉前调123号</dd>"):
        assert shown in page
    for shown in (
        "<dt>对接方式</dt><dd>委托调解（立案后）</dd>",
        "<dd>简易程序</dd>",
        "<dt>承办法官</dt><dd>李明</dd>",
    ):
        assert shown in page
    assert "entrusted" not in page and "simplified" not in page
    for listing in ("/cases", "/my"):
        assert "来文：青龙人民法庭 （2026）示0101民诉前调123号" in mediator.get(listing).text
    printed = mediator.get(f"/cases/{case_id}/print/registration.docx")
    text = docx_text(printed.content)
    assert "来文单位青龙人民法庭" in text and "来文编号（2026）示0101民诉前调123号" in text and "承办法官李明" in text
    ordinary = register(engine, town, "mediator")
    assert "来文单位" not in mediator.get(f"/cases/{ordinary}").text


def test_a_case_referred_out_prints_its_referral_letter_on_a4_in_chinese(
    signed_in: Any,  # noqa: F811
    engine: Engine,
    town: Town,
) -> None:
    case_id = register(engine, town, "mediator")
    mediator = signed_in("mediator")
    assert "打印移送函" not in mediator.get(f"/cases/{case_id}").text
    before = mediator.get(f"/cases/{case_id}/print/referral.docx")
    assert before.status_code == 404 and "本案尚未转出" in before.text
    refer = {"target": "arbitration", "receiving_body": "示例县劳动人事争议仲裁委员会", "reason": "属劳动争议"}
    drive(engine, case_id, town["mediator"], [("accept", {"rights_notified": True}), ("refer", refer)])
    assert "打印移送函" in mediator.get(f"/cases/{case_id}").text
    letter = mediator.get(f"/cases/{case_id}/print/referral.docx")
    assert letter.status_code == 200
    text = docx_text(letter.content)
    assert text.strip().startswith("矛盾纠纷移送函") and "示例县劳动人事争议仲裁委员会：" in text
    assert "因属劳动争议，根据《中华人民共和国人民调解法》第十八条的规定，现移送你单位依法处理" in text
    assert "转往仲裁机构" in text and "签收回执" in text and "张三" in text
    assert re.search(r"于\d{4}年\d{1,2}月\d{1,2}日前将办理结果反馈我委", text)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text) and "arbitration" not in text and "referral_feedback" not in text
    assert re.search(r'<w:pgSz w:w="1190[56]" w:h="1683[78]"', docx_xml(letter.content))  # A4 in twips
