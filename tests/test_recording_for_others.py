"""代录: a clerk (录入员) enters last year's paper ledger for the mediator named on it. The workflow judges the
mediator (roles, guards); the event keeps both who acted and who typed it; the clerk back-dates no earlier than
1 January of last year; only clerks and supervisors may record for someone else."""

from __future__ import annotations

from datetime import datetime

import pytest
from factories import happy_path, intake
from sqlalchemy import select

from mediation_flow.accounts.admin_log import administer
from mediation_flow.accounts.management import create_account
from mediation_flow.accounts.policy import CONSOLE
from mediation_flow.accounts.users import actor_for
from mediation_flow.cases.checks import check_all
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.cases.intake import register_case
from mediation_flow.cases.views import case_page
from mediation_flow.errors import InvalidEffectiveTime, PermissionDenied
from mediation_flow.store import clock
from mediation_flow.store.tables import EVENTS
from mediation_flow.vocabulary import Role


@pytest.fixture
def clerk(engine, town):
    account, _ = administer(
        engine,
        CONSOLE,
        lambda conn, a: create_account(
            conn, a, username="luru", role=Role.CLERK, display_name="录入员 小周", jurisdiction_code="500101001",
            password="luru-pass-1",
        ),
    )  # fmt: skip
    with engine.connect() as conn:
        return actor_for(conn, account.id)


def _last_year(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(clock.local_date(clock.utcnow()).year - 1, month, day, hour, tzinfo=clock.LOCAL_TZ)


def test_a_clerk_enters_last_years_case_for_the_mediator_who_did_it(engine, town, clerk):
    mediator = town["mediator"]
    case_id = register_case(engine, actor=clerk, intake=intake(), effective_at=_last_year(3, 1))
    moments = [_last_year(3, 2), _last_year(3, 5), _last_year(3, 9), _last_year(3, 20), _last_year(3, 21),
               _last_year(4, 5), _last_year(4, 6)]  # fmt: skip
    version = 1
    for (trigger, data), moment in zip(happy_path(), moments, strict=True):
        version = apply_trigger(
            engine, case_id=case_id, actor=clerk, trigger=trigger, expected_version=version, data=dict(data),
            effective_at=moment, acting_for=mediator.id,
        ).version  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(
            select(EVENTS.c.trigger, EVENTS.c.actor_id, EVENTS.c.recorded_by).where(EVENTS.c.case_id == case_id)
        ).all()
    assert [(r.actor_id, r.recorded_by) for r in rows[1:]] == [(mediator.id, clerk.id)] * len(happy_path())
    assert rows[0].actor_id == clerk.id and rows[0].recorded_by is None  # registered by the clerk as the clerk
    page = case_page(engine, town["supervisor"], case_id)
    closing = page.timeline[0]
    assert (closing["actor_name"], closing["recorder_name"]) == ("mediator", "录入员 小周")
    assert page.state_final
    checked, problems = check_all(engine)
    assert checked >= 1 and problems == []


def test_a_clerk_back_dates_no_earlier_than_last_year_and_acts_only_for_someone(engine, town, clerk):
    year = clock.local_date(clock.utcnow()).year
    with pytest.raises(InvalidEffectiveTime):
        register_case(
            engine, actor=clerk, intake=intake(), effective_at=datetime(year - 2, 12, 31, tzinfo=clock.LOCAL_TZ)
        )
    case_id = register_case(engine, actor=clerk, intake=intake(), effective_at=_last_year(1, 2))
    with pytest.raises(PermissionDenied):  # the clerk is no mediator: accept needs one
        apply_trigger(engine, case_id=case_id, actor=clerk, trigger="accept", expected_version=1,
                      data={"rights_notified": True}, effective_at=_last_year(1, 3))  # fmt: skip
    with pytest.raises(PermissionDenied):  # a mediator records only their own steps
        apply_trigger(engine, case_id=case_id, actor=town["mediator"], trigger="accept", expected_version=1,
                      data={"rights_notified": True}, acting_for=town["village_mediator"].id)  # fmt: skip
    with pytest.raises(InvalidEffectiveTime):  # same limit for steps
        apply_trigger(engine, case_id=case_id, actor=clerk, trigger="accept", expected_version=1,
                      data={"rights_notified": True}, acting_for=town["mediator"].id,
                      effective_at=datetime(year - 2, 6, 1, tzinfo=clock.LOCAL_TZ))  # fmt: skip
