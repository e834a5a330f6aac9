"""What the issue-14 security tests share: an app on the test's database with its own data directory, API
sign-in, and the Browser of the page tests."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from factories import PASSWORD
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mediation_flow.store.config import get_settings
from web.app import create_app


@contextmanager
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[Path]:
    monkeypatch.setenv("MEDIATION_FLOW_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(f"MEDIATION_FLOW_{name.upper()}", value)
    get_settings.cache_clear()
    try:
        yield tmp_path
    finally:
        get_settings.cache_clear()


def api_login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def client_for(engine: Engine, **kwargs: Any) -> TestClient:
    return TestClient(create_app(engine), **kwargs)


def docx_text(content: bytes) -> str:
    """Every paragraph and table cell of a .docx, as one text (python-docx must be able to open it)."""
    from docx import Document

    doc = Document(io.BytesIO(content))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def xlsx_cells(content: bytes) -> list[Any]:
    """Every non-empty cell of every sheet (openpyxl must be able to open the file)."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]
