"""Legal time limits (clocks) of a case, advanced by each event and judged against ``today``.

A clock's state lives in the case row (``clocks`` JSON) and is folded forward by every transition,
so the stored due date is always what the events imply (``check`` re-folds and compares). Whether a
clock is on time, due soon or overdue is never stored: it is computed from ``today`` when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from mediation_flow.display.labels import labels
from mediation_flow.workflow.schema import ClockSpec, WorkflowSpec
from mediation_flow.workflow.workdays import WorkdayCalendar, default_calendar

Status = Literal["on_time", "due_soon", "overdue", "paused", "stopped"]
STATUS_LABELS = labels("clock_status")


def _due(spec: ClockSpec, clock: dict[str, Any], calendar: WorkdayCalendar) -> str:
    length = int(clock.get("duration", spec.duration)) + int(clock.get("extended", 0)) + int(clock.get("paused", 0))
    return _due_date(calendar, spec.unit, clock["started"], length)


@lru_cache(maxsize=4096)
def _due_date(calendar: WorkdayCalendar, unit: str, started: str, length: int) -> str:
    """Calendar arithmetic is pure (calendars are immutable), and a township's cases start on a few
    hundred distinct days a year: remember the answers instead of recounting working days each time."""
    start = date.fromisoformat(started)
    if unit == "working_days":
        return calendar.add_working_days(start, length).isoformat()
    return calendar.calendar_deadline(start, length).isoformat()


def _paused_length(spec: ClockSpec, since: date, until: date, calendar: WorkdayCalendar) -> int:
    if spec.unit == "working_days":
        return calendar.working_days_between(since, until)
    return max((until - since).days, 0)


def advance_clocks(
    workflow: WorkflowSpec,
    clocks: dict[str, Any],
    *,
    trigger: str,
    to_state: str,
    on: date,
    data: dict[str, Any],
    calendar: WorkdayCalendar | None = None,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The clocks after an event ``trigger`` that left the case in ``to_state`` on local date ``on``.

    ``attributes`` (the case's intake attributes) choose the length of a clock with ``duration_by``;
    that length is kept in the clock's state when it starts, so the due date never drifts.
    """
    calendar = calendar or default_calendar()
    result: dict[str, Any] = {name: dict(state) for name, state in clocks.items()}
    for name, spec in workflow.clocks.items():
        clock = result.get(name)
        if clock is not None and clock.get("stopped") is None and trigger in spec.stops_on:
            if clock.get("paused_since"):
                clock["paused"] = int(clock.get("paused", 0)) + _paused_length(
                    spec, date.fromisoformat(clock["paused_since"]), on, calendar
                )
                clock["paused_since"] = None
            clock["stopped"] = on.isoformat()
            continue
        if (
            trigger in spec.starts_on
            and (clock is None or clock.get("stopped") is not None)
            and (not spec.starts_if or spec.starts_with(data))
        ):
            started = data.get(spec.starts_from) if spec.starts_from else None
            clock = {
                "started": str(started or on.isoformat()),
                "paused": 0,
                "extended": 0,
                "paused_since": None,
                "stopped": None,
            }
            if spec.duration_by:
                clock["duration"] = spec.duration_for(attributes)
            result[name] = clock
        if clock is None or clock.get("stopped") is not None:
            continue
        if spec.extend and trigger == spec.extend.trigger and data.get("clock", name) == name:
            clock["extended"] = int(clock.get("extended", 0)) + int(data.get("days", 0))
        pausing = to_state in spec.pauses_in
        if pausing and not clock.get("paused_since"):
            clock["paused_since"] = on.isoformat()
        elif not pausing and clock.get("paused_since"):
            clock["paused"] = int(clock.get("paused", 0)) + _paused_length(
                spec, date.fromisoformat(clock["paused_since"]), on, calendar
            )
            clock["paused_since"] = None
        clock["due"] = _due(spec, clock, calendar)
    return result


