"""三调对接 as people see it, on SQLite and PostgreSQL: the agency's inbox (referrals awaiting it, oldest first,
with the deadline; the cases it referred in), the supervisor's 转出待反馈 queue (whoever owns the case), an
overdue 签收 in the overdue queue, the notice at the moment of referral, and lists that show an agency only
its own cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import drive, intake, register
from test_handoff__loop import ACCEPT, POLICE, feedback, fire, referral_in, referred

from mediation_flow.cases.handoffs import agency_inbox, referred_out_queue
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.lists import case_rows
from mediation_flow.cases.notices import notices
from mediation_flow.cases.queries import CaseFilters
from mediation_flow.cases.queues import queue
from mediation_flow.errors import PermissionDenied
from mediation_flow.store import clock

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in the township


def back_dated_referral(engine, town, days: int) -> int:
    """A case accepted and referred to the police ``days`` ago (the supervisor enters it after the fact)."""
    then = NOW - timedelta(days=days)
    case_id = register(engine, town, "supervisor", effective_at=then - timedelta(hours=2), now=NOW)
    refer = ("refer", {"target": "police", "agency": "qinglong_police", "reason": "移送"})
    drive(engine, case_id, town["supervisor"], [*ACCEPT, refer], moments=[then - timedelta(hours=1), then])
    return case_id


def test_agency_inbox_lists_its_referrals_oldest_first_with_their_deadline(engine, town):
    older = back_dated_referral(engine, town, 20)
    newer = back_dated_referral(engine, town, 1)
    signed = back_dated_referral(engine, town, 5)
    fire(engine, town, signed, "liaison", "acknowledge", {"handler": "赵勇"})
    answered = back_dated_referral(engine, town, 3)
    fire(engine, town, answered, "liaison", "acknowledge", {"handler": "赵勇"})
    fire(engine, town, answered, "liaison", "agency_feedback", feedback())
    sent_in = referral_in(engine, town)
    court_case = referred(engine, town, "court", "qinglong_tribunal")
    with engine.connect() as conn:
        inbox = agency_inbox(conn, town["liaison"], today=clock.local_date(NOW))
        court = agency_inbox(conn, town["court_liaison"], today=clock.local_date(NOW))
        other = agency_inbox(conn, town["other_liaison"], today=clock.local_date(NOW))
    assert inbox.agency_name == "青龙派出所"
    assert [i.id for i in inbox.incoming] == [older, signed, newer]  # answered ones leave the inbox
    first = inbox.incoming[0]
    assert (first.handoff, first.handoff_label, first.direction_label) == ("sent", "已移送未签收", "转出")
    assert (first.deadline_label, first.deadline_status) == ("签收期限", "overdue")
    assert inbox.incoming[1].deadline_label == "转出反馈期限" and inbox.incoming[1].handoff_label == "已签收"
    assert [i.id for i in inbox.sent_in] == [sent_in] and inbox.sent_in[0].direction == "in"
    assert inbox.sent_in[0].reference_number == POLICE["reference_number"]
    assert [i.id for i in court.incoming] == [court_case] and court.sent_in == []
    assert other.incoming == [] and other.sent_in == []
    with engine.connect() as conn, pytest.raises(PermissionDenied):
        agency_inbox(conn, town["supervisor"], today=clock.local_date(NOW))


def test_referred_out_queue_keeps_every_unanswered_referral_whoever_owns_it(engine, town):
    unassigned = back_dated_referral(engine, town, 10)  # registered by the supervisor: nobody handles it
    mine = referred(engine, town)
    elsewhere = referred(engine, town, "arbitration", None)
    answered = referred(engine, town)
    fire(engine, town, answered, "liaison", "acknowledge", {"handler": "赵勇"})
    fire(engine, town, answered, "liaison", "agency_feedback", feedback())
    returned = referred(engine, town, "court", "qinglong_tribunal")
    fire(engine, town, returned, "court_liaison", "return_referral", {"reason": "不属于本庭"})
    recorded = referred(engine, town, "arbitration", None)
    fire(
        engine,
        town,
        recorded,
        "mediator",
        "record_feedback",
        {"received_on": "2026-03-01", "outcome": "resolved", "detail": "已办结"},
    )
    with engine.connect() as conn:
        found = referred_out_queue(conn, town["supervisor"], today=clock.local_date(NOW))
        with pytest.raises(PermissionDenied):
            referred_out_queue(conn, town["mediator"], today=clock.local_date(NOW))
    assert found.items[0].id == unassigned and found.items[0].mediator == ""
    assert {i.id for i in found.items} == {unassigned, mine, elsewhere, returned} and found.total == 4
    assert found.returned == 1  # the header says so: 4件，其中被退回1件 (the figures' 待反馈 counts 3)
    by_id = {i.id: i for i in found.items}
    assert by_id[elsewhere].agency_name == "示例县劳动人事争议仲裁委员会" and by_id[elsewhere].handoff is None
    assert by_id[returned].handoff_label == "已退回"


def test_an_overdue_receipt_is_in_the_supervisors_overdue_queue(engine, town):
    late = back_dated_referral(engine, town, 20)
    with engine.connect() as conn:
        page = queue(conn, town["supervisor"], "overdue", today=clock.local_date(NOW))
    item = next(i for i in page.items if i["id"] == late)
    assert [c["label"] for c in item["clocks"] if c["status"] == "overdue"] == ["签收期限"]


def test_the_agency_is_told_at_the_moment_of_referral(engine, town):
    case_id = referred(engine, town)
    with engine.connect() as conn:
        police = notices(conn, town["liaison"], now=clock.utcnow())
        court = notices(conn, town["court_liaison"], now=clock.utcnow())
        supervisor = notices(conn, town["supervisor"], now=clock.utcnow())
    assert [(n.case_id, n.text, n.unread) for n in police] == [(case_id, "乡镇移送案件至本单位，请签收", True)]
    assert court == [] and all(n.kind != "refer" for n in supervisor)
    fire(engine, town, case_id, "liaison", "acknowledge", {"handler": "赵勇"})
    with engine.connect() as conn:
        told = notices(conn, town["supervisor"], now=clock.utcnow())
    assert [(n.case_id, n.text) for n in told if n.kind == "acknowledge"] == [(case_id, "对接单位已签收")]


def test_lists_show_an_agency_only_its_own_cases(engine, town):
    ordinary = register(engine, town, "mediator")
    to_police = referred(engine, town)
    to_court = referred(engine, town, "court", "qinglong_tribunal")
    from_police = referral_in(engine, town)
    court = {"agency": "qinglong_tribunal", "reference_number": "（2026）示0101民诉前调3号", "court_mode": "delegated"}
    place = town.places.villages[0].code
    form = intake(workflow="court_referral", source="court", jurisdiction_code=place, attributes=court)
    from_court = register_case(engine, actor=town["court_liaison"], intake=form)
    seen = {
        who: {r["id"] for r in case_rows(engine, town[who], CaseFilters(), page_size=200)[0]}
        for who in ("liaison", "court_liaison", "petition_liaison", "supervisor")
    }
    assert seen["liaison"] == {to_police, from_police}
    assert seen["court_liaison"] == {to_court, from_court}
    assert seen["petition_liaison"] == set()
    assert {ordinary, to_police, to_court, from_police, from_court} <= seen["supervisor"]
