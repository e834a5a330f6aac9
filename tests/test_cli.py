"""The mediation-flow command, run as a user would: a fresh data folder, real subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from mediation_flow.store.clock import LOCAL_TZ

CLI = [sys.executable, "-m", "mediation_flow.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_FLOW_")}
    return {**clean, "MEDIATION_FLOW_DATA_DIR": str(tmp_path / "var")}


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300)


def test_upgrade_demo_check_and_users(env, tmp_path):
    assert run(env, "db", "upgrade").returncode == 0
    demo = run(env, "demo", "--cases", "12")
    assert demo.returncode == 0, demo.stderr
    assert "sifasuo" in demo.stdout and "sifasuo-demo2023" in demo.stdout
    assert run(env, "demo").returncode == 1, "the demo never loads into a database that has data"
    check = run(env, "check")
    assert check.returncode == 0 and "checked 12 cases, 0 mismatches" in check.stdout
    added = run(
        env, "users", "add", "liwei", "--role", "mediator", "--jurisdiction", "500101001001", stdin="s3cret-pass\n"
    )
    assert added.returncode == 0, added.stderr
    weak = run(env, "users", "add", "weak", "--role", "mediator", "--jurisdiction", "500101001", stdin="123\n")
    assert weak.returncode == 2 and "密码至少8位" in weak.stderr
    nowhere = run(env, "users", "add", "lost", "--role", "mediator", stdin="s3cret-pass\n")
    assert nowhere.returncode == 2 and "辖区" in nowhere.stderr
    admin = run(env, "users", "add", "root2", "--role", "admin", stdin="s3cret-pass\n")
    assert admin.returncode == 0, admin.stderr


def test_upgrade_counts_the_dashboards_kept_figures_so_no_first_view_waits(env, tmp_path):
    """After ``db upgrade`` the kept year sums count every case (the queue is empty, the rules key recorded):
    the first dashboard view after a release reads them instead of counting every case; so are the county
    report's tallies by township."""
    import sqlite3

    assert run(env, "db", "upgrade").returncode == 0
    assert run(env, "demo", "--cases", "30").returncode == 0
    db = sqlite3.connect(tmp_path / "var" / "mediation_flow.db")
    db.execute("UPDATE figure_state SET rules = 'an older release'")  # as a new release's rules would find it
    db.commit()
    upgraded = run(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "统计台的年度数字已算好" in upgraded.stdout
    assert db.execute("SELECT count(*) FROM figure_queue").fetchone() == (0,)
    assert db.execute("SELECT rules FROM figure_state").fetchone() != ("an older release",)
    assert db.execute("SELECT count(DISTINCT case_id) FROM case_figure").fetchone()[0] > 0
    # and the county's report by township, this year and the last (the county, each township: kept_figures)
    assert "县（区）年度报告已按乡镇算好" in upgraded.stdout
    year = datetime.now(LOCAL_TZ).year
    kept = {key for (key,) in db.execute("SELECT key FROM kept_part")}
    marked = db.execute(  # every place with cases in either year (its mark): kept_figures' parts
        "SELECT year, path FROM place_figure WHERE figure = '~changed' AND year IN (?, ?)", (year - 1, year)
    ).fetchall()
    assert marked and kept == {f"{y}:{path}" for y, path in marked}
    db.close()


def test_partner_agencies_and_their_users(env):
    assert run(env, "db", "upgrade").returncode == 0
    assert run(env, "demo", "--cases", "0").returncode == 0  # the township and its agencies
    agency = run(
        env, "agencies", "add", "baima_police", "--name", "白马派出所", "--kind", "police", "--jurisdiction", "500101",
        "--reference-pattern", r"白公调〔\d{4}〕\d+号", "--reference-example", "白公调〔2026〕1号",
    )  # fmt: skip
    assert agency.returncode == 0 and "已添加对接单位 白马派出所" in agency.stdout, agency.stderr
    bad = run(env, "agencies", "add", "x", "--name", "某所", "--kind", "police", "--jurisdiction", "500101",
              "--reference-pattern", "白公调", "--reference-example", "黑公调")  # fmt: skip
    assert bad.returncode == 2 and "编号示例不符合编号格式" in bad.stderr
    added = run(
        env, "users", "add", "minjing", "--role", "police_liaison", "--agency", "baima_police", stdin="s3cret-pass\n"
    )
    assert added.returncode == 0 and "派出所（警调）" in added.stdout, added.stderr
    missing = run(env, "users", "add", "fg", "--role", "court_liaison", stdin="s3cret-pass\n")
    assert missing.returncode == 2 and "必须属于一个对接单位" in missing.stderr
    wrong = run(env, "users", "add", "fg", "--role", "court_liaison", "--agency", "baima_police", stdin="s3cret-pass\n")
    assert wrong.returncode == 2 and "白马派出所不是人民法院（人民法庭）" in wrong.stderr
    moved = run(env, "users", "set-agency", "minjing", "qinglong_police")
    assert moved.returncode == 0, moved.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_migrates_loads_the_demo_and_serves(env):
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "run", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("server did not start")
        token = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            data={"username": "xianju", "password": "xianju-demo2023"},  # the county: both townships
        )
        assert token.status_code == 200, token.text
        cases = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/cases",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        ).json()
        assert cases["total"] == 150
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "sifasuo-demo2023" in output and f"http://127.0.0.1:{port}/" in output


def test_command_module_imports_no_database_layer(env):
    """Each uvicorn worker imports this module (spawn, as ``__mp_main__``) before it can answer the supervisor's
    5 s health ping; the ORM, the tables and the settings are imported inside the commands that use them."""
    heavy = ("sqlalchemy", "sqlmodel", "pydantic_settings", "mediation_flow.store.tables")
    probe = f"import sys, mediation_flow.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    shown = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]"


def test_reference_data_of_one_township(env):
    """``reference add|list --township``: a venue of 白马镇 is listed for it and not for 青龙镇; a category cannot
    belong to a township (issue 17)."""
    assert run(env, "db", "upgrade").returncode == 0
    assert run(env, "demo", "--cases", "0").returncode == 0  # 青龙镇 and 白马镇, each with its own venues
    added = run(env, "reference", "add", "venue", "石龙说理堂", "--township", "500101002")
    assert added.returncode == 0 and "仅白马镇" in added.stdout, added.stderr
    baima = run(env, "reference", "list", "venue", "--township", "500101002").stdout
    assert "石龙说理堂（白马镇）" in baima and "白马议事厅（白马镇）" in baima and "村调解室（全县）" in baima
    assert "清风茶室" not in baima
    qinglong = run(env, "reference", "list", "venue", "--township", "500101001").stdout
    assert "清风茶室（青龙镇）" in qinglong and "石龙说理堂" not in qinglong
    wrong = run(env, "reference", "add", "category", "水利纠纷", "--township", "500101002")
    assert wrong.returncode == 2 and "全县通用" in wrong.stderr
    unknown = run(env, "reference", "list", "--township", "599999999")
    assert unknown.returncode == 2 and "乡镇（街道）代码不存在" in unknown.stderr
