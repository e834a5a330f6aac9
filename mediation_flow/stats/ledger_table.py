"""The case ledger (台账): one row per case taken in during the period, with the standard columns.

Outcome columns come from each case's events recorded by ``as_of`` (first agreement, last visit,
confirmation, closing), so the ledger of a past year is as reproducible as its figures. Values are typed
for the spreadsheet: days as dates, the agreed amount as yuan (:class:`~mediation_flow.display.exports.Yuan`),
counts as integers, an unknown value as None (an empty cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from mediation_flow.display.exports import Yuan
from mediation_flow.display.labels import labels, ledger_columns
from mediation_flow.places.jurisdictions import village_names, village_of
from mediation_flow.places.reference import reference_labels
from mediation_flow.stats.scope import Scope
from mediation_flow.store import clock
from mediation_flow.store.tables import CASES, EVENTS, PARTIES, USERS
from mediation_flow.vocabulary import Level
from mediation_flow.workflow.registry import REGISTRY

COLUMNS = ledger_columns()  # the headers, from the glossary
OUTCOME = labels("outcomes")  # the ending trigger → 调解结果
PERFORMED = labels("performed")


@dataclass
class _Fold:
    state: str = ""
    mediation_started: date | None = None
    outcome: str = ""
    agreed_on: date | None = None
    amount: Yuan | None = None
    confirmed: str = ""
    visited_on: date | None = None
    performed: str = ""
    closed_on: date | None = None
    level: str = ""
    agreed_level: str = ""


def _day(moment: Any) -> date:
    return clock.local_date(clock.ensure_aware(moment))


def _yuan(value: Any) -> Yuan | None:
    """The amount an agreement event holds (yuan as decimal text) as a number; None if there is none."""
    try:
        return Yuan(Decimal(str(value))) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _visit_day(value: Any, moment: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return _day(moment)


def _fold(events: list[Any]) -> _Fold:
    f = _Fold()
    for e in events:
        data = e.data or {}
        f.state = e.to_state
        if e.trigger == "register":
            f.level = data.get("level", "")
        elif e.trigger == "escalate":
            f.level = data.get("to_level", f.level)
        elif e.trigger == "start_mediation" and not f.mediation_started:
            f.mediation_started = _day(e.effective_at)
        elif e.trigger in OUTCOME and (not f.outcome or e.trigger == "reach_agreement"):
            f.outcome = OUTCOME[e.trigger]
            if e.trigger == "reach_agreement":
                f.agreed_on = f.agreed_on or _day(e.effective_at)
                f.amount = _yuan(data.get("amount"))
                f.agreed_level = f.agreed_level or f.level
        elif e.trigger == "confirmation_granted":
            f.confirmed = f"已确认（{data.get('ruling_number', '')}）"
        elif e.trigger == "record_visit":
            f.visited_on = _visit_day(data.get("visited_on"), e.effective_at)
            f.performed = data.get("performed", "")
        elif e.trigger in ("close_resolved", "close"):
            f.closed_on = _day(e.effective_at)
    return f


def ledger_rows(conn: Connection, scope: Scope) -> list[list[Any]]:
    """The ledger of ``scope``: cases registered in the period within the subtree, by registration time."""
    reg = EVENTS.alias("reg")
    cases = conn.execute(
        select(CASES, USERS.c.display_name.label("mediator_name"))
        .select_from(
            CASES.join(reg, (reg.c.case_id == CASES.c.id) & (reg.c.seq == 1)).outerjoin(
                USERS, USERS.c.id == CASES.c.mediator_id
            )
        )
        .where(scope.in_period(reg), scope.in_subtree())
        .order_by(reg.c.effective_at, CASES.c.id)
    ).all()
    ids = [c.id for c in cases]
    events: dict[int, list[Any]] = {i: [] for i in ids}
    parties: dict[int, list[str]] = {i: [] for i in ids}
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for e in conn.execute(
            select(EVENTS)
            .where(EVENTS.c.case_id.in_(chunk), EVENTS.c.recorded_at <= scope.as_of)
            .order_by(EVENTS.c.case_id, EVENTS.c.seq)
        ):
            events[e.case_id].append(e)
        for p in conn.execute(select(PARTIES.c.case_id, PARTIES.c.name).where(PARTIES.c.case_id.in_(chunk))):
            parties[p.case_id].append(p.name)
    reference = reference_labels(conn)
    villages = village_names(conn)
    rows = []
    for n, c in enumerate(cases, start=1):
        f = _fold(events[c.id])
        village = village_of(c.jurisdiction_path, villages) or "乡镇本级"
        states = REGISTRY.get(conn, c.workflow_name, c.workflow_version).spec.states
        level = f.agreed_level or f.level
        rows.append(
            [
                n,
                c.number,
                _day(c.registered_at),
                c.title,
                reference.get("category", {}).get(c.category, c.category),
                reference.get("source", {}).get(c.source, c.source),
                village,
                "、".join(parties[c.id]),
                c.people_involved,
                c.summary,
                c.mediator_name or "",
                reference.get("venue", {}).get(c.venue or "", c.venue or ""),
                f.mediation_started,
                f.outcome or ("调解中" if f.mediation_started else "未开始调解"),
                f.agreed_on,
                f.amount,
                f.confirmed,
                f.visited_on,
                PERFORMED.get(f.performed, ""),
                f.closed_on,
                states[f.state].label if f.state in states else f.state,
                Level(level).label if level in Level._value2member_map_ else "",
            ]
        )
    return rows