def earliest_due(clocks: dict[str, Any]) -> date | None:
    """The nearest due date among running (not paused, not stopped) clocks: the queue's sort key."""
    dues = [
        date.fromisoformat(c["due"])
        for c in clocks.values()
        if c.get("due") and not c.get("stopped") and not c.get("paused_since")
    ]
    return min(dues) if dues else None


def days_until(unit: str, due: date, today: date, calendar: WorkdayCalendar) -> int:
    """Days from ``today`` to ``due`` in the clock's own unit (working or calendar days; negative: overdue by
    that many). The one count the case page, the queues, the lists and the notices show, each with its unit."""
    if unit != "working_days":
        return (due - today).days
    return _working_days_until(calendar, due, today)


@lru_cache(maxsize=4096)
def _working_days_until(calendar: WorkdayCalendar, due: date, today: date) -> int:
    """Counting working days walks the calendar day by day; a list's rows share a few hundred due dates."""
    if due >= today:
        return calendar.working_days_between(today, due)
    return -(calendar.working_days_between(due, today) or 1)


def running_unit(workflow: WorkflowSpec, clocks: dict[str, Any], due: date) -> str:
    """The unit of the running clock due on ``due`` (a case's nearest due date, ``earliest_due``)."""
    for name, clock in clocks.items():
        spec = workflow.clocks.get(name)
        running = not clock.get("stopped") and not clock.get("paused_since")
        if spec is not None and running and clock.get("due") == due.isoformat():
            return spec.unit
    return "calendar_days"


@dataclass(frozen=True)
class ClockView:
    name: str
    label: str
    basis: str
    unit: str
    status: Status
    due: date | None
    days_left: int | None
    extended: int
    paused_since: date | None = None  # 已中止: since when, how many days the clock had used, how many it has left,
    used: int | None = None  # and where its due date lands if the case resumes today (the date moves on by
    remaining: int | None = None  # the days paused; shown so that the move on resume is explained)
    resume_due: date | None = None
    paused_days: int | None = None  # calendar days since the pause began


def clock_views(
    workflow: WorkflowSpec,
    clocks: dict[str, Any],
    *,
    today: date,
    due_soon_days: int = 2,
    calendar: WorkdayCalendar | None = None,
) -> list[ClockView]:
    """Every clock a case has started, judged as of ``today`` (days left in the clock's own unit)."""
    calendar = calendar or default_calendar()
    views: list[ClockView] = []
    for name, spec in workflow.clocks.items():
        clock = clocks.get(name)
        if clock is None:
            continue
        due = date.fromisoformat(clock["due"]) if clock.get("due") else None
        status: Status
        days_left: int | None = None
        if clock.get("stopped"):
            status = "stopped"
        elif clock.get("paused_since"):
            status = "paused"
        else:
            assert due is not None
            days_left = days_until(spec.unit, due, today, calendar)
            if due < today:
                status = "overdue"
            elif calendar.working_days_between(today, due) <= due_soon_days:
                status = "due_soon"
            else:
                status = "on_time"
        extended = int(clock.get("extended", 0))
        view = ClockView(name, spec.label, spec.basis, spec.unit, status, due, days_left, extended)
        views.append(_paused_view(view, spec, clock, today, calendar) if status == "paused" else view)
    return views


def _paused_view(
    view: ClockView, spec: ClockSpec, clock: dict[str, Any], today: date, calendar: WorkdayCalendar
) -> ClockView:
    """A paused clock: the days it ran before the pause (less earlier pauses), what is left of its length, and
    its due date if the case resumed today (the pause so far added, as ``advance_clocks`` will add it)."""
    since = date.fromisoformat(clock["paused_since"])
    started = date.fromisoformat(clock["started"])
    ran = _paused_length(spec, started, since, calendar) - int(clock.get("paused", 0))
    length = int(clock.get("duration", spec.duration)) + view.extended
    pause = {**clock, "paused": int(clock.get("paused", 0)) + _paused_length(spec, since, max(today, since), calendar)}
    return replace(
        view,
        paused_since=since,
        used=max(ran, 0),
        remaining=length - max(ran, 0),
        resume_due=date.fromisoformat(_due(spec, pause, calendar)),
        paused_days=max((today - since).days, 0),
    )
