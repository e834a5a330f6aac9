"""The workflow page and the diagram API show an extending workflow resolved: the steps it inherits from
people_mediation are drawn and listed, and the page says which base it adjusts (both back ends)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from test_api_cases import login
from test_web_pages import app, data_dir, signed_in  # noqa: F401  (fixtures)

from mediation_flow.workflow.registry import load_workflow_file, workflows_dir


def test_extending_workflow_is_shown_resolved(signed_in: Any, app: Any) -> None:  # noqa: F811
    supervisor = signed_in("supervisor")
    spec = load_workflow_file(workflows_dir() / "court_referral.yaml").spec
    page = supervisor.get("/workflows/court_referral")
    assert page.status_code == 200
    assert "本流程在“人民调解”流程基础上调整，以下为合并后的完整流程。" in page.text
    # inherited (not written in court_referral.yaml) and own steps alike
    for label in ("达成调解协议", "申请司法确认", "法院出具调解书", "向移交单位反馈结果"):
        assert label in page.text
    assert "已转出" not in page.text  # the state the file removes
    with TestClient(app) as client:
        response = client.get("/api/v1/workflows/court_referral/diagram", headers=login(client, "supervisor"))
    diagram = response.json()["mermaid"]
    assert "mediating --> agreed : 达成调解协议" in diagram
    (edge,) = [line for line in diagram.splitlines() if line.strip().startswith("agreed --> following_up :")]
    assert "开始回访" in edge and "法院出具调解书" in edge
    assert all(f"as {state}" in diagram for state in spec.states)
    base = supervisor.get("/workflows/people_mediation")
    assert "基础上调整" not in base.text and "已转出" in base.text


def test_workflow_list_names_no_internal_code(signed_in: Any) -> None:  # noqa: F811
    page = signed_in("supervisor").get("/workflows")
    assert page.status_code == 200
    visible = re.sub(r"<[^>]+>", " ", page.text)
    assert "诉调对接" in visible or "法院" in visible
    for name in ("people_mediation", "police_referral", "petition_referral", "court_referral"):
        assert name not in visible, name


def test_a_field_required_when_a_box_is_ticked_says_so_in_words(signed_in: Any) -> None:  # noqa: F811
    """一庭两所's court and station: required when their box is ticked, said with the labels (勾选“人民法庭”), not
    with the codes (joint_agencies, tribunal)."""
    page = signed_in("supervisor").get("/workflows/people_mediation").text
    visible = re.sub(r"<[^>]+>", " ", page)
    assert "联合调解单位（一庭两所）勾选“人民法庭”时必填" in visible
    assert "联合调解单位（一庭两所）勾选“派出所”时必填" in visible
    assert "tribunal" not in visible and "police_station" not in visible and "joint_agencies" not in visible
