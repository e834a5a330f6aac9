"""The package installs from a built wheel, with the workflow files and web templates/static inside."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (built,) = out.glob("mediation_flow-*.whl")
    return built


def test_wheel_contains_workflows_migrations_templates_and_static(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for workflow in (ROOT / "workflows").glob("*.yaml"):
        assert f"mediation_flow/workflows/{workflow.name}" in names
    assert "mediation_flow/data/reference.yaml" in names
    assert "mediation_flow/store/migrations/env.py" in names
    templates = list((ROOT / "mediation_flow" / "documents" / "templates").glob("*.docx"))
    assert len(templates) == 7  # the printouts' default Word templates
    for template in templates:
        assert f"mediation_flow/documents/templates/{template.name}" in names
    assert any(n.startswith("mediation_flow/store/migrations/versions/0001_") for n in names)
    for folder in ("templates", "static"):
        source = ROOT / "web" / folder
        if source.is_dir():
            for path in source.rglob("*"):
                if path.is_file():
                    assert f"web/{path.relative_to(ROOT / 'web').as_posix()}" in names


def test_installed_wheel_migrates_and_runs_a_case(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    script = """
import sys, mediation_flow
from pathlib import Path
assert Path(mediation_flow.__file__).is_relative_to(Path(sys.argv[1])), mediation_flow.__file__
from mediation_flow.store.db import make_engine
from mediation_flow.store.migrate import upgrade
from mediation_flow.workflow.registry import workflows_dir
from mediation_flow.demo import load_demo
from mediation_flow.cases.checks import check_all
assert workflows_dir().is_relative_to(Path(sys.argv[1])), workflows_dir()
engine = make_engine("sqlite:///" + sys.argv[2])
upgrade(engine)
load_demo(engine, cases=5)
print(check_all(engine))
import web.app
assert Path(web.app.__file__).is_relative_to(Path(sys.argv[1]))
"""
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "MEDIATION_FLOW_DATA_DIR": str(tmp_path / "var")}
    result = subprocess.run(
        [sys.executable, "-c", script, str(target), str(tmp_path / "wheel.db")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(5, [])"
