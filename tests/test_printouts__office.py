"""Every printout and the annual report, rendered by LibreOffice: A4 pages, text inside the GB/T 9704 margins,
ID and phone numbers on one line, no English, codes or ISO dates; page 1 of each kept as a PNG in
test-artifacts/printouts/ (required in CI: see tests/office.py)."""

from __future__ import annotations

import re

import pytest
from factories import make_town
from office import A4_POINTS, office_path, page_one_png, page_sizes, pdf_text, to_pdf, word_boxes
from printout_cases import FULL_ID, FULL_PHONE, cases_by_form, print_cases

from mediation_flow.cases.printouts import printout
from mediation_flow.documents.layout import MARGINS_MM
from mediation_flow.stats.service import annual_report, export

pytestmark = pytest.mark.slow
MM = 72 / 25.4
HANGING = "。，、；：！？）”"  # Chinese punctuation may hang past the right margin at a line end


def test_every_printout_and_the_report_render_on_a4_within_the_margins(sqlite_engine, tmp_path):
    office = office_path()
    town = make_town(sqlite_engine)
    cases = print_cases(sqlite_engine, town)
    test_names = {town[role].display_name for role in ("mediator", "supervisor")}
    sources = []
    for form, case_id in cases_by_form(cases).items():
        content, _ = printout(sqlite_engine, town["mediator"], case_id, form)
        sources.append(tmp_path / f"{form}.docx")
        sources[-1].write_bytes(content)
    refused, _ = printout(sqlite_engine, town["mediator"], cases.refused, "registration")
    sources.append(tmp_path / "registration-refused.docx")
    sources[-1].write_bytes(refused)
    report = annual_report(sqlite_engine, actor=None, code=town.places.township.code, year=2023)
    sources.append(tmp_path / "annual-report.docx")
    sources[-1].write_bytes(export(sqlite_engine, report, "docx"))

    for pdf in to_pdf(office, sources, tmp_path):
        page_one_png(pdf, "printouts", pdf.stem)
        sizes = page_sizes(pdf)
        if pdf.stem.startswith("registration"):
            assert len(sizes) == 1, pdf.name  # the 受理登记表 is one sheet
        for width, height in sizes:
            assert abs(width - A4_POINTS[0]) < 1 and abs(height - A4_POINTS[1]) < 1, (pdf.name, width, height)
        boxes = [b for b in word_boxes(pdf) if b[1] < A4_POINTS[1] - MARGINS_MM["bottom"] * MM]  # not the footer
        assert min(b[0] for b in boxes) >= MARGINS_MM["left"] * MM - 1, pdf.name
        right = A4_POINTS[0] - MARGINS_MM["right"] * MM + 1
        assert all(b[2] <= right + (16 if b[4][-1] in HANGING else 0) for b in boxes), pdf.name
        assert min(b[1] for b in boxes) >= MARGINS_MM["top"] * MM - 1, pdf.name
        text = pdf_text(pdf)
        assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}", text), pdf.name
        if pdf.stem == "annual-report":
            continue
        words = set(re.findall(r"[A-Za-z]{2,}", text)) - test_names  # the test town's users are named in English
        assert not words, (pdf.name, words)
        if pdf.stem in ("registration", "record", "agreement"):  # each ID and phone number whole on one line
            lines = text.splitlines()
            for number in (FULL_ID, FULL_PHONE, "510101198001011237"):
                assert any(number in line for line in lines), (pdf.name, number)
