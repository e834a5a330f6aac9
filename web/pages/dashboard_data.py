"""The supervisor dashboard's figures, read from the case rows and the event history of the user's subtree.

Definitions (shown on the page too):
- 办理中: cases not in a final state, now.      - 超期: of those, the nearest running deadline has passed.
- 新登记 (month): cases registered in that month (local time).
- 调解成功 (month): ``close_resolved`` events effective in that month.
- The year's headline (新登记, 达成协议, 调解终结, 化解矛盾成功率, 提级): ``mediation_flow.stats`` — the same
  figures and written definitions as the annual report (docs/statistics.md).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.queries import scope_clause
from mediation_flow.places.jurisdictions import all_places, get_by_id
from mediation_flow.places.reference import load_reference
from mediation_flow.stats.figures import headline
from mediation_flow.stats.scope import year_scope
from mediation_flow.store import clock
from mediation_flow.store.models import Case, CaseEvent
from mediation_flow.vocabulary import LEVEL_LABELS, Level
from mediation_flow.workflow.registry import REGISTRY
from web.pages.listing import village_names, village_of

CASES, EVENTS = Case.__table__, CaseEvent.__table__
MONTHS = [f"{m}月" for m in range(1, 13)]


def _year_of(moment: Any) -> int:
    return clock.ensure_aware(moment).astimezone(clock.LOCAL_TZ).year


def _month_of(moment: Any) -> int:
    return clock.ensure_aware(moment).astimezone(clock.LOCAL_TZ).month


def _headline(conn: Connection, actor: Actor, year: int) -> dict[str, Any]:
    """The year's headline figures as the annual report defines them (mediation_flow.stats)."""
    if actor.jurisdiction_id is not None:
        code = get_by_id(conn, actor.jurisdiction_id).code
    else:
        code = next(p.code for p in all_places(conn) if p.parent_id is None)
    return headline(conn, year_scope(conn, code=code, year=year))


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
    official = _headline(conn, actor, year)
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
        "headline": official,
        "success_rate": "—" if official["success_rate"] is None else f"{official['success_rate']}%",
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
