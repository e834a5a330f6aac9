"""In-app notices, derived from the event history and the deadlines (nothing is copied or queued):

- a case was assigned to you (``assign`` naming you);
- a case you handle was sent back or answered (法院驳回确认退回调解, 转出单位反馈);
- a case was escalated (提级) — yours, or any in your area if you supervise;
- a case became due soon (临期) or overdue (超期) — yours, or any in your area if you supervise;
- a partner agency's user: a case referred to the agency (at the moment of referral), the township's result
  on a case the agency referred in.
- a dispute you registered was accepted, assigned, referred, resolved, closed or not accepted (the grid
  worker hears back; ``registrant_notices`` in the glossary).

Each notice has a moment; those after the user last opened the inbox (``notice_seen``) are unread (新), unless
the user has since acted on the notice's case: a step of their own on it, entered after the notice's event (a later
``seq`` of the case; typed by them, not recorded for them by a clerk) reads an event notice — a partner agency's
user who 签收s, 退回s or 反馈s a referral has read its notice. A due notice (临期, 超期) stands while the case is due
and stays as it is. Apart from that, each notice is marked handled (已处理) one by one (``notice_handled``): opening
the inbox marks none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, literal, or_, select, update

from mediation_flow.accounts.personal_data import mask_text
from mediation_flow.accounts.policy import Actor, Permission, allows, own_cases_only
from mediation_flow.cases.queries import scope_clause
from mediation_flow.display.formats import cn_month_day, days_left
from mediation_flow.display.labels import labels
from mediation_flow.errors import NotFound
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.counters import latest_due
from mediation_flow.store.db import write_transaction
from mediation_flow.store.reads import reads
from mediation_flow.store.sqlbits import in_township, township_id
from mediation_flow.store.tables import CASES, EVENTS
from mediation_flow.store.tables import NOTICES_HANDLED as HANDLED
from mediation_flow.store.tables import NOTICES_SEEN as SEEN
from mediation_flow.store.unchanged import KeptWhileUnchanged
from mediation_flow.workflow.deadlines import days_until, running_unit
from mediation_flow.workflow.registry import REGISTRY
from mediation_flow.workflow.workdays import WorkdayCalendar, default_calendar

EVENT_NOTICES = labels("event_notices")  # the triggers that make news, and what the notice says
AGENCY_NOTICES = labels("agency_notices")  # the same for a partner agency's users (三调对接)
REGISTRANT_NOTICES = labels("registrant_notices")  # news of a dispute one registered
AGENCY_REGISTRANT_NOTICES = labels("agency_registrant_notices")  # the same to an agency: a dispute it referred in
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
    handled: bool = False
    acted: bool = False  # the user has acted on the case since (an event notice: read whatever ``notice_seen`` says)


def seen_at(conn: Connection, user_id: int) -> datetime | None:
    value = conn.execute(select(SEEN.c.seen_at).where(SEEN.c.user_id == user_id)).scalar()
    return clock.ensure_aware(value) if value is not None else None


def mark_seen(conn: Connection, user_id: int, now: datetime) -> None:
    if conn.execute(update(SEEN).where(SEEN.c.user_id == user_id).values(seen_at=now)).rowcount == 0:
        conn.execute(insert(SEEN).values(user_id=user_id, seen_at=now))


def _mine(actor: Actor) -> Any:
    """Whose cases: a mediator's own; everyone else's whole area (scope), the township's in the due-date index's
    form too. The user's id is bound as ``me``."""
    if own_cases_only(actor):
        return and_(scope_clause(actor), CASES.c.mediator_id == bindparam("me"))
    township = in_township(CASES.c.jurisdiction_path, actor.scope_path)
    return scope_clause(actor) if township is None else and_(scope_clause(actor), township)


# The notice queries, built once per kind of user, area and inbox length (the header counts on every page);
# the user, the moment and the horizon are bound per call.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _statement(key: tuple[Any, ...], build: Any) -> Any:
    found = _STATEMENTS.get(key)
    if found is None:
        if len(_STATEMENTS) > 1024:
            _STATEMENTS.clear()
        found = _STATEMENTS[key] = build()
    return found


def _notice_texts(actor: Actor) -> Any:
    return AGENCY_NOTICES if actor.is_agency_user else EVENT_NOTICES


