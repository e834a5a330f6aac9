"""Attachments and printouts through the pages (SQLite and PostgreSQL): type sniffed from the bytes, size
and kind limits, files stored under the data directory, ID copies only for mediators and supervisors,
nothing for another village; the .docx 受理登记表 and 调解协议书 with their required contents."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from factories import REFER_TO_POLICE, Town, drive, happy_path, register
from sqlalchemy import Engine, select
from test_web_pages import Browser

from mediation_flow.cases import attachments
from mediation_flow.display.formats import cn_date
from mediation_flow.store.config import get_settings
from mediation_flow.store.tables import CASES
from web.app import create_app

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40
PDF = b"%PDF-1.4\n% test\n" + b"0" * 2000


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MEDIATION_FLOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def users(engine: Engine, town: Town, data_dir: Path) -> Any:
    app = create_app(engine)
    made: dict[str, Browser] = {}

    def make(username: str) -> Browser:
        if username not in made:
            made[username] = Browser(app)
            assert made[username].login(username).status_code == 303
        return made[username]

    return make


def upload(
    browser: Browser, case_id: int, content: bytes, name: str, kind: str = "evidence", htmx: bool = False
) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    return browser.client.post(
        f"/cases/{case_id}/attachments",
        data={"kind": kind, "csrf_token": browser.csrf},
        files={"file": (name, content, "application/octet-stream")},
        headers=headers,
    )


def docx_text(content: bytes) -> str:
    doc = Document(io.BytesIO(content))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_upload_list_download_and_the_timeline_note(users: Any, town: Town, engine: Engine, data_dir: Path) -> None:
    case_id = register(engine, town)
    mediator = users("mediator")
    response = upload(mediator, case_id, JPEG, "协议签字照片.jpg", kind="agreement")
    assert response.status_code == 303
    [item] = attachments.list_for_case(data_dir, case_id)
    assert item.media_type == "image/jpeg" and item.size == len(JPEG) and item.filename == "协议签字照片.jpg"
    assert (data_dir / "attachments" / str(case_id) / f"{item.id}.jpg").read_bytes() == JPEG
    page = mediator.get(f"/cases/{case_id}").text
    assert "协议签字照片.jpg" in page and "上传附件（签字的调解协议书）" in page
    download = mediator.get(f"/cases/{case_id}/attachments/{item.id}")
    assert download.status_code == 200 and download.content == JPEG
    assert download.headers["content-type"] == "image/jpeg" and download.headers["x-content-type-options"] == "nosniff"
    fragment = upload(mediator, case_id, PDF, "证据.pdf", htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="case-attachments" aria-labelledby="h-files" hx-swap-oob="true"' in fragment.text
    assert "证据.pdf" in fragment.text


def test_wrong_type_empty_oversized_and_unknown_kind_are_refused(users: Any, town: Town, engine: Engine) -> None:
    case_id = register(engine, town)
    grid_worker = users("grid_worker")
    renamed = upload(grid_worker, case_id, b"MZ\x90\x00 not a photo", "photo.jpg")
    assert renamed.status_code == 422 and "只能上传 JPG、PNG 照片或 PDF 文件" in renamed.text
    assert upload(grid_worker, case_id, b"", "empty.jpg").status_code == 422
    assert "请选择附件类别" in upload(grid_worker, case_id, JPEG, "a.jpg", kind="secret").text
    big = JPEG + b"\x00" * (attachments.MAX_BYTES + 300 * 1024)
    too_big = upload(grid_worker, case_id, big, "big.jpg")
    assert too_big.status_code == 413 and "不能超过10MB" in too_big.text
    just_over = JPEG + b"\x00" * (attachments.MAX_BYTES - len(JPEG) + 1)
    refused = upload(grid_worker, case_id, just_over, "over.jpg")
    assert refused.status_code == 422 and "不能超过10MB" in refused.text
    assert attachments.list_for_case(get_settings().data_dir, case_id) == []
    assert not list((get_settings().data_dir / "attachments" / str(case_id)).glob("*.part"))
    no_token = grid_worker.client.post(f"/cases/{case_id}/attachments", files={"file": ("a.jpg", JPEG)})
    assert no_token.status_code == 403


def test_id_copies_only_for_mediators_and_nothing_for_another_village(users: Any, town: Town, engine: Engine) -> None:
    case_id = register(engine, town)
    assert upload(users("mediator"), case_id, JPEG, "身份证.jpg", kind="id_copy").status_code == 303
    [item] = attachments.list_for_case(get_settings().data_dir, case_id)
    url = f"/cases/{case_id}/attachments/{item.id}"
    assert users("supervisor").get(url).status_code == 200
    grid_worker = users("grid_worker")
    assert grid_worker.get(url).status_code == 403
    assert "仅调解员和司法所可查看" in grid_worker.get(f"/cases/{case_id}").text
    for outsider in ("other_village_mediator", "other_grid_worker"):
        browser = users(outsider)
        assert browser.get(url).status_code == 404
        assert upload(browser, case_id, JPEG, "x.jpg").status_code == 404
        for form in ("registration", "agreement"):
            assert browser.get(f"/cases/{case_id}/print/{form}.docx").status_code == 404
    assert users("liaison").get(url).status_code == 404  # a partner agency sees only the cases handed to it
    with engine.connect() as conn:
        version = conn.execute(select(CASES.c.version).where(CASES.c.id == case_id)).scalar_one()
    drive(engine, case_id, town["supervisor"], [("refer", REFER_TO_POLICE)], version=version)
    assert users("liaison").get(url).status_code == 403  # referred to its agency: the case, not its ID copies
    assert users("mediator").get(f"/cases/{case_id}/attachments/..%2F..%2Fsecret_key").status_code == 404
    assert users("mediator").get(f"/cases/{case_id}/attachments/{'0' * 32}").status_code == 404
    assert len(attachments.list_for_case(get_settings().data_dir, case_id)) == 1


def test_registration_and_agreement_printouts(users: Any, town: Town, engine: Engine) -> None:
    case_id = register(engine, town)
    mediator = users("mediator")
    registration = mediator.get(f"/cases/{case_id}/print/registration.docx")
    assert registration.status_code == 200
    assert registration.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = docx_text(registration.content)
    assert "人民调解受理登记表" in text and "张三" in text and "11010519491231002X" in text and "13812345678" in text
    masked = docx_text(users("grid_worker").get(f"/cases/{case_id}/print/registration.docx").content)
    assert "11010519491231002X" not in masked and "138****5678" in masked
    missing = mediator.get(f"/cases/{case_id}/print/agreement.docx")
    assert missing.status_code == 404 and "尚未达成调解协议" in missing.text
    steps = [("assign", {"mediator_id": town["mediator"].id}), *happy_path()[:4]]
    drive(engine, case_id, town["supervisor"], steps)
    agreement = mediator.get(f"/cases/{case_id}/print/agreement.docx")
    assert agreement.status_code == 200
    text = docx_text(agreement.content)
    for required in (
        "人民调解协议书",
        "申请人：张三，女，1949年12月31日生",
        "双方因通行发生争执",
        "甲方让出通道一米",
        "十日内在村委会履行",
    ):
        assert required in text, required
    assert cn_date(steps[-1][1]["signed_on"]) in text and "1,200.50元" in text and "青龙镇人民调解委员会" in text
    assert "打印调解协议书" in mediator.get(f"/cases/{case_id}").text
    assert mediator.get(f"/cases/{case_id}/print/other.docx").status_code == 404
