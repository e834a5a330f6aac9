"""What each case of a drill-down contributes to its figure: the agreement's amount (and their sum), the
mediation limit and whether it was met, how the mediation ended, the visit's finding, the days to close, or
the date of the event that counted. A rate's drill-down lists both sets: the cases of its numerator and the
rest of its denominator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, select

from mediation_flow.display.formats import cn_date, money, number
from mediation_flow.display.labels import label
from mediation_flow.stats.definitions import load_definitions
from mediation_flow.stats.drilldown import case_ids
from mediation_flow.stats.figures import (
    SOURCE,
    C,
    E,
    close_days_query,
    event_conditions,
    grouped_conditions,
    judged_clock,
    latest_per_case,
)
from mediation_flow.stats.report_text import RATE_PARTS
from mediation_flow.stats.scope import Scope
from mediation_flow.store.sqlbits import fen, json_text
from mediation_flow.store.tables import EVENTS

AMOUNT = {"agreement_amount"}
ON_TIME = {"on_time", "on_time_judged", "on_time_rate", "court_on_time", "court_on_time_judged", "court_on_time_rate"}
OUTCOME = {"success_rate", "resolved", "mediation_concluded"}
VISIT = {"performance_rate", "performed", "visited"}
DAYS = {"closed", "days_to_close_avg", "days_to_close_p90"}


@dataclass
class DrillSet:
    """One list of a drill-down: its title, its case ids (ascending) and what each contributes."""

    title: str
    ids: list[int]
    contributions: dict[int, str] = field(default_factory=dict)
    total_text: str = ""  # the sum of the contributions, where they add up (协议涉及金额)


def column_title(figure: str) -> str:
    """The header of the contribution column."""
    if figure in AMOUNT:
        return "协议金额"
    if figure in ON_TIME:
        return "调解期限与终结"
    if figure in OUTCOME:
        return "调解结果"
    if figure in VISIT:
        return "回访履行情况"
    if figure in DAYS:
        return "登记至结案"
    return "计入日期"


def drill_sets(conn: Connection, scope: Scope, figure: str, key: str | None, *, limit: int) -> list[DrillSet]:
    """The drill-down's lists: for a rate its numerator's cases and the rest of its denominator's; else one.
    Contributions are read for the first ``limit`` cases of each list; a sum covers every case of it."""
    definitions = load_definitions().figures
    if figure in RATE_PARTS and key is None:
        numerator, denominator = RATE_PARTS[figure]
        counted = case_ids(conn, scope, numerator)
        kept = set(counted)
        rest = [i for i in case_ids(conn, scope, denominator) if i not in kept]
        sets = [
            DrillSet(f"计入分子：{definitions[numerator].label}", counted),
            DrillSet(f"分母中的其余案件：{definitions[denominator].label}，未计入分子", rest),
        ]
    else:
        sets = [DrillSet("", case_ids(conn, scope, figure, key))]
    for found in sets:
        found.contributions = contributions(conn, scope, figure, found.ids[:limit])
        if figure in AMOUNT:
            found.total_text = money(sum(a for a in _amount_fen(conn, scope, found.ids).values() if a is not None))
    return sets


def contributions(conn: Connection, scope: Scope, figure: str, ids: list[int]) -> dict[int, str]:
    """Case id → what it contributes to ``figure``, as a person reads it."""
    if not ids:
        return {}
    for kinds, reader in READERS:
        if figure in kinds:
            return reader(conn, scope, ids)
    return _counted_on(conn, scope, figure, ids)


def _last_event(scope: Scope, condition: Any, ids: list[int]) -> Any:
    """Each case's last event in the period meeting ``condition`` (the row itself, as ``e2``)."""
    last = latest_per_case(scope, condition)
    e2 = EVENTS.alias("e2")
    joined = last.join(e2, and_(e2.c.case_id == last.c.case_id, e2.c.seq == last.c.seq))
    return e2, select(e2.c.case_id).select_from(joined).where(last.c.case_id.in_(ids))


