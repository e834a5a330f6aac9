"""GET /api/v1/reports/annual and friends on both back ends: figures and text, access, drill-down, files."""

from __future__ import annotations

import io

import pytest
from docx import Document
from factories import PASSWORD
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from report_cases import seed_year

from mediation_flow.accounts.users import add_user
from mediation_flow.store.db import write_transaction
from mediation_flow.vocabulary import Role
from web.app import create_app


@pytest.fixture
def api(engine, town):
    ids = seed_year(engine, town, ordinary=3)
    with write_transaction(engine) as conn:
        add_user(
            conn,
            username="village_sup",
            password=PASSWORD,
            role=Role.SUPERVISOR,
            jurisdiction_code=town.places.villages[0].code,
        )
    with TestClient(create_app(engine)) as client:

        def login(username: str) -> dict[str, str]:
            token = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            assert token.status_code == 200, token.text
            return {"Authorization": f"Bearer {token.json()['access_token']}"}

        yield client, login, ids


def test_supervisor_gets_figures_and_text(api, town):
    client, login, _ = api
    params = {"year": 2023, "jurisdiction": town.places.township.code}
    response = client.get("/api/v1/reports/annual", params=params, headers=login("supervisor"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["figures"]["mediated"], body["figures"]["resolved"], body["figures"]["success_rate"]) == (5, 5, 100.0)
    assert body["scope"]["jurisdiction"]["name"] == "青龙镇" and body["scope"]["start"] == "2023-01-01"
    assert "成功化解1起写信重复访和1起购票进京访" in "".join(body["text"]["paragraphs"])
    assert {row["key"] for row in body["breakdowns"]["petitions_resolved"]} == {
        "repeat",
        "level_skipping",
        "to_beijing",
    }
    admin = client.get("/api/v1/reports/annual", params=params, headers=login("admin"))
    assert admin.status_code == 200 and admin.json()["figures"] == body["figures"]


def test_access_is_by_role_and_jurisdiction(api, town):
    client, login, _ = api
    township = {"year": 2023, "jurisdiction": town.places.township.code}
    for username in ("mediator", "grid_worker", "liaison"):
        refused = client.get("/api/v1/reports/annual", params=township, headers=login(username))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    outside = client.get("/api/v1/reports/annual", params=township, headers=login("village_sup"))
    assert outside.status_code == 404 and outside.json()["error"]["code"] == "not_found"
    own = {"year": 2023, "jurisdiction": town.places.villages[0].code}
    assert client.get("/api/v1/reports/annual", params=own, headers=login("village_sup")).status_code == 200
    assert client.get("/api/v1/reports/annual", params=township).status_code == 401


def test_bad_parameters_are_clear_errors(api, town):
    client, login, _ = api
    headers = login("supervisor")
    code = town.places.township.code
    cases = [
        ({"year": 2023, "jurisdiction": "nowhere"}, 404),
        ({"year": 1800, "jurisdiction": code}, 422),
        ({"year": "二〇二三", "jurisdiction": code}, 422),
        ({"jurisdiction": code}, 422),
        ({"year": 2023, "jurisdiction": code, "as_of": "last tuesday"}, 422),
    ]
    for params, status in cases:
        response = client.get("/api/v1/reports/annual", params=params, headers=headers)
        assert response.status_code == status, (params, response.text)
        assert response.json()["error"]["message"]
    bad_format = client.get(
        "/api/v1/reports/annual/download", params={"year": 2023, "jurisdiction": code, "format": "pdf"}, headers=headers
    )
    assert bad_format.status_code == 422
    bad_figure = client.get(
        "/api/v1/reports/annual/cases",
        params={"year": 2023, "jurisdiction": code, "figure": "drop table"},
        headers=headers,
    )
    assert bad_figure.status_code == 422


def test_drill_down_and_definitions(api, town):
    client, login, ids = api
    params = {"year": 2023, "jurisdiction": town.places.township.code, "figure": "petitions_resolved", "key": "repeat"}
    body = client.get("/api/v1/reports/annual/cases", params=params, headers=login("supervisor")).json()
    assert body["total"] == 1 and [c["id"] for c in body["cases"]] == [ids[-2]]
    assert body["cases"][0]["number"].startswith("（2023）青龙人调字第")
    params.update(figure="resolved", key=None)
    del params["key"]
    assert client.get("/api/v1/reports/annual/cases", params=params, headers=login("supervisor")).json()["total"] == 5
    definitions = client.get("/api/v1/reports/definitions").json()
    assert definitions["figures"]["success_rate"]["denominator"].startswith("期间内调解终结")


def test_downloads(api, town):
    client, login, _ = api
    headers = login("supervisor")
    params = {"year": 2023, "jurisdiction": town.places.township.code}
    docx = client.get("/api/v1/reports/annual/download", params={**params, "format": "docx"}, headers=headers)
    assert docx.status_code == 200
    assert docx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessing")
    assert "attachment" in docx.headers["content-disposition"]
    assert any("开展人民调解5件次" in p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    xlsx = client.get("/api/v1/reports/annual/download", params={**params, "format": "xlsx"}, headers=headers)
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["统计数据", "分项统计", "台账", "报告正文"]
    edited = client.post(
        "/api/v1/reports/annual/download",
        params={**params, "format": "docx"},
        headers=headers,
        json={"paragraphs": ["本年度调解工作平稳有序。"]},
    )
    assert edited.status_code == 200
    assert "本年度调解工作平稳有序。" in [p.text for p in Document(io.BytesIO(edited.content)).paragraphs]
    empty = client.post("/api/v1/reports/annual/download", params=params, headers=headers, json={"paragraphs": [" "]})
    assert empty.status_code == 422


def test_ledger_template_and_import_over_http(api, town):
    client, login, _ = api
    template = client.get("/api/v1/reports/ledger/template")
    assert template.status_code == 200 and template.content[:2] == b"PK"
    headers = login("supervisor")
    files = {"file": ("台账.xlsx", template.content, "application/octet-stream")}
    imported = client.post("/api/v1/reports/ledger/import", files=files, headers=headers)
    assert imported.status_code == 201, imported.text
    assert imported.json()["imported"] == 1
    bad = client.post("/api/v1/reports/ledger/import", files={"file": ("x.csv", "案件名称\r\n张三\r\n".encode())},
                      headers=headers)  # fmt: skip
    assert bad.status_code == 422
    errors = bad.json()["error"]["errors"]
    assert {"row": 1, "column": "登记日期"}.items() <= next(e for e in errors if e["column"] == "登记日期").items()
    refused = client.post("/api/v1/reports/ledger/import", files=files, headers=login("mediator"))
    assert refused.status_code == 403


def test_the_ledger_sheet_masks_numbers_typed_into_free_text_for_every_reader(api, town, engine):
    """The .xlsx's 台账 carries each case's title and summary: an ID or phone number typed into them is masked as
    every list masks it, for the supervisor too (the workbook goes on to the county; a full view is the logged
    查看完整信息 or a printout)."""
    from sqlalchemy import update

    from mediation_flow.store.tables import CASES

    client, login, ids = api
    number, phone = "110101199003074514", "13912345678"
    with write_transaction(engine) as conn:
        conn.execute(update(CASES).where(CASES.c.id == ids[0]).values(
            title=f"张三{number}与李四借款纠纷", summary=f"联系电话{phone}"))  # fmt: skip
    params = {"year": 2023, "jurisdiction": town.places.township.code, "format": "xlsx"}
    for username in ("supervisor", "admin"):
        got = client.get("/api/v1/reports/annual/download", params=params, headers=login(username))
        assert got.status_code == 200, got.text
        sheet = load_workbook(io.BytesIO(got.content))["台账"]
        text = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None)
        assert number not in text and phone not in text, username
        assert "张三" in text and "借款纠纷" in text and "联系电话" in text  # the rest of the text stays
