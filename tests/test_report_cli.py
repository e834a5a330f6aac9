"""`mediation-flow report`, `import-ledger` and `ledger-template`, run as a user would (subprocesses)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from docx import Document
from factories import make_town
from openpyxl import load_workbook
from report_cases import seed_year

CLI = [sys.executable, "-m", "mediation_flow.cli"]


def run(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=300, cwd=cwd)


def test_report_and_ledger_commands(sqlite_engine, tmp_path):
    town = make_town(sqlite_engine)
    seed_year(sqlite_engine, town, ordinary=3)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_FLOW_")}
    env = {**clean, "MEDIATION_FLOW_DATABASE_URL": str(sqlite_engine.url), "MEDIATION_FLOW_DATA_DIR": str(tmp_path)}
    code = town.places.township.code

    shown = run(env, "report", "--year", "2023", "--township", code)
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert (body["figures"]["mediated"], body["figures"]["success_rate"]) == (5, 100.0)
    assert "成功化解1起写信重复访和1起购票进京访" in "".join(body["text"]["paragraphs"])

    written = run(env, "report", "--year", "2023", "--township", code, "--format", "docx", "--output",
                  str(tmp_path / "r.docx"))  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert any("开展人民调解5件次" in p.text for p in Document(str(tmp_path / "r.docx")).paragraphs)
    default_name = run(env, "report", "--year", "2023", "--township", code, "--format", "xlsx", cwd=tmp_path)
    assert default_name.returncode == 0, default_name.stderr
    assert load_workbook(tmp_path / "青龙镇2023年矛盾纠纷化解统计.xlsx")["台账"].max_row == 6

    for args, message in [
        (["--year", "2023", "--township", "nowhere"], "辖区不存在"),
        (["--year", "1800", "--township", code], "年份"),
        (["--year", "2023", "--township", code, "--as-of", "soon"], "--as-of"),
    ]:
        refused = run(env, "report", *args)
        assert refused.returncode == 2 and message in refused.stderr, refused.stderr

    assert run(env, "ledger-template", str(tmp_path / "template.xlsx")).returncode == 0
    template = (tmp_path / "template.xlsx").read_bytes()
    headers = [c.value for c in load_workbook(io.BytesIO(template))["台账"][1]]
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(headers) + "\n" + ",".join("x" for _ in headers) + "\n", encoding="utf-8")
    refused = run(env, "import-ledger", str(bad), "--user", "supervisor")
    assert refused.returncode == 2 and "第2行 “登记日期”" in refused.stderr, refused.stderr
    imported = run(env, "import-ledger", str(tmp_path / "template.xlsx"), "--user", "supervisor")
    assert imported.returncode == 0 and "已导入 1 件纠纷" in imported.stdout, imported.stderr
    nobody = run(env, "import-ledger", str(tmp_path / "template.xlsx"), "--user", "ghost")
    assert nobody.returncode == 2 and "用户不存在" in nobody.stderr
    after = json.loads(run(env, "report", "--year", "2023", "--township", code).stdout)
    assert after["figures"]["taken_in"] == 6
