"""/register by path: 公安移交, 法院委派/委托 and 信访转办 start their referral workflow with its intake fields
(from the workflow file), refused in Chinese with what was typed kept, and the path's clocks start."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine
from test_web_pages import app, data_dir, signed_in  # noqa: F401 - the page fixtures

from mediation_flow.accounts.policy import SYSTEM
from mediation_flow.cases.queries import get_case_row
from mediation_flow.store import clock
from mediation_flow.workflow.workdays import default_calendar

BASE = {
    "title": "王五与赵六相邻通行纠纷",
    "category": "neighbourhood",
    "summary": "两户因通行道路争执，派出所出警后移交调解。",
    "people_involved": "2",
    "parties.0.role": "applicant",
    "parties.0.name": "王五",
    "parties.1.role": "respondent",
    "parties.1.name": "赵六",
}


def case_of(engine: Engine, location: str) -> dict[str, Any]:
    case_id = int(location.split("/")[2].split("?")[0])
    with engine.connect() as conn:
        return dict(get_case_row(conn, SYSTEM, case_id))


def test_choosing_a_source_swaps_in_its_intake_fields_from_the_workflow_file(signed_in: Any) -> None:  # noqa: F811
    mediator = signed_in("mediator")
    court = mediator.get("/register/path?source=court", **{"HX-Request": "true"})
    assert court.status_code == 200 and "<html" not in court.text
    for name in ("a.agency", "a.reference_number", "a.court_mode", "a.procedure", "a.judge"):
        assert f'name="{name}"' in court.text
    assert "委派调解（立案前）" in court.text and "委派/委托调解期限：按对接方式和适用程序，7天至30天" in court.text
    petition = mediator.get("/register/path?source=petition", **{"HX-Request": "true"}).text
    assert 'name="a.to_beijing"' in petition and "信访事项受理期限：15天" in petition
    ordinary = mediator.get("/register/path?source=application", **{"HX-Request": "true"}).text
    assert "name=" not in ordinary  # 人民调解 asks for nothing more
    page = mediator.get("/register?source=police").text
    assert 'name="a.reference_number"' in page and "受理审查期限：3个工作日" in page
    assert mediator.get("/register/path?source=police").headers["location"] == "/register?source=police"


def test_a_police_referral_without_its_reference_is_refused_in_chinese_keeping_what_was_typed(
    signed_in: Any,  # noqa: F811
    engine: Engine,
) -> None:
    mediator = signed_in("mediator")
    typed = {**BASE, "source": "police", "a.agency": "qinglong_police", "a.police_mediation_tried": "true"}
    bad = mediator.post("/register", typed)
    assert bad.status_code == 422
    assert "请填写“移交文号（警情编号）”" in bad.text and 'id="a-reference_number-err"' in bad.text
    assert 'value="qinglong_police" selected' in bad.text
    assert 'name="a.police_mediation_tried" value="true" checked' in bad.text
    wrong = mediator.post("/register", {**typed, "a.reference_number": "青公调2026-15"})
    assert wrong.status_code == 422 and "编号格式不符合青龙派出所的来文编号格式，如“青公调〔2026〕15号”" in wrong.text
    switched = mediator.post("/register", {**typed, "source": "court", "switch_path": "1"})
    assert switched.status_code == 200 and 'name="a.court_mode"' in switched.text
    good = mediator.post("/register", {**typed, "a.reference_number": "青公调〔2026〕15号"})
    assert good.status_code == 303
    case = case_of(engine, good.headers["location"])
    assert (case["workflow_name"], case["source"], case["state"]) == ("police_referral", "police", "registered")
    assert case["attributes"] == {
        "agency": "qinglong_police",
        "referring_body": "青龙派出所",
        "reference_number": "青公调〔2026〕15号",
        "police_mediation_tried": True,
    }
    assert set(case["clocks"]) == {"acceptance"} and case["handoff"] == "sent" and case["agency_id"] is not None


def test_a_court_entrustment_under_the_simplified_procedure_gets_seven_days(
    signed_in: Any,  # noqa: F811
    engine: Engine,
) -> None:
    mediator = signed_in("mediator")
    court = {"a.agency": "qinglong_tribunal", "a.reference_number": "（2026）示0101民诉前调123号"}
    missing = mediator.post("/register", {**BASE, "source": "court", **court})
    assert missing.status_code == 422 and "请填写“对接方式”" in missing.text
    wrong = mediator.post("/register", {**BASE, "source": "court", **court, "a.court_mode": "mailed"})
    assert wrong.status_code == 422 and "“对接方式”的选项无效" in wrong.text
    good = mediator.post(
        "/register",
        {**BASE, "source": "court", **court, "a.court_mode": "entrusted", "a.procedure": "simplified", "a.judge": "李"},
    )
    assert good.status_code == 303
    case = case_of(engine, good.headers["location"])
    assert case["workflow_name"] == "court_referral" and case["attributes"]["judge"] == "李"
    today = clock.local_date(clock.utcnow())
    due = date.fromisoformat(case["clocks"]["court_mediation"]["due"])
    assert due == default_calendar().calendar_deadline(today, 7)  # a rest day's deadline moves to the next workday
    assert today + timedelta(days=7) <= due < today + timedelta(days=7 + 10)


def test_a_petition_transfer_records_channel_and_flags(signed_in: Any, engine: Engine) -> None:  # noqa: F811
    mediator = signed_in("mediator")
    petition = {"a.agency": "county_petition", "a.reference_number": "县信转〔2026〕42号", "a.channel": "letter"}
    bad = mediator.post("/register", {**BASE, "source": "petition", **petition, "a.petitioners": "0"})
    assert bad.status_code == 422 and "“信访人数”不能小于1" in bad.text
    flags = {"a.repeat": "true", "a.petitioners": "3"}
    good = mediator.post("/register", {**BASE, "source": "petition", **petition, **flags})
    assert good.status_code == 303
    case = case_of(engine, good.headers["location"])
    assert case["workflow_name"] == "petition_referral"
    assert {k: case["attributes"][k] for k in ("channel", "repeat", "petitioners")} == {
        "channel": "letter",
        "repeat": True,
        "petitioners": 3,
    }
    assert "petition_acceptance" in case["clocks"] and "acceptance" not in case["clocks"]
