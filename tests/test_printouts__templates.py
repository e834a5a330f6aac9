"""Printouts from templates a township can edit (SQLite and PostgreSQL): A4 and GB/T 9704 margins in the
.docx XML, 仿宋 body and 黑体 headings with their East-Asian fonts, numbers in no-wrap cells, blank signature
lines, 受理意见 ticked as the case was decided, 落款 in Chinese; a township's own template in the data folder
wins; a broken one gives a clear Chinese message, not a server error; each printout offered only when the
case has it."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from printout_cases import FULL_ID, FULL_PHONE, cases_by_form, print_cases
from security_helpers import docx_text
from test_web_pages import Browser

from mediation_flow.cases.printout_forms import FORMS
from mediation_flow.cases.printouts import printout
from mediation_flow.cases.views import case_page
from mediation_flow.documents import defaults
from mediation_flow.documents.layout import A4_TWIPS, MARGINS_MM, twips
from mediation_flow.documents.render import DEFAULTS, template_path
from mediation_flow.errors import PrintTemplateInvalid
from mediation_flow.store.config import get_settings
from web.app import create_app

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MEDIATION_FLOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def cases(engine: Any, town: Any, data_dir: Path) -> Any:
    return print_cases(engine, town)


def _part(content: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as docx:
        return docx.read(name).decode()


def _page_setup(content: bytes) -> tuple[dict[str, int], dict[str, int]]:
    xml = _part(content, "word/document.xml")
    size = re.search(r"<w:pgSz ([^>]*)/>", xml)
    margins = re.search(r"<w:pgMar ([^>]*)/>", xml)
    assert size and margins
    attrs = lambda m: {k: int(v) for k, v in re.findall(r'w:(\w+)="(\d+)"', m.group(1))}  # noqa: E731
    return attrs(size), attrs(margins)


def _assert_official_layout(content: bytes) -> None:
    size, margins = _page_setup(content)
    assert (size["w"], size["h"]) == A4_TWIPS
    for side, mm in MARGINS_MM.items():
        assert abs(margins[side] - twips(mm)) <= 1, (side, margins[side])
    styles = {s.name: s for s in Document(io.BytesIO(content)).styles}
    for name, font in (("Normal", "仿宋"), ("文件标题", "黑体"), ("小标题", "黑体"), ("表格文字", "仿宋")):
        fonts = styles[name].element.rPr.rFonts
        assert fonts.get(f"{W}eastAsia") == font, name


@pytest.mark.parametrize("name", sorted(defaults.BUILDERS))
def test_the_default_templates_are_a4_with_official_margins_and_are_what_the_builder_makes(name: str) -> None:
    shipped = (DEFAULTS / f"{name}.docx").read_bytes()
    _assert_official_layout(shipped)
    built = defaults.build(name)
    for part in ("word/document.xml", "word/styles.xml", "word/footer1.xml"):
        assert _part(shipped, part) == _part(built, part), f"{name}: run python -m mediation_flow.documents.defaults"


def test_every_printout_is_filled_on_a4_in_chinese_with_blank_signatures(engine: Any, town: Any, cases: Any) -> None:
    mediator = town["mediator"]
    test_names = {town[role].display_name for role in ("mediator", "supervisor")}
    for form, case_id in cases_by_form(cases).items():
        content, filename = printout(engine, mediator, case_id, form)
        _assert_official_layout(content)
        xml = _part(content, "word/document.xml")
        assert "{{" not in xml and "{%" not in xml, form  # every placeholder filled
        text = docx_text(content)
        for test_name in test_names:  # the test town's users are named in English
            text = text.replace(test_name, "")
        assert not re.search(r"\d{4}-\d{2}-\d{2}|[A-Za-z]{3,}", text), form
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", text), form
        if form != "record":  # 落款: the committee and a Chinese date (a 笔录 is signed, not sealed)
            assert "青龙镇人民调解委员会（盖章）" in text, form
        for line in text.splitlines():
            if "（签名" in line:
                assert mediator.display_name not in line, (form, line)  # signed by hand, never pre-filled
        assert filename.endswith(".docx") and not re.search(r"[A-Za-z]{3,}", filename.removesuffix(".docx"))
        if form in ("registration", "record"):
            assert xml.count("<w:noWrap/>") >= 4, form  # ID and phone cells of two parties
            assert FULL_ID in xml and FULL_PHONE in xml


def test_the_registration_form_ticks_what_the_case_decided(engine: Any, town: Any, cases: Any) -> None:
    mediator = town["mediator"]
    accepted = docx_text(printout(engine, mediator, cases.mediated, "registration")[0])
    assert "☑受理" in accepted and "□不予受理" in accepted and "☑已告知当事人" in accepted
    assert "住址" in accepted and "青龙镇龙井村三组18号" in accepted
    refused = docx_text(printout(engine, mediator, cases.refused, "registration")[0])
    assert "□受理" in refused and "☑不予受理（理由：该纠纷人民法院已经受理）" in refused
    notice = docx_text(printout(engine, mediator, cases.refused, "refusal")[0])
    assert notice.startswith("不予受理告知书") and "张三：" in notice and "李四：" not in notice
    assert "因该纠纷人民法院已经受理，本委员会决定不予受理" in notice and "2023年9月22日" in notice
    record = docx_text(printout(engine, mediator, cases.mediated, "record")[0])
    assert "人民调解笔录（第一次）" in record and "人民调解笔录（第二次）" in record and "清风茶室" in record
    visit = docx_text(printout(engine, mediator, cases.mediated, "visit")[0])
    assert "第一次回访" in visit and "已履行" in visit and "满意" in visit and "2023年9月28日" in visit


def test_a_masked_role_prints_masked_numbers_in_every_printout(engine: Any, town: Any, cases: Any) -> None:
    for form, case_id in cases_by_form(cases).items():
        text = docx_text(printout(engine, town["admin"], case_id, form)[0])
        assert FULL_ID not in text and FULL_PHONE not in text, form


def test_each_printout_is_offered_only_when_the_case_has_it(engine: Any, town: Any, cases: Any) -> None:
    def offered(case_id: int) -> list[str]:
        return [name for _, name in case_page(engine, town["mediator"], case_id).printouts]

    assert offered(cases.mediated) == ["受理登记表", "权利义务告知书", "调解笔录", "调解协议书", "回访记录"]
    assert offered(cases.refused) == ["受理登记表", "不予受理告知书"]
    assert offered(cases.referred) == ["受理登记表", "权利义务告知书", "移送函"]
    for form in ("refusal", "record", "agreement", "visit"):
        with pytest.raises(Exception, match="本案") as refused:
            printout(engine, town["mediator"], cases.referred, form)
        assert refused.value.status == 404  # type: ignore[attr-defined]


def _own(data_dir: Path, name: str, *paragraphs: str) -> Path:
    """A township's copy of the default template ``name`` with ``paragraphs`` added, in its data folder."""
    doc = Document(str(DEFAULTS / f"{name}.docx"))
    for text in paragraphs:
        doc.add_paragraph(text)
    folder = data_dir / "templates"
    folder.mkdir(exist_ok=True)
    doc.save(str(folder / f"{name}.docx"))
    return folder / f"{name}.docx"


