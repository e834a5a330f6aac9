"""The 办理记录 (timeline) names what the engine recorded besides the typed fields in words (issue 13): an
escalation shows 处理层级 网格→村（社区）, a risk change 风险等级 before → after, a referral its agency by
name — never from_level, grid, blue or qinglong_police."""

from __future__ import annotations

from factories import REFER_TO_POLICE, drive, make_town, register

from mediation_flow.accounts.policy import SYSTEM
from mediation_flow.cases.queries import get_case_row
from mediation_flow.cases.views import case_page


def test_escalation_risk_change_and_referral_read_as_words(sqlite_engine) -> None:
    town = make_town(sqlite_engine)
    case_id = register(sqlite_engine, town)  # a grid worker's case: at grid level
    with sqlite_engine.connect() as conn:
        before = get_case_row(conn, SYSTEM, case_id)["risk_grade"]
    grade = "red" if before != "red" else "blue"
    steps = [
        ("escalate", {"reason": "涉及多户村民"}),
        ("set_risk", {"grade": grade, "reason": "双方情绪激动"}),
        ("accept", {"rights_notified": True}),
        ("refer", REFER_TO_POLICE),
    ]
    drive(sqlite_engine, case_id, town["supervisor"], steps)
    events = {e["trigger"]: dict(e["details"]) for e in case_page(sqlite_engine, town["supervisor"], case_id).timeline}
    assert events["escalate"] == {"处理层级": "网格→村（社区）", "提级理由": "涉及多户村民"}
    grades = {"blue": "蓝色（隐患）", "yellow": "黄色（一般）", "orange": "橙色（较大）", "red": "红色（重大）"}
    assert events["set_risk"]["风险等级"] == f"{grades[before]}→{grades[grade]}"
    assert "青龙派出所" in events["refer"].values()
    shown = " ".join(f"{k} {v}" for details in events.values() for k, v in details.items())
    for code in ("from_level", "to_level", "grid", "village", "from_grade", before, grade, "qinglong_police"):
        assert code not in shown, code
