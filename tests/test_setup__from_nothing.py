"""A township set up from nothing with the command line only — places imported from a 统计用区划代码 CSV,
accounts added (one with a one-time password) — then used on the web: the new mediator must change the
temporary password first, a case is registered and resolved, and the annual report is printed without
--township (there is one township). No Python helper touches the database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
from factories import happy_path, intake, local_today
from server_harness import Server

CLI = [sys.executable, "-m", "mediation_flow.cli"]
PLACES = """统计用区划代码,名称,上级代码
510104000000,锦江县,
510104020000,河畔镇,510104000000
510104020001,柳树村,510104020000
510104020002,枫林村,510104020000
510104020001001,柳树村第一网格,510104020001
"""


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def test_a_township_sets_itself_up_with_the_command_line_and_works_on_the_web(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_FLOW_")},
        "MEDIATION_FLOW_DATA_DIR": str(data),
    }
    run(env, "db", "upgrade")
    (tmp_path / "places.csv").write_text(PLACES, encoding="utf-8")
    assert "已导入 5 个辖区" in run(env, "places", "import", str(tmp_path / "places.csv")).stdout
    listed = run(env, "places", "list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == [
        "510104000000", "510104020000", "510104020001", "510104020001001", "510104020002"
    ]  # fmt: skip
    run(env, "users", "add", "wangsuo", "--role", "supervisor", "--jurisdiction", "510104020000",
        "--display-name", "王所长", stdin="suo-pass-2024\n")  # fmt: skip
    run(env, "users", "add", "chenhong", "--role", "grid_worker", "--jurisdiction", "510104020001001",
        "--display-name", "陈红", stdin="grid-pass-2024\n")  # fmt: skip
    added = run(env, "users", "add", "liming", "--role", "mediator", "--jurisdiction", "510104020001",
                "--display-name", "李明", "--temporary").stdout  # fmt: skip
    temporary = added.split("：")[-1].strip()
    assert len(temporary) == 12
    assert "李明" in run(env, "users", "list").stdout

    with Server(f"sqlite:///{data}/mediation_flow.db", data, workers=1) as server:
        web = httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=60)
        csrf = csrf_of(web.get("/login").text)
        signed_in = web.post("/login", data={"username": "liming", "password": temporary, "csrf_token": csrf})
        assert signed_in.headers["location"] == "/account"  # a temporary password is changed first
        assert web.get("/my").headers["location"] == "/account"
        csrf = csrf_of(web.get("/account").text)
        changed = web.post(
            "/account/password",
            data={"current_password": temporary, "new_password": "liming-2024", "new_password_again": "liming-2024",
                  "csrf_token": csrf},
        )  # fmt: skip
        assert changed.status_code == 303 and web.get("/my").status_code == 200

        def api(username: str, password: str) -> dict[str, str]:
            token = web.post("/api/v1/auth/token", data={"username": username, "password": password})
            assert token.status_code == 200, token.text
            return {"Authorization": f"Bearer {token.json()['access_token']}"}

        grid, mediator = api("chenhong", "grid-pass-2024"), api("liming", "liming-2024")
        created = web.post("/api/v1/cases", headers=grid, json={**intake(), "jurisdiction_code": "510104020001001"})
        assert created.status_code == 201, created.text
        case = created.json()
        assert case["number"].startswith(f"（{local_today().year}）")
        names = [a["display_name"] for a in web.get(f"/api/v1/cases/{case['id']}/assignees", headers=grid).json()]
        assert "李明" in names
        version = case["version"]
        for trigger, step_data in happy_path():
            moved = web.post(
                f"/api/v1/cases/{case['id']}/transitions",
                headers=mediator,
                json={"trigger": trigger, "expected_version": version, "data": step_data},
            )
            assert moved.status_code == 200, (trigger, moved.text)
            version = moved.json()["version"]
        web.close()

    run(env, "check")
    report = json.loads(run(env, "report", "--year", str(local_today().year)).stdout)
    assert report["scope"]["jurisdiction"]["name"] == "河畔镇"
    assert (report["figures"]["taken_in"], report["figures"]["resolved"]) == (1, 1)
    run(env, "report", "--year", str(local_today().year), "--format", "docx", "--output", str(tmp_path / "r.docx"))
    assert (tmp_path / "r.docx").stat().st_size > 1000
