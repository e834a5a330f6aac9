"""The case ledger (台账): one row per case taken in during the period, with the standard columns.

Outcome columns come from each case's events recorded by ``as_of`` (first agreement, last visit,
confirmation, closing), so the ledger of a past year is as reproducible as its figures. Corrections (更正)
recorded by ``as_of`` are honoured as the report honours them (``stats.corrected``): a corrected case's row
(title, category, village, registration date), its parties' names and its steps' times and agreed amount are
read as the record stood at ``as_of``. Values are typed
for the spreadsheet: days as dates, the agreed amount as yuan (:class:`~mediation_flow.display.exports.Yuan`),
counts as integers, an unknown value as None (an empty cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from mediation_flow.accounts.personal_data import mask_text
from mediation_flow.cases.corrections import CORRECT, as_recorded, parties_as_recorded
from mediation_flow.display.exports import Yuan
from mediation_flow.display.labels import labels, ledger_columns
from mediation_flow.places.jurisdictions import village_names, village_of
from mediation_flow.places.reference import reference_labels
from mediation_flow.stats import corrected
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


def _fold(events: list[dict[str, Any]]) -> _Fold:
    f = _Fold()
    for e in events:
        data, trigger = e["data"] or {}, e["trigger"]
        f.state = e["to_state"]
        if trigger == "register":
            f.level = data.get("level", "")
        elif trigger == "escalate":
            f.level = data.get("to_level", f.level)
        elif trigger == "start_mediation" and not f.mediation_started:
            f.mediation_started = _day(e["effective_at"])
        elif trigger in OUTCOME and (not f.outcome or trigger == "reach_agreement"):
            f.outcome = OUTCOME[trigger]
            if trigger == "reach_agreement":
                f.agreed_on = f.agreed_on or _day(e["effective_at"])
                f.amount = _yuan(data.get("amount"))
                f.agreed_level = f.agreed_level or f.level
        elif trigger == "confirmation_granted":
            f.confirmed = f"已确认（{data.get('ruling_number', '')}）"
        elif trigger == "record_visit":
            f.visited_on = _visit_day(data.get("visited_on"), e["effective_at"])
            f.performed = data.get("performed", "")
        elif trigger in ("close_resolved", "close"):
            f.closed_on = _day(e["effective_at"])
    return f


def _cases(conn: Connection, scope: Scope) -> list[Any]:
    """The cases registered in the period within the subtree, by registration time, corrections honoured."""
    statement = (
        select(CASES, USERS.c.display_name.label("mediator_name"), EVENTS.c.effective_at.label("registered_effective"))
        .select_from(
            CASES.join(EVENTS, (EVENTS.c.case_id == CASES.c.id) & (EVENTS.c.seq == 1)).outerjoin(
                USERS, USERS.c.id == CASES.c.mediator_id
            )
        )
        .where(scope.in_period(EVENTS), scope.in_subtree())
    )  # over case_event itself: ``corrected.rows`` reads it rebuilt for the corrected cases
    found = list(corrected.rows(conn, statement, scope.as_of))
    return sorted(found, key=lambda c: (clock.ensure_aware(c.registered_effective), c.id))


def _history(
    conn: Connection, ids: list[int], as_of: datetime
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, list[str]]]:
    """Each case's events recorded by ``as_of`` and its parties' names, as the record stood then."""
    events: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    parties: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        query = select(EVENTS).where(EVENTS.c.case_id.in_(chunk)).order_by(EVENTS.c.case_id, EVENTS.c.seq)
        for e in conn.execute(query).mappings():
            events[e["case_id"]].append(dict(e))
        names = select(PARTIES.c.id, PARTIES.c.case_id, PARTIES.c.name).where(PARTIES.c.case_id.in_(chunk))
        for p in conn.execute(names.order_by(PARTIES.c.id)).mappings():
            parties[p["case_id"]].append(dict(p))
    for case_id, found in events.items():
        if any(e["trigger"] == CORRECT for e in found):
            found = as_recorded({}, found, as_of)[1]
            parties[case_id] = parties_as_recorded(parties[case_id], found, as_of)
        events[case_id] = [e for e in found if clock.ensure_aware(e["recorded_at"]) <= as_of]
    return events, {i: [p["name"] for p in found] for i, found in parties.items()}


def ledger_rows(conn: Connection, scope: Scope) -> list[list[Any]]:
    """The ledger of ``scope``: cases registered in the period within the subtree, by registration time. An ID or
    phone number typed into a title or summary is masked (``mask_text``), as every list shows it: the workbook
    goes on to the county, and a full view is only ever the logged 查看完整信息 or a printout."""
    cases = _cases(conn, scope)
    events, parties = _history(conn, [c.id for c in cases], scope.as_of)
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
                mask_text(c.title),
                reference.get("category", {}).get(c.category, c.category),
                reference.get("source", {}).get(c.source, c.source),
                village,
                "、".join(parties[c.id]),
                c.people_involved,
                mask_text(c.summary or ""),
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