def test_a_townships_own_template_in_the_data_folder_wins(engine: Any, town: Any, cases: Any, data_dir: Path) -> None:
    assert template_path("受理登记表", data_dir) == DEFAULTS / "受理登记表.docx"
    own = _own(data_dir, "受理登记表", "本表由青龙镇司法所统一印制。{{ 案件名称 }}")
    assert template_path("受理登记表", data_dir) == own
    text = docx_text(printout(engine, town["mediator"], cases.mediated, "registration")[0])
    assert "本表由青龙镇司法所统一印制。张三与李四相邻通行纠纷" in text
    rights = printout(engine, town["mediator"], cases.mediated, "rights")[0]
    assert "本表由青龙镇司法所统一印制" not in docx_text(rights)
    own.unlink()
    assert "统一印制" not in docx_text(printout(engine, town["mediator"], cases.mediated, "registration")[0])


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("{{ 案件名称 }", "占位符写法不对"),
        ("{% if 案件名称 %}没有结束", "占位符写法不对"),
        ("{{ 案件名 }}", "“案件名”不是可填写的内容"),
        ("{{ 当事人[0].籍贯 }}", "“籍贯”不是可填写的内容"),
        ("{{ ''.__class__.__mro__ }}", "模板"),
    ],
)
def test_a_broken_template_gives_a_clear_message_not_a_server_error(
    engine: Any, town: Any, cases: Any, data_dir: Path, written: str, said: str
) -> None:
    _own(data_dir, "受理登记表", written)
    with pytest.raises(PrintTemplateInvalid) as broken:
        printout(engine, town["mediator"], cases.mediated, "registration")
    assert "打印模板“受理登记表.docx”有误" in broken.value.message and said in broken.value.message
    assert "删去" in broken.value.message and not re.search(r"[A-Za-z]{3,}", broken.value.message.replace(".docx", ""))
    browser = Browser(create_app(engine))
    assert browser.login("mediator").status_code == 303
    page = browser.get(f"/cases/{cases.mediated}/print/registration.docx")
    assert page.status_code == 422 and "打印模板“受理登记表.docx”有误" in page.text
    assert browser.get(f"/cases/{cases.mediated}/print/rights.docx").status_code == 200  # other forms unaffected


def test_a_file_that_is_not_a_docx_gives_a_clear_message(engine: Any, town: Any, cases: Any, data_dir: Path) -> None:
    (data_dir / "templates").mkdir()
    (data_dir / "templates" / "调解协议书.docx").write_bytes(b"not a zip")
    with pytest.raises(PrintTemplateInvalid, match=r"不是可以打开的 \.docx 文件"):
        printout(engine, town["mediator"], cases.mediated, "agreement")


def test_every_form_has_a_default_template_and_a_page_link_name() -> None:
    assert {f.name for f in FORMS.values()} == set(defaults.BUILDERS)
    for form in FORMS.values():
        assert (DEFAULTS / f"{form.name}.docx").is_file()
