"""The report page: pick year and jurisdiction, figures with definitions and drill-down links, the
generated text edited and downloaded."""

from __future__ import annotations

import html
import io
import re

from docx import Document
from factories import PASSWORD
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from report_cases import seed_year

from web.app import create_app


def page_client(app, username: str) -> tuple[TestClient, str]:
    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    signed = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 303
    page = client.get("/reports").text
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_preview_drill_down_edit_and_download(engine, town):
    ids = seed_year(engine, town, ordinary=3)
    client, csrf = page_client(create_app(engine), "supervisor")
    code = town.places.township.code
    page = client.get("/reports", params={"year": 2023, "jurisdiction": code})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "青龙镇2023年矛盾纠纷多元化解工作情况" in text
    assert "先后开展人民调解5件次，成功化解矛盾纠纷5件，化解矛盾成功率高达100%" in text
    assert "期间内调解终结的案件数" in text  # the success rate's written denominator
    visible = re.sub(r"<[^>]+>", " ", text)  # what a person reads: no internal names in the definitions
    for internal in (
        "mediation_concluded",
        "start_mediation",
        "reach_agreement",
        "on_time",
        "effective_at",
        "register 事件",
    ):
        assert internal not in visible, internal
    assert 'data-breakdown="petitions_resolved"' in page.text
    link = re.search(r'href="(/reports/cases\?[^"]*figure=petitions_resolved&amp;key=to_beijing)"', page.text)
    drill = client.get(html.unescape(link.group(1)))
    assert drill.status_code == 200
    assert f'href="/cases/{ids[-1]}"' in drill.text and "<b data-total>1</b>" in drill.text
    resolved = re.search(r'<tr data-figure="resolved">.*?href="([^"]+)"', page.text, re.S)
    assert "<b data-total>5</b>" in client.get(html.unescape(resolved.group(1))).text

    form = {"csrf_token": csrf, "year": "2023", "jurisdiction": code, "format": "docx",
            "paragraphs": "本年度共调解纠纷5件。\r\n\r\n全部化解。"}  # fmt: skip
    download = client.post("/reports/download", data=form)
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    paragraphs = [p.text for p in Document(io.BytesIO(download.content)).paragraphs]
    assert "本年度共调解纠纷5件。" in paragraphs and "全部化解。" in paragraphs
    xlsx = client.post("/reports/download", data={**form, "format": "xlsx"})
    assert load_workbook(io.BytesIO(xlsx.content))["报告正文"]["A3"].value == "本年度共调解纠纷5件。"
    assert client.post("/reports/download", data={**form, "csrf_token": "forged"}).status_code == 403
    assert client.post("/reports/download", data={**form, "format": "pdf"}).status_code == 422
    assert client.post("/reports/download", data={**form, "paragraphs": " "}).status_code == 422


def test_page_access_and_bad_input(engine, town):
    app = create_app(engine)
    mediator = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', mediator.get("/login").text).group(1)
    mediator.post("/login", data={"username": "mediator", "password": PASSWORD, "csrf_token": token})
    refused = mediator.get("/reports")
    assert refused.status_code == 403 and "无权" in refused.text
    client, _ = page_client(app, "admin")
    assert client.get("/reports", params={"year": 2023, "jurisdiction": "nowhere"}).status_code == 404
    assert client.get("/reports", params={"year": 1800}).status_code == 422
    bad = client.get("/reports/cases", params={"year": 2023, "jurisdiction": town.places.township.code,
                                               "figure": "<script>"})  # fmt: skip
    assert bad.status_code == 422 and "<script>" not in bad.text
    empty = client.get("/reports", params={"year": 2020, "jurisdiction": town.places.villages[2].code})
    assert empty.status_code == 200 and "本期（2020年1月1日至2020年12月31日）" in empty.text
    assert "无矛盾纠纷案件记录" in empty.text and "全年未开展人民调解" not in empty.text