def _registrant_texts(actor: Actor) -> Any:
    """What the news of a dispute one registered says: an agency's user registered a referral (您单位转来的纠纷…,
    for 移交, 委派 and 转办 alike)."""
    return AGENCY_REGISTRANT_NOTICES if actor.is_agency_user else REGISTRANT_NOTICES


def _acted_seq() -> Any:
    """The ``seq`` of the user's (``me``) latest step on the notice's case that they typed themselves (a clerk's
    entry for them is the clerk's), None if none: a notice of an earlier ``seq`` is read."""
    own = EVENTS.alias("own")
    return (
        select(func.max(own.c.seq))
        .where(own.c.case_id == CASES.c.id, func.coalesce(own.c.recorded_by, own.c.actor_id) == bindparam("me"))
        .scalar_subquery()
        .label("acted_seq")
    )


def _acted(row: Any) -> bool:
    return row.acted_seq is not None and row.acted_seq > row.seq


def _is_unread(entered: datetime, last: datetime | None, acted: bool) -> bool:
    """A notice entered at ``entered`` is unread: after the inbox was last read, and its case not acted on since."""
    return not acted and (last is None or entered > last)


def _event_statement(actor: Actor, limit: int, *, registrant: bool = False) -> Any:
    """The newest ``limit`` event notices of the user's cases, or (``registrant``) of the cases they registered,
    each with the user's latest own step on its case (``acted_seq``)."""
    mediator = own_cases_only(actor)
    texts = REGISTRANT_NOTICES if registrant else _notice_texts(actor)
    wanted = [t for t in texts if t != "assign" or mediator or registrant]
    where = [
        EVENTS.c.trigger.in_(wanted),
        or_(EVENTS.c.actor_id.is_(None), EVENTS.c.actor_id != bindparam("me")),
        scope_clause(actor),
    ]
    if registrant:
        where.append(CASES.c.created_by == bindparam("me"))
    elif mediator:
        where.append(CASES.c.mediator_id == bindparam("me"))
    where.append(EVENTS.c.effective_at >= bindparam("since"))
    return (
        select(
            EVENTS.c.trigger,
            EVENTS.c.data,
            EVENTS.c.effective_at,
            EVENTS.c.recorded_at,
            EVENTS.c.seq,
            CASES.c.id,
            CASES.c.number,
            CASES.c.title,
            literal(registrant).label("mine"),
            _acted_seq(),
        )
        .select_from(EVENTS.join(CASES, CASES.c.id == EVENTS.c.case_id))
        .where(*where)
        .order_by(EVENTS.c.effective_at.desc())
        .limit(limit)
    )


def _event_rows(conn: Connection, actor: Actor, now: datetime, limit: int) -> list[Any]:
    """The newest ``limit`` event-notice rows, before the assign filter (the inbox and the count: one list):
    the user's cases' news, and the news of the disputes they registered that they would not hear otherwise."""
    params = {"me": actor.id, "since": now - RECENT}
    rows = []
    for registrant in (False, True):
        key = (
            "events",
            own_cases_only(actor),
            actor.scope_path,
            actor.is_agency_user,
            actor.agency_id,
            limit,
            registrant,
        )
        statement = _statement(key, lambda r=registrant: _event_statement(actor, limit, registrant=r))
        rows.append(list(conn.execute(statement, params).all()))
    heard = {(r.id, r.trigger, r.effective_at) for r in rows[0] if _for_actor(r, actor)}
    merged = rows[0] + [r for r in rows[1] if (r.id, r.trigger, r.effective_at) not in heard]
    merged.sort(key=lambda r: r.effective_at, reverse=True)
    return merged[:limit]


def _for_actor(row: Any, actor: Actor) -> bool:
    """An ``assign`` is news only to the mediator it names (or to whoever registered the dispute)."""
    return bool(row.mine) or row.trigger != "assign" or (row.data or {}).get("mediator_id") == actor.id


