"""Issue 14, finding 11: uploads and request bodies.

The type is judged from the content *and* the name's extension together (``report.html`` or ``协议.bat``
starting with ``%PDF-`` is refused); the stored name is cleaned (no right-to-left override) and ends in the
judged type's extension; only images are shown inline, a PDF is a download. Bodies are limited per route
while they stream in: a chunked upload without Content-Length is stopped soon after the attachment limit,
a 30 MB JSON body gets 413 before anyone is signed in, and the ledger import keeps its 64 MB."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from typing import Any

import pytest
from factories import make_town, register
from security_helpers import api_login, client_for, own_data_dir
from server_harness import Server
from test_web_pages import Browser

from mediation_flow.cases import attachments
from mediation_flow.store.config import get_settings

PDF = b"%PDF-1.4\n% test\n" + b"0" * 2000
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


@pytest.fixture
def web(engine: Any, town: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with own_data_dir(tmp_path, monkeypatch), client_for(engine) as client:
        yield client


def _upload(browser: Browser, case_id: int, name: str, content: bytes) -> Any:
    return browser.client.post(
        f"/cases/{case_id}/attachments",
        data={"kind": "evidence", "csrf_token": browser.csrf},
        files={"file": (name, content, "application/octet-stream")},
    )


def test_content_and_extension_must_agree_and_the_name_is_cleaned(web: Any, engine: Any, town: Any) -> None:
    case_id = register(engine, town)
    browser = Browser(web.app)
    assert browser.login("mediator").status_code == 303
    for name in ("report.html", "协议.bat", "scan", "照片.jpg"):
        refused = _upload(browser, case_id, name, PDF)
        assert refused.status_code == 422, (name, refused.status_code)
        assert "文件名应以.pdf结尾" in refused.text, name
    assert _upload(browser, case_id, "协议\u202efdp.exe.pdf", PDF).status_code == 303
    assert _upload(browser, case_id, "../../现场.JPEG", JPEG).status_code == 303
    kept = {a.media_type: a for a in attachments.list_for_case(get_settings().data_dir, case_id)}
    assert kept["application/pdf"].filename == "协议fdp.exe.pdf"
    assert kept["image/jpeg"].filename == "现场.jpg"
    pdf = browser.get(f"/cases/{case_id}/attachments/{kept['application/pdf'].id}")
    photo = browser.get(f"/cases/{case_id}/attachments/{kept['image/jpeg'].id}")
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert photo.headers["content-disposition"].startswith("inline;")


def test_a_large_json_body_is_refused_before_sign_in(web: Any) -> None:
    response = web.post("/api/v1/cases", content=b"[" + b"0," * (15 * 1024 * 1024) + b"0]", headers=_JSON)
    assert response.status_code == 413, response.text[:200]
    assert response.json()["error"]["message"] == "提交的内容过大（上限1MB）"


_JSON = {"Content-Type": "application/json"}


def test_the_ledger_import_keeps_its_own_larger_limit(web: Any) -> None:
    headers = api_login(web, "supervisor")
    rows = "案件名称\r\n" + "张三\r\n" * 400_000  # ~3 MB: over the app's 1 MB, under the import's 64 MB
    answer = web.post(
        "/api/v1/reports/ledger/import", files={"file": ("台账.csv", rows.encode(), "text/csv")}, headers=headers
    )
    assert answer.status_code == 422, answer.text[:200]  # read and checked, not refused for its size


def _chunked_upload(port: int, path: str, content_type: str) -> tuple[int, bytes]:
    """Send a chunked body (no Content-Length) while reading the answer; (bytes sent when the answer came,
    the answer's head)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Type: {content_type}\r\n\r\n"
    )
    sock.sendall(head.encode())
    chunk = b"0" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent, done = [0], threading.Event()

    def send_body() -> None:
        try:
            while sent[0] < 200 * 1024 * 1024 and not done.is_set():
                sock.sendall(frame)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server closed the connection

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer and (data := sock.recv(65536)):
            answer += data
    except OSError:
        pass
    at_answer = sent[0]
    done.set()
    sender.join(timeout=60)
    sock.close()
    return at_answer, answer


def test_a_chunked_body_without_content_length_is_stopped_early(tmp_path: Any, sqlite_engine: Any) -> None:
    make_town(sqlite_engine)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    with Server(url, tmp_path, workers=1) as server:
        sent, answer = _chunked_upload(server.port, "/api/v1/cases", "application/json")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 32 * 1024 * 1024, sent  # answered after about 1 MB, not once 200 MB were read


def test_attachments_and_the_database_file_are_private(tmp_path: Any) -> None:
    from mediation_flow.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/new/data.db")
    with engine.connect():
        pass
    engine.dispose()
    assert (tmp_path / "new" / "data.db").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700
    item = attachments.save(tmp_path, 7, io.BytesIO(PDF), filename="证据.pdf", kind="evidence", uploaded_by=None)
    folder = attachments.folder(tmp_path, 7)
    assert folder.stat().st_mode & 0o777 == 0o700 and folder.parent.stat().st_mode & 0o777 == 0o700
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert item.filename == "证据.pdf"


def test_part_files_left_by_a_crash_are_cleaned_at_start(engine: Any, tmp_path: Any, monkeypatch: Any) -> None:
    folder = attachments.folder(tmp_path, 3)
    folder.mkdir(parents=True)
    stale, fresh = folder / "a.pdf.part", folder / "b.pdf.part"
    stale.write_bytes(PDF)
    fresh.write_bytes(PDF)
    old = time.time() - 2 * attachments.STALE_PART
    os.utime(stale, (old, old))
    with own_data_dir(tmp_path, monkeypatch):
        client_for(engine)
    assert not stale.exists() and fresh.exists()  # an upload another worker is writing now is left alone
