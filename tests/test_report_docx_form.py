"""The report .docx as a paper file needs it (issue 13): page numbers, 落款, table headers that repeat and
keep with their table, rates with numerator and denominator, money with separators; and the page that offers
only the years with data and words the period as the .docx does."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

from docx import Document
from docx.oxml.ns import qn
from report_cases import at, enter, resolved_path
from test_report_page import page_client

from mediation_flow.stats.service import annual_report, export
from mediation_flow.store.clock import local_date
from web.app import create_app


def test_the_docx_has_page_numbers_a_signature_and_tables_that_hold_together(engine, town):
    enter(engine, town, at(2023, 6, 1), resolved_path(town, at(2023, 6, 3), amount="66000"))
    report = annual_report(engine, actor=town["supervisor"], code=town.places.township.code, year=2023)
    doc = Document(io.BytesIO(export(engine, report, "docx")))
    footer = doc.sections[0].footer.paragraphs[0]
    instructions = [t.text.strip() for t in footer._p.iter(qn("w:instrText"))]
    assert instructions == ["PAGE"]
    assert [c.get(qn("w:fldCharType")) for c in footer._p.iter(qn("w:fldChar"))] == ["begin", "separate", "end"]
    assert footer.text == "— 1 —"
    texts = [p.text for p in doc.paragraphs if p.text]
    day = local_date(report.figures.scope.as_of)
    assert texts[-2:] == ["示例县青龙镇人民政府", f"{day.year}年{day.month}月{day.day}日"]  # 落款
    assert "（统计期间：2023年1月1日至2023年12月31日；" in texts[2]
    for table in doc.tables:
        first = table.rows[0]._tr.trPr
        assert first.find(qn("w:tblHeader")) is not None  # repeated on each page
        assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in table.rows)
        assert all(p.paragraph_format.keep_with_next for cell in table.rows[0].cells for p in cell.paragraphs)
    heading = next(p for p in doc.paragraphs if p.text == "二、主要数据")
    assert heading.paragraph_format.keep_with_next  # the heading stays with the table's header row
    rows = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    assert rows["按期调结率"] == "100%\n按期调结1件／有调解期限的调解终结1件"
    assert rows["协议涉及金额"] == "66,000.00元"
    definitions = {row.cells[0].text: row.cells[2].text for row in doc.tables[0].rows}
    assert "分母：有调解期限的调解终结案件数" in definitions["按期调结率"]


def test_a_village_report_is_issued_by_the_village(engine, town):
    village = town.places.villages[1]
    enter(engine, town, at(2023, 6, 1), resolved_path(town, at(2023, 6, 3)), jurisdiction_code=village.code)
    report = annual_report(engine, actor=town["supervisor"], code=village.code, year=2023)
    texts = [p.text for p in Document(io.BytesIO(export(engine, report, "docx"))).paragraphs if p.text]
    assert texts[0] == "青龙镇青龙村村民委员会" and texts[-2] == "青龙镇青龙村村民委员会"
    assert "青龙村2023年矛盾纠纷多元化解工作情况" in texts
    assert any(t.startswith("2023年，青龙村结合") for t in texts)


def test_the_page_offers_the_years_with_data_and_words_the_period_as_the_docx(engine, town):
    enter(engine, town, at(2023, 6, 1), resolved_path(town, at(2023, 6, 3)))
    later = resolved_path(town, at(2024, 1, 9))  # the agreement is the 4th step: 20 days on
    enter(engine, town, at(2023, 12, 20), later, gap=timedelta(days=5))  # carried over: agreed in 2024
    client, _ = page_client(create_app(engine), "supervisor")
    page = client.get("/reports", params={"jurisdiction": town.places.township.code})
    years = re.findall(r'<option value="(\d{4})"', page.text)
    assert years == ["2024", "2023"]
    text = html.unescape(page.text)
    assert "统计期间：2024年1月1日至2024年12月31日" in text  # the latest year with data is the default
    assert "（不含）" not in text and "示例县青龙镇人民政府" in text
    on_time = re.search(r'<tr data-figure="on_time_rate">.*?</tr>', text, re.S).group(0)
    assert re.search(r"分子：<a [^>]*>按期调结\d+件</a> ／ 分母：<a [^>]*>有调解期限的调解终结\d+件</a>", on_time)
    village = client.get("/reports", params={"jurisdiction": town.places.villages[3].code})
    assert re.findall(r'<option value="(\d{4})"', village.text) == [str(_last_year())]  # no data: the year asked
    assert "无矛盾纠纷案件记录" in html.unescape(village.text)


def _last_year() -> int:
    from web.pages.common import today

    return today().year - 1
