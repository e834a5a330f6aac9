"""A notice is read once the user has acted on its case after it (their own step on the case, entered after the
notice's): a partner agency's user who 签收s, 退回s or 反馈s a referral has read the referral's notice without
opening /notices. A notice that comes after their step is news again. The header's kept count agrees with the page
and changes when the user acts (the step is a write), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from factories import REFER_TO_POLICE, Town, drive, intake, register
from sqlalchemy import Engine

from mediation_flow.cases.agency_desk import agency_desk
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.notices import header_unread, notices, unread_count
from mediation_flow.store import clock

ACCEPT = ("accept", {"rights_notified": True})
FEEDBACK = {"result": "mediated", "document_number": "青公(治)调字〔2026〕8号", "decided_on": "2026-03-02"}
FEEDBACK["content"] = "已调解"


def _state(engine: Engine, actor: Any) -> tuple[dict[tuple[int, str], bool], int, int]:
    """(case, kind) → unread, the fresh unread count, and the header's (kept) count."""
    with engine.connect() as conn:
        found = notices(conn, actor, now=clock.utcnow())
        count = unread_count(conn, actor, now=clock.utcnow())
    unread = {(n.case_id, n.kind): n.unread for n in found}
    assert count == sum(unread.values()), (count, unread)
    return unread, count, header_unread(engine, actor)


def _referred_to_police(engine: Engine, town: Town, title: str) -> int:
    case_id = register(engine, town, "mediator", title=title)
    drive(engine, case_id, town["mediator"], [ACCEPT, ("refer", REFER_TO_POLICE)])
    return case_id


def test_signing_for_a_referral_reads_its_notice(engine: Engine, town: Town) -> None:
    police = town["liaison"]
    signed = _referred_to_police(engine, town, "签收的纠纷")
    returned = _referred_to_police(engine, town, "退回的纠纷")
    unread, count, header = _state(engine, police)
    assert unread == {(signed, "refer"): True, (returned, "refer"): True} and count == header == 2

    drive(engine, signed, police, [("acknowledge", {"handler": "赵勇"})], version=3)
    unread, count, header = _state(engine, police)
    assert unread == {(signed, "refer"): False, (returned, "refer"): True}
    assert count == header == 1  # the header's kept count moved with the step
    assert [n.case_id for n in agency_desk(engine, police).notices] == [returned]  # /inbox: only the other one

    drive(engine, returned, police, [("return_referral", {"reason": "不属于本单位职责"})], version=3)
    drive(engine, signed, police, [("agency_feedback", FEEDBACK)], version=4)
    unread, count, header = _state(engine, police)
    assert not any(unread.values()) and count == header == 0
    assert agency_desk(engine, police).notices == []


def test_news_after_the_users_own_step_is_unread(engine: Engine, town: Town) -> None:
    """The agency refers a dispute in (its own step), the township then accepts it: that is news (您单位转来的…)."""
    police = town["liaison"]
    form = intake(
        workflow="police_referral",
        source="police",
        jurisdiction_code=town.places.villages[0].code,
        attributes={"agency": "qinglong_police", "reference_number": "青公调〔2026〕15号"},
    )
    case_id = register_case(engine, actor=police, intake=form)
    assert _state(engine, police)[1] == 0  # their own registration is no news
    drive(engine, case_id, town["mediator"], [ACCEPT])
    unread, count, header = _state(engine, police)
    assert unread == {(case_id, "accept"): True} and count == header == 1
    # a step of someone else on the case is not the user's: the notice stays unread
    drive(engine, case_id, town["supervisor"], [("assign", {"mediator_id": town["mediator"].id})], version=2)
    assert _state(engine, police)[0][(case_id, "accept")] is True


def test_a_mediator_who_acted_on_the_case_has_read_its_notice(engine: Engine, town: Town) -> None:
    """The same for every user: the assigned mediator who starts mediating has read the assignment."""
    mediator = town["mediator"]
    case_id = register(engine, town, "supervisor", title="指派的纠纷")
    drive(engine, case_id, town["supervisor"], [ACCEPT, ("assign", {"mediator_id": mediator.id})])
    assert _state(engine, mediator)[0][(case_id, "assign")] is True
    start = {"all_parties_consent": True}
    drive(engine, case_id, mediator, [("start_mediation", start)], version=3)
    unread, count, header = _state(engine, mediator)
    assert unread[(case_id, "assign")] is False and count == header


def test_a_step_recorded_for_the_user_by_someone_else_does_not_read_their_notice(engine: Engine, town: Town) -> None:
    """代录: the supervisor enters the mediator's 开始调解 from the paper ledger (the event is the mediator's, typed
    by the supervisor): the mediator has not seen the assignment's notice, so it stays unread for them."""
    from mediation_flow.cases.engine import apply_trigger

    mediator = town["mediator"]
    case_id = register(engine, town, "supervisor", title="代录的纠纷")
    drive(engine, case_id, town["supervisor"], [ACCEPT, ("assign", {"mediator_id": mediator.id})])
    apply_trigger(
        engine, case_id=case_id, actor=town["supervisor"], trigger="start_mediation", expected_version=3,
        data={"all_parties_consent": True}, acting_for=mediator.id,
    )  # fmt: skip
    unread, count, header = _state(engine, mediator)
    assert unread[(case_id, "assign")] is True and count == header >= 1