def _amount_fen(conn: Connection, scope: Scope, ids: list[int]) -> dict[int, int | None]:
    """The amount (fen) of each case's last agreement in the period, as 协议涉及金额 sums it."""
    e2, query = _last_event(scope, event_conditions(scope)["resolved"], ids)
    rows = conn.execute(query.add_columns(fen(json_text(e2.c.data, "amount"))))
    return {int(case_id): None if amount is None else int(amount) for case_id, amount in rows}


def _amounts(conn: Connection, scope: Scope, ids: list[int]) -> dict[int, str]:
    return {c: "未载明金额" if a is None else money(a) for c, a in _amount_fen(conn, scope, ids).items()}


def _on_time(conn: Connection, scope: Scope, ids: list[int]) -> dict[int, str]:
    due, stopped = judged_clock()
    out = {}
    for case_id, due_text, stopped_text in conn.execute(select(C.c.id, due, stopped).where(C.c.id.in_(ids))):
        if not due_text:
            out[int(case_id)] = "无调解期限（不计入分母）"
            continue
        limit = date.fromisoformat(str(due_text)[:10])
        if not stopped_text:
            out[int(case_id)] = f"调解期限至{cn_date(limit)}，尚未终结"
            continue
        ended = date.fromisoformat(str(stopped_text)[:10])
        late = (ended - limit).days
        verdict = "按期" if late <= 0 else f"超期{late}天"
        out[int(case_id)] = f"调解期限至{cn_date(limit)}，{cn_date(ended)}终结，{verdict}"
    return out


def _outcomes(conn: Connection, scope: Scope, ids: list[int]) -> dict[int, str]:
    e2, query = _last_event(scope, event_conditions(scope)["mediation_concluded"], ids)
    out = {int(c): f"{label('outcomes', t)}（{cn_date(at)}）" for c, t, at in conn.execute(
        query.add_columns(e2.c.trigger, e2.c.effective_at))}  # fmt: skip
    missing = [i for i in ids if i not in out]  # agreed outside a mediation (no 调解终结 event): the agreement
    if missing:
        e3, agreed = _last_event(scope, event_conditions(scope)["resolved"], missing)
        out.update(
            {int(c): f"达成协议（{cn_date(at)}）" for c, at in conn.execute(agreed.add_columns(e3.c.effective_at))}
        )
    return out


def _visits(conn: Connection, scope: Scope, ids: list[int]) -> dict[int, str]:
    e2, query = _last_event(scope, event_conditions(scope)["visited"], ids)
    rows = conn.execute(query.add_columns(json_text(e2.c.data, "performed"), e2.c.effective_at))
    return {int(c): f"{cn_date(at)}回访：{label('performed', p) or '未记录'}" for c, p, at in rows}


def _days(conn: Connection, scope: Scope, ids: list[int]) -> dict[int, str]:
    closes = close_days_query(scope, conn.dialect.name)
    rows = conn.execute(select(closes.c.case_id, closes.c.days).where(closes.c.case_id.in_(ids)))
    return {int(c): f"{number(round(float(days), 1))}天" for c, days in rows}


def _counted_on(conn: Connection, scope: Scope, figure: str, ids: list[int]) -> dict[int, str]:
    """The date of the first event in the period that counted the case (where the figure is a plain rule)."""
    grouped = grouped_conditions(scope, conn.dialect.name)
    condition = grouped[figure][0] if figure in grouped else event_conditions(scope).get(figure)
    if condition is None:
        return {}
    query = (
        select(E.c.case_id, func.min(E.c.effective_at))
        .select_from(SOURCE)
        .where(scope.in_scope(), condition, E.c.case_id.in_(ids))
        .group_by(E.c.case_id)
    )
    return {int(c): cn_date(at) for c, at in conn.execute(query)}


READERS: list[tuple[set[str], Callable[[Connection, Scope, list[int]], dict[int, str]]]] = [
    (AMOUNT, _amounts),
    (ON_TIME, _on_time),
    (OUTCOME, _outcomes),
    (VISIT, _visits),
    (DAYS, _days),
]
