"""The supervisor dashboard's figures, read from the case rows and the event history of the user's subtree.

Definitions (shown on the page too):
- 办理中: cases not in a final state, now.      - 超期: of those, the nearest running deadline has passed.
- 新登记 (month): cases registered in that month (local time).
- 调解成功 (month): ``close_resolved`` events effective in that month.
- 调解成功率 (year): 调解成功结案 ÷ (调解成功结案 + 调解不成), counting the year's close_resolved and fail events.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from mediation_flow import clock
from mediation_flow.models import Case, CaseEvent
from mediation_flow.policy import Actor
from mediation_flow.queries import scope_clause
from mediation_flow.reference import load_reference
from mediation_flow.vocabulary import LEVEL_LABELS, Level
from mediation_flow.workflow.registry import REGISTRY
from web.pages.listing import village_names, village_of

CASES, EVENTS = Case.__table__, CaseEvent.__table__
MONTHS = [f"{m}月" for m in range(1, 13)]


def _year_of(moment: Any) -> int:
    return clock.ensure_aware(moment).astimezone(clock.LOCAL_TZ).year


def _month_of(moment: Any) -> int:
    return clock.ensure_aware(moment).astimezone(clock.LOCAL_TZ).month


def dashboard(conn: Connection, actor: Actor, *, year: int | None, day: date) -> dict[str, Any]:
    reference = load_reference(conn)
    finals = REGISTRY.final_states()
    spec = REGISTRY.current(conn, "people_mediation").spec
    scope = scope_clause(actor)
    rows = conn.execute(
        select(
            CASES.c.id,
            CASES.c.state,
            CASES.c.level,
            CASES.c.category,
            CASES.c.jurisdiction_path,
            CASES.c.registered_at,
            CASES.c.due_date,
        ).where(scope)
    ).all()
    years = sorted({_year_of(r.registered_at) for r in rows}, reverse=True)
    year = year or (years[0] if years else day.year)
    open_rows = [r for r in rows if r.state not in finals]
    escalated_open = conn.execute(
        select(func.count(func.distinct(EVENTS.c.case_id)))
        .select_from(EVENTS.join(CASES, CASES.c.id == EVENTS.c.case_id))
        .where(scope, EVENTS.c.trigger == "escalate", CASES.c.state.notin_(finals))
    ).scalar_one()
    events = conn.execute(
        select(EVENTS.c.trigger, EVENTS.c.effective_at)
        .select_from(EVENTS.join(CASES, CASES.c.id == EVENTS.c.case_id))
        .where(scope, EVENTS.c.trigger.in_(["close_resolved", "fail", "escalate"]))
    ).all()
    in_year = [e for e in events if _year_of(e.effective_at) == year]
    resolved = sum(1 for e in in_year if e.trigger == "close_resolved")
    failed = sum(1 for e in in_year if e.trigger == "fail")
    registered = [r for r in rows if _year_of(r.registered_at) == year]
    by_state = Counter(r.state for r in open_rows)
    villages = village_names(conn)
    new_month = Counter(_month_of(r.registered_at) for r in registered)
    resolved_month = Counter(_month_of(e.effective_at) for e in in_year if e.trigger == "close_resolved")
    categories = reference.get("category", {})
    return {
        "year": year,
        "years": years or [year],
        "open_total": len(open_rows),
        "overdue_total": sum(1 for r in open_rows if r.due_date is not None and r.due_date < day),
        "escalated_open": int(escalated_open),
        "registered_total": len(registered),
        "resolved_total": resolved,
        "failed_total": failed,
        "escalations_year": sum(1 for e in in_year if e.trigger == "escalate"),
        "success_rate": f"{resolved / (resolved + failed):.1%}" if resolved + failed else "—",
        "by_state": [(s.label, by_state[name]) for name, s in spec.states.items() if by_state.get(name)],
        "by_level": [(f"{LEVEL_LABELS[lv]}级", n) for lv in Level if (n := sum(1 for r in open_rows if r.level == lv))],
        "monthly": [(MONTHS[m - 1], new_month.get(m, 0), resolved_month.get(m, 0)) for m in range(1, 13)],
        "by_category": sorted(
            ((categories.get(c, c), n) for c, n in Counter(r.category for r in registered).items()),
            key=lambda x: -x[1],
        ),
        "by_village": sorted(
            Counter(village_of(r.jurisdiction_path, villages) or "乡镇直接受理" for r in registered).items(),
            key=lambda x: -x[1],
        ),
    }
