"""Automatic escalation of long-overdue cases, safe to run from several processes at once.

A case whose earliest running deadline (``due_date``) is at least N working days behind ``now`` is
escalated one level (grid → village → township → county) through ``apply_trigger``, as the system
(a supervisor with no user id), with the reason in the event. Each level gets one automatic
escalation: after one, the case is left alone until it is N working days past that escalation too.

Concurrency: every escalation carries the version the sweep read. If another process escalated (or
anyone moved) the case in between, the engine refuses with StaleVersion and this sweep skips it; if
the other escalation is already visible, the N-working-days rule skips it. So no case is escalated
twice for one lateness, however many sweeps run together (tested on SQLite and PostgreSQL). A case
that fails for any other reason is logged and skipped; the run goes on with the next one.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from mediation_flow.accounts.policy import SYSTEM, Actor
from mediation_flow.cases.engine import apply_trigger
from mediation_flow.errors import GuardFailed, InvalidEffectiveTime, StaleVersion, TriggerNotAllowed
from mediation_flow.store import clock
from mediation_flow.store.tables import CASES, EVENTS
from mediation_flow.vocabulary import Level
from mediation_flow.workflow.registry import REGISTRY, WorkflowRegistry
from mediation_flow.workflow.workdays import WorkdayCalendar, default_calendar

logger = logging.getLogger("mediation_flow.cases.sweep")
BATCH = 500
SKIPPED = (StaleVersion, GuardFailed, TriggerNotAllowed, InvalidEffectiveTime)


def overdue_cutoff(today: date, working_days: int, calendar: WorkdayCalendar) -> date:
    """The latest date ``d`` with at least ``working_days`` working days in (d, today]."""
    if working_days < 1:
        raise ValueError("overdue_working_days must be at least 1")
    d, count = today, 0
    while True:
        if calendar.is_workday(d):
            count += 1
            if count == working_days:
                return d - timedelta(days=1)
        d -= timedelta(days=1)


def sweep(
    engine: Engine,
    *,
    now: datetime,
    overdue_working_days: int,
    actor: Actor = SYSTEM,
    calendar: WorkdayCalendar | None = None,
    registry: WorkflowRegistry = REGISTRY,
) -> int:
    """Escalate every case overdue by ≥ ``overdue_working_days`` working days as of ``now``; returns how many
    this call escalated."""
    calendar = calendar or default_calendar()
    now = clock.ensure_aware(now)
    today = clock.local_date(now)
    cutoff = overdue_cutoff(today, overdue_working_days, calendar)
    recorded = max(now, clock.utcnow())
    escalated, last_id = 0, 0
    while True:
        with engine.connect() as conn:
            batch = list(
                conn.execute(
                    select(
                        CASES.c.id,
                        CASES.c.version,
                        CASES.c.state,
                        CASES.c.level,
                        CASES.c.due_date,
                        CASES.c.workflow_name,
                        CASES.c.workflow_version,
                    )
                    .where(CASES.c.due_date <= cutoff, CASES.c.level != Level.COUNTY.value, CASES.c.id > last_id)
                    .order_by(CASES.c.id)
                    .limit(BATCH)
                ).mappings()
            )
            if not batch:
                return escalated
            last_id = batch[-1]["id"]
            previous = _last_escalations(conn, [row["id"] for row in batch])
            workflows = {
                key: registry.get(conn, *key) for key in {(r["workflow_name"], r["workflow_version"]) for r in batch}
            }
        for row in batch:
            if not workflows[(row["workflow_name"], row["workflow_version"])].transitions_from(
                row["state"], "escalate"
            ):
                continue
            since = max(row["due_date"], previous.get(row["id"], row["due_date"]))
            late = calendar.working_days_between(since, today)
            if late < overdue_working_days:
                continue
            escalated += _escalate(engine, row, actor, now, recorded, late, since)


def _last_escalations(conn: Any, case_ids: list[int]) -> dict[int, date]:
    rows = conn.execute(
        select(EVENTS.c.case_id, func.max(EVENTS.c.effective_at))
        .where(EVENTS.c.trigger == "escalate", EVENTS.c.case_id.in_(case_ids))
        .group_by(EVENTS.c.case_id)
    ).all()
    return {case_id: clock.local_date(clock.ensure_aware(moment)) for case_id, moment in rows}


def _escalate(engine: Engine, row: Any, actor: Actor, now: datetime, recorded: datetime, late: int, since: date) -> int:
    try:
        apply_trigger(
            engine,
            case_id=row["id"],
            actor=actor,
            trigger="escalate",
            expected_version=row["version"],
            note="自动提级（超期督办）",
            data={"reason": f"超期{late}个工作日未办结（期限 {row['due_date'].isoformat()}），自动提级督办"},
            effective_at=now,
            now=recorded,
        )
    except SKIPPED as exc:
        logger.info("case %s not escalated: %s", row["id"], getattr(exc, "code", type(exc).__name__))
        return 0
    except Exception:  # one broken case must not stop the escalation of all the others
        logger.exception("case %s not escalated: unexpected failure, skipped", row["id"])
        return 0
    logger.info("case %s escalated from %s (%s working days late since %s)", row["id"], row["level"], late, since)
    return 1
