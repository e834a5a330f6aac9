"""更正: a supervisor corrects a case fact, a party's ID number or the time of an agreement; the figures move to
the right year, a report as of before the correction gives the old figures, ``check`` passes (both back ends)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from factories import Town, make_town
from report_cases import agreement, at, enter
from sqlalchemy import Engine, select

from mediation_flow.accounts.personal_data import make_id_number
from mediation_flow.cases.checks import check_all
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.views import case_page
from mediation_flow.errors import GuardFailed, InvalidEffectiveTime, PermissionDenied
from mediation_flow.stats.dashboard import dashboard_of
from mediation_flow.stats.drilldown import case_ids
from mediation_flow.stats.scope import year_scope
from mediation_flow.stats.service import annual_report
from mediation_flow.store.tables import CASES, PARTIES

FIRST_ID = make_id_number("110105", date(1970, 3, 4), 11)
OTHER_ID = make_id_number("110105", date(1981, 6, 7), 23)


@pytest.fixture
def town(engine: Engine) -> Town:
    return make_town(engine)


def version(engine: Engine, case_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(CASES.c.version).where(CASES.c.id == case_id)).scalar_one())


def correct(engine: Engine, town: Town, case_id: int, now: datetime | None = None, **data: Any) -> None:
    apply_trigger(
        engine, case_id=case_id, actor=town["supervisor"], trigger="correct", expected_version=version(engine, case_id),
        data={"reason": "与纸质台账核对后更正", **data}, now=now,
    )  # fmt: skip


def figures(engine: Engine, town: Town, year: int, as_of: datetime | None = None) -> dict[str, Any]:
    report = annual_report(engine, actor=None, code=town.places.township.code, year=year, as_of=as_of)
    values = dict(report.figures.values)
    values["by_category"] = {r["key"]: r["count"] for r in report.figures.breakdowns["by_category"]}
    values["monthly_resolved"] = {r["key"]: r["count"] for r in report.figures.breakdowns["monthly_resolved"]}
    return values


def parties(name: str, id_number: str | None) -> list[dict[str, Any]]:
    first = {"role": "applicant", "name": name, **({"id_number": id_number} if id_number else {})}
    return [first, {"role": "respondent", "name": f"{name}邻居"}]


def late_agreement_case(engine: Engine, town: Town) -> int:
    """Registered 28 December 2023; its agreement typed as 31 December 2023 though it was signed on 3 January."""
    steps = [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse"}),
        agreement("2024-01-03", "800"),
        ("start_follow_up", {}),
    ]
    moments = [at(2023, 12, 29), at(2023, 12, 30), at(2023, 12, 31, 9), at(2023, 12, 31, 15), at(2024, 1, 8)]
    return enter(engine, town, at(2023, 12, 28), steps, moments=moments, parties=parties("钱七", None))


def test_corrections_move_the_figures_and_as_of_keeps_the_old_ones(engine: Engine, town: Town) -> None:
    earlier = enter(engine, town, at(2023, 3, 1), [], parties=parties("王五", FIRST_ID), category="neighbourhood")
    later = enter(engine, town, at(2024, 2, 1), [], parties=parties("赵六", None), category="neighbourhood")
    agreed = late_agreement_case(engine, town)
    before = {year: figures(engine, town, year) for year in (2023, 2024)}
    assert before[2023]["resolved"] == 1 and before[2024]["resolved"] == 0
    assert before[2024]["repeat_disputes"] == 0
    assert before[2023]["by_category"] == {"neighbourhood": 2}
    moment = datetime.now().astimezone()

    correct(engine, town, earlier, what="category", value="婚姻家庭")  # by its label
    correct(engine, town, later, what="party_id_number", party=1, value=FIRST_ID)
    agreement_seq = 5
    correct(engine, town, agreed, what="event_time", event=agreement_seq, value="2024-01-03T10:00")

    after = {year: figures(engine, town, year) for year in (2023, 2024)}
    assert after[2023]["by_category"] == {"marriage_family": 1, "neighbourhood": 1}
    assert after[2024]["repeat_disputes"] == 1  # 赵六's ID number is 王五's: the same person, an earlier dispute
    assert (after[2023]["resolved"], after[2024]["resolved"]) == (0, 1)
    assert after[2024]["monthly_resolved"]["2024-01"] == 1
    assert after[2023]["taken_in"] == before[2023]["taken_in"]
    for year in (2023, 2024):
        assert figures(engine, town, year, as_of=moment) == before[year]
    assert check_all(engine)[1] == []
    with engine.connect() as conn:
        assert conn.execute(select(PARTIES.c.id_number).where(PARTIES.c.case_id == later)).scalars().first() == FIRST_ID
        code = town.places.township.code
        lists = {year: case_ids(conn, year_scope(conn, code=code, year=year), "resolved") for year in (2023, 2024)}
        assert lists == {2023: [], 2024: [agreed]}  # the lists behind the numbers moved with them
        then = year_scope(conn, code=code, year=2023, as_of=moment)
        assert case_ids(conn, then, "resolved") == [agreed]
        assert case_ids(conn, then, "by_category", "neighbourhood") == [earlier, agreed]
        assert case_ids(conn, year_scope(conn, code=code, year=2024), "repeat_disputes") == [later]


def test_a_correction_needs_a_supervisor_a_reason_and_a_valid_value(engine: Engine, town: Town) -> None:
    case_id = enter(engine, town, at(2024, 3, 1), [], parties=parties("孙八", None))
    with pytest.raises(PermissionDenied):
        apply_trigger(engine, case_id=case_id, actor=town["mediator"], trigger="correct", expected_version=1,
                      data={"what": "title", "value": "新名称", "reason": "笔误"})  # fmt: skip
    cases = [
        ({"what": "category", "value": "不存在的类型"}, "纠纷类型"),
        ({"what": "party_id_number", "party": 1, "value": "123"}, "身份证"),
        ({"what": "party_phone", "party": 5, "value": "13812345678"}, "请选择要更正的当事人"),
        ({"what": "event_time", "event": 1, "value": "2999-01-01"}, "日期"),
        ({"what": "village", "value": "不存在的村"}, "村（社区）"),
        ({"what": "title", "value": "张三与李四相邻通行纠纷"}, "相同"),
    ]

    for data, words in cases:
        with pytest.raises(GuardFailed) as refused:
            correct(engine, town, case_id, **data)
        assert words in refused.value.message, (data, refused.value.message)
    assert version(engine, case_id) == 1


def test_a_corrected_registration_time_keeps_the_date_rules_of_later_steps(engine: Engine, town: Town) -> None:
    """The dates typed into later steps follow the same rules as when entered: a session date may not fall
    before the case began, so the registration cannot be moved past it."""
    steps = [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse"}),
        ("record_session", {"session_date": "2024-03-01", "content": "电话沟通"}),
    ]
    moments = [at(2024, 3, 3, 9), at(2024, 3, 3, 10), at(2024, 3, 3, 11), at(2024, 3, 3, 12)]
    case_id = enter(engine, town, at(2024, 3, 1), steps, moments=moments, parties=parties("冯二", None))
    with pytest.raises(GuardFailed) as refused:
        correct(engine, town, case_id, what="event_time", event=1, value="2024-03-02T15:00")
    assert "不能早于案件登记日期" in refused.value.message
    correct(engine, town, case_id, what="event_time", event=1, value="2024-03-01T08:00")  # earlier: allowed
    assert check_all(engine)[1] == []


def test_the_timeline_shows_the_original_and_the_correction(engine: Engine, town: Town) -> None:
    case_id = enter(engine, town, at(2024, 3, 1), [("assign", {"mediator_id": town["mediator"].id})],
                    parties=parties("周九", None))  # fmt: skip
    correct(engine, town, case_id, what="event_time", event=2, value="2024-03-01T15:30")
    correct(engine, town, case_id, what="title", value="周九与邻居通行纠纷")
    page = case_page(engine, town["supervisor"], case_id)
    shown = {e["seq"]: e for e in page.timeline}
    assert shown[3]["label"] == "更正"
    assert ("更正内容", "某一步的办理时间") in shown[3]["details"]
    assert any(k == "原为" and "2024年3月2日" in v for k, v in shown[3]["details"]), shown[3]["details"]
    assert any(k == "更正为" and "2024年3月1日 15:30" in v for k, v in shown[3]["details"])
    assert shown[2]["effective_at"].day == 2  # the assignment keeps its time as recorded, marked as corrected
    assert shown[2]["corrected"] == {"time": "2024年3月1日 15:30"}
    assert page.case["title"] == "周九与邻居通行纠纷"


def test_the_kept_dashboard_follows_a_correction(engine: Engine, town: Town) -> None:
    """The dashboard folds new events into a kept tally; a correction may move what earlier events counted for
    (category, a step's year), so it is counted afresh and equals the report."""
    agreed = late_agreement_case(engine, town)
    other = enter(engine, town, at(2024, 1, 10), [], parties=parties("吴十", None), category="neighbourhood")
    today = date(2024, 6, 1)
    before = dashboard_of(engine, town["supervisor"], today=today, year=2024)  # kept
    assert (before.resolved, {b.label: b.value for b in before.by_category if b.value}) == (0, {"邻里": 1})
    correct(engine, town, agreed, what="event_time", event=5, value="2024-01-03T10:00")
    correct(engine, town, other, what="category", value="contract")
    after = dashboard_of(engine, town["supervisor"], today=today, year=2024)
    assert after.resolved == 1 == figures(engine, town, 2024)["resolved"]
    assert {b.label: b.value for b in after.by_category if b.value} == {"合同": 1}


def test_later_steps_follow_the_corrected_times_not_the_correction_itself(engine: Engine, town: Town) -> None:
    """A step back-dated after a correction: not before the corrected time of the step before it, but the
    correction's own (recent) time does not stop the rest of last year's ledger being entered."""
    case_id = enter(engine, town, at(2024, 3, 1), [("assign", {"mediator_id": town["mediator"].id})],
                    parties=parties("郑一", None))  # fmt: skip
    correct(engine, town, case_id, what="event_time", event=2, value="2024-03-05T09:00")
    accept = {"rights_notified": True}
    with pytest.raises(InvalidEffectiveTime):
        apply_trigger(engine, case_id=case_id, actor=town["supervisor"], trigger="accept", expected_version=3,
                      data=accept, effective_at=at(2024, 3, 4))  # fmt: skip
    apply_trigger(engine, case_id=case_id, actor=town["supervisor"], trigger="accept", expected_version=3,
                  data=accept, effective_at=at(2024, 3, 6))  # fmt: skip
    assert check_all(engine)[1] == []
