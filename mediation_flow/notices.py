"""In-app notices, derived from the event history and the deadlines (nothing is copied or queued):

- a case was assigned to you (``assign`` naming you);
- a case you handle was sent back or answered (法院驳回确认退回调解, 转出单位反馈);
- a case was escalated (提级) — yours, or any in your area if you supervise;
- a case became due soon (临期) or overdue (超期) — yours, or any in your area if you supervise.

Each notice has a moment; those after the user last opened the inbox (``notice_seen``) are unread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from mediation_flow import clock
from mediation_flow.models import Case, CaseEvent, NoticeSeen
from mediation_flow.policy import Actor
from mediation_flow.queries import scope_clause
from mediation_flow.vocabulary import Role
from mediation_flow.workdays import WorkdayCalendar, default_calendar
from mediation_flow.workflow.registry import REGISTRY

CASES, EVENTS, SEEN = Case.__table__, CaseEvent.__table__, NoticeSeen.__table__
EVENT_NOTICES = {
    "assign": "案件指派给您",
    "escalate": "案件已提级",
    "confirmation_rejected": "法院驳回司法确认，退回调解",
    "record_feedback": "转出单位已反馈",
}
MAX_NOTICES = 100
RECENT = timedelta(days=30)  # event notices older than this (by effective time) are history, not news


@dataclass(frozen=True)
class Notice:
    at: datetime
    kind: str  # a trigger name above, or "due_soon" / "overdue"
    text: str
    case_id: int
    number: str
    title: str
    unread: bool = False
    recorded: datetime | None = None  # when it entered the system (a back-dated entry is still news)


def seen_at(conn: Connection, user_id: int) -> datetime | None:
    value = conn.execute(select(SEEN.c.seen_at).where(SEEN.c.user_id == user_id)).scalar()
    return clock.ensure_aware(value) if value is not None else None


def mark_seen(conn: Connection, user_id: int, now: datetime) -> None:
    if conn.execute(update(SEEN).where(SEEN.c.user_id == user_id).values(seen_at=now)).rowcount == 0:
        conn.execute(insert(SEEN).values(user_id=user_id, seen_at=now))


def _mine(actor: Actor) -> Any:
    """Whose cases: a mediator's own; everyone else's whole area (scope)."""
    if actor.role == Role.MEDIATOR:
        return and_(scope_clause(actor), CASES.c.mediator_id == actor.id)
    return scope_clause(actor)


def _event_notices(conn: Connection, actor: Actor, now: datetime, limit: int) -> list[Notice]:
    wanted = [t for t in EVENT_NOTICES if t != "assign" or actor.role == Role.MEDIATOR]
    where = [
        EVENTS.c.trigger.in_(wanted),
        or_(EVENTS.c.actor_id.is_(None), EVENTS.c.actor_id != actor.id),
        scope_clause(actor),
    ]
    if actor.role == Role.MEDIATOR:
        where.append(CASES.c.mediator_id == actor.id)
    where.append(EVENTS.c.effective_at >= now - RECENT)
    rows = conn.execute(
        select(
            EVENTS.c.trigger,
            EVENTS.c.effective_at,
            EVENTS.c.recorded_at,
            EVENTS.c.data,
            CASES.c.id,
            CASES.c.number,
            CASES.c.title,
        )
        .select_from(EVENTS.join(CASES, CASES.c.id == EVENTS.c.case_id))
        .where(*where)
        .order_by(EVENTS.c.effective_at.desc())
        .limit(limit)
    ).all()
    return [
        Notice(
            clock.ensure_aware(r.effective_at),
            r.trigger,
            EVENT_NOTICES[r.trigger],
            r.id,
            r.number,
            r.title,
            recorded=clock.ensure_aware(r.recorded_at),
        )
        for r in rows
        if r.trigger != "assign" or (r.data or {}).get("mediator_id") == actor.id
    ]


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=clock.LOCAL_TZ).astimezone(UTC)


def _became_due_soon(due: date, days: int, calendar: WorkdayCalendar) -> date:
    """The first day on which ``due`` is within ``days`` working days (the 临期 horizon)."""
    day = due
    while day > due - timedelta(days=30) and calendar.working_days_between(day - timedelta(days=1), due) <= days:
        day -= timedelta(days=1)
    return day


def _due_notices(
    conn: Connection, actor: Actor, today: date, due_soon_days: int, calendar: WorkdayCalendar, limit: int
) -> list[Notice]:
    if actor.role not in (Role.MEDIATOR, Role.SUPERVISOR, Role.ADMIN):
        return []
    horizon = calendar.add_working_days(today, due_soon_days + 1) - timedelta(days=1)
    rows = conn.execute(
        select(CASES.c.id, CASES.c.number, CASES.c.title, CASES.c.due_date)
        .where(_mine(actor), CASES.c.state.notin_(REGISTRY.final_states()), CASES.c.due_date <= horizon)
        .order_by(CASES.c.due_date.desc())
        .limit(limit)
    ).all()
    found: list[Notice] = []
    became: dict[date, date] = {}  # rows share due dates: each one's horizon is walked once
    for r in rows:
        if r.due_date < today:
            at, kind, text = (
                _local_start(r.due_date + timedelta(days=1)),
                "overdue",
                f"已超期（{r.due_date.month}月{r.due_date.day}日到期）",
            )
        else:
            if r.due_date not in became:
                became[r.due_date] = _became_due_soon(r.due_date, due_soon_days, calendar)
            start = became[r.due_date]
            at, kind, text = _local_start(start), "due_soon", f"临期（{r.due_date.month}月{r.due_date.day}日到期）"
        found.append(Notice(at, kind, text, r.id, r.number, r.title))
    return found


def notices(
    conn: Connection,
    actor: Actor,
    *,
    now: datetime,
    due_soon_days: int = 2,
    calendar: WorkdayCalendar | None = None,
    limit: int = MAX_NOTICES,
) -> list[Notice]:
    """The user's notices, newest first, each marked unread when it came after the last visit."""
    calendar = calendar or default_calendar()
    today = clock.local_date(now)
    last = seen_at(conn, actor.id) if actor.id is not None else None
    found = _event_notices(conn, actor, now, limit) + _due_notices(conn, actor, today, due_soon_days, calendar, limit)
    found.sort(key=lambda n: n.at, reverse=True)
    return [
        Notice(n.at, n.kind, n.text, n.case_id, n.number, n.title, unread=last is None or (n.recorded or n.at) > last)
        for n in found[:limit]
    ]


def unread_count(
    conn: Connection, actor: Actor, *, now: datetime, due_soon_days: int = 2, calendar: WorkdayCalendar | None = None
) -> int:
    return sum(1 for n in notices(conn, actor, now=now, due_soon_days=due_soon_days, calendar=calendar) if n.unread)
