"""更正 in what leaves the system: the 台账 in the report workbook and the printouts show the corrected title,
party, category, village, amounts and step dates, read back with openpyxl and python-docx; the 台账 as of before
the corrections is the old one, and a registration moved across the new year moves the case between the years'
台账 (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from factories import Town
from openpyxl import load_workbook
from report_cases import agreement, at, enter
from security_helpers import docx_text
from sqlalchemy import Engine
from test_corrections import correct
from test_web_pages import data_dir  # noqa: F401 - each test its own data folder

from mediation_flow.cases.printouts import printout
from mediation_flow.stats.service import annual_report, export


def ledger(engine: Engine, town: Town, year: int, as_of: datetime | None = None) -> dict[str, dict[str, Any]]:
    """The 台账 sheet of the year's workbook, read back: case number → {header: cell}."""
    report = annual_report(engine, actor=None, code=town.places.township.code, year=year, as_of=as_of)
    rows = list(load_workbook(io.BytesIO(export(engine, report, "xlsx")))["台账"].iter_rows(values_only=True))
    return {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}


def agreed_case(engine: Engine, town: Town) -> int:
    """Registered 10 December 2023 in the first village; its agreement (1,000元) typed as 28 December."""
    steps = [
        ("assign", {"mediator_id": town["mediator"].id}),
        ("accept", {"rights_notified": True}),
        ("start_mediation", {"all_parties_consent": True, "venue": "qingfeng_teahouse"}),
        agreement("2023-12-27", "1000"),
    ]
    moments = [at(2023, 12, 11), at(2023, 12, 12), at(2023, 12, 13), at(2023, 12, 28)]
    parties = [{"role": "applicant", "name": "孙丽"}, {"role": "respondent", "name": "周强"}]
    return enter(engine, town, at(2023, 12, 10), steps, moments=moments, parties=parties, amount="1000",
                 title="孙丽与周强宅基地纠纷", category="neighbourhood",
                 jurisdiction_code=town.places.villages[0].code)  # fmt: skip


def correct_everything(engine: Engine, town: Town, case_id: int) -> None:
    correct(engine, town, case_id, what="title", value="孙莉与周强宅基地纠纷")
    correct(engine, town, case_id, what="party_name", party=1, value="孙莉")
    correct(engine, town, case_id, what="category", value="婚姻家庭")
    correct(engine, town, case_id, what="village", value=town.places.villages[1].code)
    correct(engine, town, case_id, what="amount", value="2500")
    correct(engine, town, case_id, what="agreement_amount", value="1800.50")
    correct(engine, town, case_id, what="event_time", event=3, value="2023-12-11T15:00")  # 受理
    correct(engine, town, case_id, what="event_time", event=5, value="2023-12-27T16:00")  # the agreement


def test_the_ledger_shows_corrected_facts_and_as_of_the_old_ones(engine: Engine, town: Town) -> None:
    case_id = agreed_case(engine, town)
    before = datetime.now().astimezone()
    old = ledger(engine, town, 2023)
    number = next(iter(old))
    correct_everything(engine, town, case_id)

    row = ledger(engine, town, 2023)[number]
    first, second = (v.name for v in town.places.villages[:2])
    assert (row["案件名称"], row["当事人"], row["纠纷类型"]) == ("孙莉与周强宅基地纠纷", "孙莉、周强", "婚姻家庭")
    assert (row["所属村（社区）"], row["协议金额（元）"]) == (second, Decimal("1800.50"))
    assert row["协议日期"].date() == date(2023, 12, 27)
    then = ledger(engine, town, 2023, as_of=before)[number]
    assert then == old[number]
    assert (then["案件名称"], then["当事人"], then["纠纷类型"]) == ("孙丽与周强宅基地纠纷", "孙丽、周强", "邻里")
    assert (then["所属村（社区）"], then["协议金额（元）"]) == (first, 1000)
    assert then["协议日期"].date() == date(2023, 12, 28)


def test_a_registration_moved_across_the_new_year_moves_the_case_between_ledgers(engine: Engine, town: Town) -> None:
    case_id = enter(engine, town, at(2024, 1, 2), [], parties=[{"role": "applicant", "name": "吴刚"}])
    before = datetime.now().astimezone()
    assert len(ledger(engine, town, 2023)) == 0 and len(ledger(engine, town, 2024)) == 1
    correct(engine, town, case_id, what="event_time", event=1, value="2023-12-30T10:00")
    (row,) = ledger(engine, town, 2023).values()
    assert row["登记日期"].date() == date(2023, 12, 30) and ledger(engine, town, 2024) == {}
    assert len(ledger(engine, town, 2023, as_of=before)) == 0  # as it stood: a 2024 case


def test_the_printouts_show_the_corrected_record(engine: Engine, town: Town) -> None:
    case_id = agreed_case(engine, town)
    supervisor = town["supervisor"]
    correct_everything(engine, town, case_id)

    registration = docx_text(printout(engine, supervisor, case_id, "registration")[0])
    for shown in ("孙莉与周强宅基地纠纷", "孙莉", "婚姻家庭", town.places.villages[1].name, "2,500.00元"):
        assert shown in registration, shown
    assert "2023年12月11日" in registration  # 落款: the corrected time of 受理 (recorded on the 12th)
    assert "2023年12月12日" not in registration and "孙丽" not in registration and "邻里" not in registration
    signed = docx_text(printout(engine, supervisor, case_id, "agreement")[0])
    assert "1,800.50元" in signed and "1,000.00元" not in signed
    assert "孙莉" in signed and "孙丽" not in signed