def _event_notices(conn: Connection, actor: Actor, now: datetime, limit: int) -> list[Notice]:
    rows = _event_rows(conn, actor, now, limit)
    return [
        Notice(
            clock.ensure_aware(r.effective_at),
            r.trigger,
            _registrant_texts(actor)[r.trigger] if r.mine else _notice_texts(actor)[r.trigger],
            r.id,
            r.number,
            mask_text(r.title),
            recorded=clock.ensure_aware(r.recorded_at),
            acted=_acted(r),
        )
        for r in rows
        if _for_actor(r, actor)
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
    if not allows(actor, Permission.DEADLINE_NOTICES):
        return []
    rows = conn.execute(_due_query(actor, limit, by_day=False), _due_params(actor, today, due_soon_days, calendar))
    found: list[Notice] = []
    moments: dict[date, datetime] = {}  # rows share due dates: each one's moment is worked out once
    for r in rows:
        if r.due_date not in moments:
            moments[r.due_date] = _due_moment(r.due_date, today, due_soon_days, calendar)
        at = moments[r.due_date]
        unit = running_unit(REGISTRY.get(conn, r.workflow_name, r.workflow_version).spec, r.clocks or {}, r.due_date)
        left = days_left(days_until(unit, r.due_date, today, calendar), unit)  # as the queue and the case page say
        if r.due_date < today:
            kind, text = "overdue", f"{left}（{cn_month_day(r.due_date)}到期）"
        else:
            kind, text = "due_soon", f"临期，{left}（{cn_month_day(r.due_date)}到期）"
        found.append(Notice(at, kind, text, r.id, r.number, mask_text(r.title)))
    return found


_UNIT_COLUMNS = (CASES.c.clocks, CASES.c.workflow_name, CASES.c.workflow_version)  # which days a due date counts


def _due_query(actor: Actor, limit: int, *, by_day: bool) -> Any:
    """The ``limit`` open cases due latest within the 临期 horizon (bound as ``horizon``): their ids, numbers,
    titles and due dates, or (``by_day``) how many of them fall due on each date."""
    finals = frozenset(REGISTRY.final_states())
    key = ("due", own_cases_only(actor), actor.scope_path, actor.agency_id, finals, limit, by_day)

    def build() -> Any:
        latest = (
            select(CASES.c.id, CASES.c.number, CASES.c.title, CASES.c.due_date, *_UNIT_COLUMNS)
            .where(_mine(actor), CASES.c.state.notin_(finals), CASES.c.due_date <= bindparam("horizon"))
            .order_by(CASES.c.due_date.desc())
            .limit(limit)
        )
        if not by_day:
            return latest
        due = latest.with_only_columns(CASES.c.due_date).subquery()
        return select(due.c.due_date, func.count()).group_by(due.c.due_date)

    return _statement(key, build)


def _due_per_day(conn: Connection, actor: Actor, limit: int, params: dict[str, Any]) -> list[tuple[date, int]]:
    """How many of the ``limit`` latest-due cases fall due on each date: from the kept counts when the user's cases
    are a township's (or a smaller place's: the counts keep place, state and due date, not a mediator or an agency),
    else counted from the cases (a county's: the due-date index gives its latest cases first and stops at the limit,
    sooner than summing every township's kept rows)."""
    if own_cases_only(actor) or actor.is_agency_user or township_id(actor.scope_path) is None:
        return [(day, int(many)) for day, many in conn.execute(_due_query(actor, limit, by_day=True), params)]
    finals = REGISTRY.final_states()
    return latest_due(conn, actor.scope_path, not_in=finals, until=params["horizon"], limit=limit)


def _due_params(actor: Actor, today: date, due_soon_days: int, calendar: WorkdayCalendar) -> dict[str, Any]:
    return {"me": actor.id, "horizon": calendar.add_working_days(today, due_soon_days + 1) - timedelta(days=1)}


def _due_moment(due: date, today: date, due_soon_days: int, calendar: WorkdayCalendar) -> datetime:
    """When a case due on ``due`` became news: the day after it (超期), or the start of its 临期 horizon."""
    if due < today:
        return _local_start(due + timedelta(days=1))
    return _local_start(_became_due_soon(due, due_soon_days, calendar))


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
    found = found[:limit]
    done = handled(conn, actor, {n.case_id for n in found})
    return [
        replace(
            n,
            unread=_is_unread(n.recorded or n.at, last, n.acted),
            handled=(n.case_id, n.kind, n.at) in done,
        )
        for n in found
    ]


def handled(conn: Connection, actor: Actor, case_ids: set[int]) -> set[tuple[int, str, datetime]]:
    """The notices of ``case_ids`` the user marked handled: (case, kind, moment)."""
    if actor.id is None or not case_ids:
        return set()
    query = select(HANDLED.c.case_id, HANDLED.c.kind, HANDLED.c.at).where(
        HANDLED.c.user_id == actor.id, HANDLED.c.case_id.in_(case_ids)
    )
    return {(r.case_id, r.kind, clock.ensure_aware(r.at)) for r in conn.execute(query)}


def mark_handled(engine: Engine, actor: Actor, *, case_id: int, kind: str, at: datetime) -> Notice:
    """Mark one of the user's current notices handled (已处理); NotFound for a notice they do not have."""
    now = clock.utcnow()
    at = clock.ensure_aware(at)
    with write_transaction(engine) as conn:
        current = notices(conn, actor, now=now, due_soon_days=get_settings().due_soon_working_days)
        found = next((n for n in current if (n.case_id, n.kind, n.at) == (case_id, kind, at)), None)
        if found is None or actor.id is None:
            raise NotFound("该通知不存在或已过期")
        if not found.handled:
            conn.execute(insert(HANDLED).values(user_id=actor.id, case_id=case_id, kind=kind, at=at, handled_at=now))
    return replace(found, handled=True)


def unread_count(
    conn: Connection,
    actor: Actor,
    *,
    now: datetime,
    due_soon_days: int = 2,
    calendar: WorkdayCalendar | None = None,
    limit: int = MAX_NOTICES,
) -> int:
    """How many of ``notices(...)`` are unread, without building them (the header shows it on every page).

    The same selection as ``notices``: the newest ``limit`` event notices (moment, recorded moment) and the
    ``limit`` latest-due cases, counted per due date (cases due the same day share moment and read state),
    merged newest first in the same stable order, of which the first ``limit`` count.
    """
    return _unread(conn, actor, now=now, due_soon_days=due_soon_days, calendar=calendar, limit=limit)[0]


def _unread(
    conn: Connection,
    actor: Actor,
    *,
    now: datetime,
    due_soon_days: int,
    calendar: WorkdayCalendar | None,
    limit: int,
) -> tuple[int, datetime | None]:
    """``unread_count``'s count, and the moment it may change with no write: when the oldest event notice it read
    leaves the 30 days of news (the due notices change only with the day)."""
    calendar = calendar or default_calendar()
    today = clock.local_date(now)
    last = seen_at(conn, actor.id) if actor.id is not None else None
    # (moment, when it entered the system, acted on since, how many): the inbox's sort key, its read keys, its weight
    found: list[tuple[datetime, datetime, bool, int]] = []
    oldest: datetime | None = None
    for r in _event_rows(conn, actor, now, limit):
        at = clock.ensure_aware(r.effective_at)
        oldest = at if oldest is None else min(oldest, at)
        if _for_actor(r, actor):
            found.append((at, clock.ensure_aware(r.recorded_at), _acted(r), 1))
    if allows(actor, Permission.DEADLINE_NOTICES):
        for day, many in _due_per_day(conn, actor, limit, _due_params(actor, today, due_soon_days, calendar)):
            at = _due_moment(day, today, due_soon_days, calendar)
            found.append((at, at, False, many))
    found.sort(key=lambda n: n[0], reverse=True)  # stable, like the inbox: events first among equal moments
    left, unread = limit, 0
    for _at, entered, acted, many in found:
        taken = min(many, left)
        if _is_unread(entered, last, acted):
            unread += taken
        left -= taken
        if not left:
            break
    return unread, None if oldest is None else oldest + RECENT


# The header's count, kept while nothing is written (store.unchanged): a page view reads one token instead of
# the four statements above. The day is in the key (the due notices and their moments change with it).
_HEADER_COUNTS: KeptWhileUnchanged[int] = KeptWhileUnchanged()


def header_unread(engine: Engine, actor: Actor) -> int:
    """The unread count the page header shows."""
    now, days = clock.utcnow(), get_settings().due_soon_working_days
    key = (actor, clock.local_date(now), days)
    with reads(engine) as conn:
        return _HEADER_COUNTS.get_until(
            conn, key, now, lambda: _unread(conn, actor, now=now, due_soon_days=days, calendar=None, limit=MAX_NOTICES)
        )


def open_inbox(engine: Engine, actor: Actor) -> list[Notice]:
    """The user's notices as of now (reading them writes nothing: :func:`mark_all_seen` does, on request)."""
    with reads(engine) as conn:
        return notices(conn, actor, now=clock.utcnow(), due_soon_days=get_settings().due_soon_working_days)


def mark_all_seen(engine: Engine, actor: Actor) -> None:
    """全部标为已读: every notice up to now counts as seen."""
    if actor.id is not None:
        with write_transaction(engine) as conn:
            mark_seen(conn, actor.id, clock.utcnow())
