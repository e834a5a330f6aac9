"""The .docx and .xlsx exports, read back; the .docx converted to PDF by LibreOffice and page 1 kept as PNG."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm
from openpyxl import load_workbook
from report_cases import at, enter, resolved_path, seed_year

from mediation_flow.stats.definitions import load_definitions
from mediation_flow.stats.ledger_table import COLUMNS
from mediation_flow.stats.service import annual_report, export

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"


@pytest.fixture
def report_data(engine, town):
    ids = seed_year(engine, town, ordinary=5)
    enter(engine, town, at(2023, 11, 2), [], source="police", title="王五与赵六宅基地纠纷")
    return ids


def east_asian_font(run) -> str | None:
    fonts = run._element.rPr.rFonts if run._element.rPr is not None else None
    return fonts.get(qn("w:eastAsia")) if fonts is not None else None


def test_docx_reads_back_in_official_layout(engine, town, report_data):
    report = annual_report(engine, actor=town["supervisor"], code=town.places.township.code, year=2023)
    doc = Document(io.BytesIO(export(engine, report, "docx")))
    section = doc.sections[0]
    assert abs(section.page_width - Cm(21.0)) < Cm(0.01) and abs(section.page_height - Cm(29.7)) < Cm(0.01)
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "示例县青龙镇人民政府"
    assert "青龙镇2023年矛盾纠纷多元化解工作情况" in texts
    assert "一、矛盾纠纷排查化解" in texts
    body = next(p for p in doc.paragraphs if p.text.startswith("2023年，青龙镇结合“清风茶室”"))
    assert "开展人民调解7件次" in body.text
    assert east_asian_font(body.runs[0]) == "仿宋"
    heading = next(p for p in doc.paragraphs if p.text == "二、主要数据")
    assert east_asian_font(heading.runs[0]) == "黑体"
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["指标", "数值", "统计口径"]
    assert [c.text for c in table.rows[1].cells][:2] == ["受理（登记）纠纷", "8件"]


def test_edited_text_goes_into_the_document(engine, town, report_data):
    edited = ["我乡全年调解纠纷7件，均已化解。", "  ", "第二段。"]
    report = annual_report(
        engine, actor=town["supervisor"], code=town.places.township.code, year=2023, paragraphs=edited
    )
    texts = [p.text for p in Document(io.BytesIO(export(engine, report, "docx"))).paragraphs]
    assert "我乡全年调解纠纷7件，均已化解。" in texts and "第二段。" in texts
    assert not any(t.startswith("2023年，青龙镇结合") for t in texts)


def test_xlsx_holds_figures_breakdowns_ledger_and_text(engine, town, report_data):
    report = annual_report(engine, actor=town["admin"], code=town.places.township.code, year=2023)
    wb = load_workbook(io.BytesIO(export(engine, report, "xlsx")))
    assert wb.sheetnames == ["统计数据", "分项统计", "台账", "报告正文"]
    label = {key: d.label for key, d in load_definitions().figures.items()}  # the sheet names figures as people do
    by_label = {row[0]: row[1] for row in wb["统计数据"].iter_rows(min_row=6, values_only=True) if row[0]}
    figures = {key: by_label[label[key]] for key in report.figures.values if label.get(key) in by_label}
    assert (figures["taken_in"], figures["mediated"], figures["resolved"], figures["success_rate"]) == (8, 7, 7, 100)
    assert figures["agreement_amount"] == pytest.approx(float(report.figures.values["agreement_amount"]))
    ledger = list(wb["台账"].iter_rows(values_only=True))
    assert list(ledger[0]) == COLUMNS and len(ledger) == 9
    by_name = {row[3]: dict(zip(COLUMNS, row, strict=True)) for row in ledger[1:]}
    pending = by_name["王五与赵六宅基地纠纷"]
    assert (pending["调解结果"], pending["当前状态"], pending["案件来源"]) == ("未开始调解", "已登记", "公安移交")
    petition = by_name["信访转办：土地补偿纠纷"]
    assert (petition["调解结果"], petition["履行情况"], petition["协议金额（元）"]) == (
        "达成协议",
        "已履行",
        5000,
    )  # money is a number now (issue 13)
    assert "张三" in petition["当事人"] and "11010519491231002X" not in str(petition)
    assert len(wb["分项统计"]._charts) == 3
    assert wb["报告正文"]["A1"].value == "青龙镇2023年矛盾纠纷多元化解工作情况"


def _office() -> str | None:
    return shutil.which("libreoffice") or shutil.which("soffice")


def test_docx_converts_to_pdf_and_page_one_is_kept_as_an_image(sqlite_engine, tmp_path):
    office = _office()
    if office is None or shutil.which("pdftoppm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("LibreOffice and poppler (pdftoppm) are required in CI")
        pytest.skip("LibreOffice or pdftoppm not installed")
    from factories import make_town

    town = make_town(sqlite_engine)
    seed_year(sqlite_engine, town, ordinary=10)
    enter(sqlite_engine, town, at(2023, 6, 1), resolved_path(town, at(2023, 6, 2)), source="court")
    report = annual_report(sqlite_engine, actor=None, code=town.places.township.code, year=2023)
    source = tmp_path / "report.docx"
    source.write_bytes(export(sqlite_engine, report, "docx"))
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / "report.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(pdf, ARTIFACTS / "annual-report-2023.pdf")
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / "annual-report-2023-page1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    image = ARTIFACTS / "annual-report-2023-page1.png"
    assert image.exists() and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = subprocess.run(["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "矛盾纠纷多元化解工作情况" in text.replace(" ", "")
