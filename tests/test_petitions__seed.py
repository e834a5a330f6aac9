"""The seed's two petitions (访调对接), entered through the JSON API: a repeat letter petition and a Beijing
petition, each transferred by the 信访 office (its user registers it), mediated, reported back, closed."""

from __future__ import annotations

from typing import Any

import pytest
from factories import PASSWORD, intake, today_iso
from fastapi.testclient import TestClient

from web.app import create_app

VILLAGE = "500101001001"  # 龙井村: the petition office serves the county, so its user names the place
SEED_PETITIONS = {
    "repeat_letter": {
        "title": "王某某反映宅基地边界纠纷（重复信访）",
        "category": "housing_homestead",
        "attributes": {
            "agency": "county_petition",
            "referring_body": "青龙镇信访办",
            "reference_number": "青信转〔2023〕12号",
            "channel": "letter",
            "repeat": True,
            "petitioners": 1,
        },
    },
    "beijing": {
        "title": "刘某某进京反映土地承包经营权纠纷",
        "category": "land_contract",
        "people_involved": 3,
        "attributes": {
            "agency": "county_petition",
            "referring_body": "示例县信访局",
            "reference_number": "县信转〔2023〕45号",
            "channel": "visit",
            "to_beijing": True,
            "level_skipping": True,
            "petitioners": 3,
        },
    },
}


@pytest.fixture
def client(engine, town):
    with TestClient(create_app(engine)) as c:
        yield c


def login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Driver:
    def __init__(self, client: TestClient, headers: dict[str, str], case: dict[str, Any]) -> None:
        self.client, self.headers, self.case = client, headers, case

    def fire(self, trigger: str, data: dict[str, Any] | None = None, status: int = 200) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/cases/{self.case['id']}/transitions",
            json={"trigger": trigger, "expected_version": self.case["version"], "data": data or {}},
            headers=self.headers,
        )
        assert response.status_code == status, response.text
        if status == 200:
            self.case = response.json()
        return response.json()


@pytest.mark.parametrize("seed", sorted(SEED_PETITIONS))
def test_seed_petition_is_transferred_mediated_reported_back_and_resolved(client, seed):
    payload = intake(workflow="petition_referral", source="petition", jurisdiction_code=VILLAGE, **SEED_PETITIONS[seed])
    liaison = login(client, "petition_liaison")
    created = client.post("/api/v1/cases", json=payload, headers=liaison)
    assert created.status_code == 201, created.text
    case = created.json()
    assert (case["workflow_name"], case["state"], case["source"]) == ("petition_referral", "registered", "petition")
    assert case["attributes"] == SEED_PETITIONS[seed]["attributes"]
    clocks = {c["name"]: c for c in case["clocks"]}
    assert clocks["petition_acceptance"]["status"] in ("on_time", "due_soon")

    mediator = Driver(client, login(client, "mediator"), case)
    mediator.fire("accept", {"rights_notified": True})
    mediator.fire(
        "start_mediation",
        {"all_parties_consent": True, "venue": "qingfeng_teahouse", "joint_agencies": ["justice_station"]},
    )
    mediator.fire(
        "record_session",
        {
            "session_date": today_iso(),
            "content": "镇信访办、司法所联合接访，释法明理。",
            "joint_agencies": ["justice_station"],
        },
    )
    mediator.fire(
        "reach_agreement",
        {
            "form": "written",
            "facts": "双方对边界（承包地）存在争议，信访人多次反映。",
            "terms": "按原确权图重新测定界址，各自管理。",
            "performance": "十五日内由村委会组织测量并立界桩",
            "signed_on": today_iso(),
        },
    )
    mediator.fire("start_follow_up")
    mediator.fire("record_visit", {"visited_on": "2023-11-25", "performed": "full", "satisfaction": "satisfied"})
    refused = mediator.fire("close_resolved", status=422)
    assert refused["error"]["code"] == "guard_failed"
    assert "反馈移交单位" in refused["error"]["message"]
    incomplete = mediator.fire("report_back", {"result": "performed", "reported_on": "2023-11-26"}, status=422)
    fields = {e["field"] for e in incomplete["error"]["errors"]}
    assert {"content", "completion_report"} <= fields
    mediator.fire(
        "report_back",
        {
            "result": "performed",
            "reported_on": "2023-11-26",
            "content": "双方达成书面调解协议并已履行，信访人表示息诉罢访。",
            "completion_report": "经调解达成协议并履行完毕，建议按办结处理。",
            "petitioner_informed": True,
        },
    )
    clocks = {c["name"]: c for c in mediator.case["clocks"]}
    assert clocks["petition_completion"]["status"] == "stopped"
    assert clocks["report_back"]["status"] == "stopped"
    final = mediator.fire("close_resolved")
    assert final["state"] == "resolved"
    triggers = [e["trigger"] for e in final["events"]]
    assert triggers.index("report_back") < triggers.index("close_resolved")
    assert triggers[0] == "register"
    report = next(e for e in final["events"] if e["trigger"] == "report_back")
    assert report["data"]["completion_report"].startswith("经调解达成协议")


def test_petition_intake_checks_its_own_fields(client):
    liaison = login(client, "petition_liaison")
    payload = intake(
        workflow="petition_referral", source="petition", jurisdiction_code=VILLAGE, attributes={"channel": "pigeon"}
    )
    response = client.post("/api/v1/cases", json=payload, headers=liaison)
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["error"]["errors"]}
    assert set(errors) >= {"agency", "reference_number", "channel"}
    assert "信访件编号" in errors["reference_number"]


def test_workflow_diagram_endpoint(client):
    headers = login(client, "supervisor")
    response = client.get("/api/v1/workflows/petition_referral/diagram", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mermaid"].startswith("stateDiagram-v2")
    assert 'state "已接收转办" as registered' in body["mermaid"]
    missing = client.get("/api/v1/workflows/nonexistent/diagram", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
