"""更正 (corrections) beside the step: what a correction reads of the case, what it writes besides the case row
(a party's column and the parties' match keys), and the record as it stood at a moment.

The rules of a correction are in ``workflow.correction_rules``; the engine runs it as any step. Events are never
rewritten: :func:`as_recorded` rebuilds a case and its events as recorded at ``at`` — corrections recorded by
then applied to the events they name, later ones undone on the case row — for the report's ``as_of``, for
``check`` and for the next correction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from mediation_flow.cases.people import LOOKBACK, find_matches, probes_for, village_id_of, village_ids, write_party_keys
from mediation_flow.places.jurisdictions import Place, get_by_id
from mediation_flow.places.subtree import in_subtree
from mediation_flow.store import clock
from mediation_flow.store.fast import dict_rows
from mediation_flow.store.tables import EVENTS, JURISDICTIONS, PARTIES, PARTY_KEYS
from mediation_flow.workflow.correction_rules import CORRECT, DERIVED, FIRST, PARTY_FIELDS
from mediation_flow.workflow.fields import parse_money_fen

__all__ = ["CORRECT", "StoredFacts", "as_recorded", "parties_as_recorded", "write_beside"]


def _aware(event: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(event)
    for key in ("effective_at", "recorded_at"):
        if row.get(key) is not None:
            row[key] = clock.ensure_aware(row[key])
    row["data"] = dict(row.get("data") or {})
    return row


def as_recorded(
    case: Mapping[str, Any], events: Sequence[Mapping[str, Any]], at: datetime | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The case row and its events (by seq) as the record stood at ``at`` (None: now): the corrections recorded by
    then applied to the steps they name (time, agreement amount, the registration's count of earlier disputes),
    the corrections recorded after it undone on the case row, newest first. Events are returned whatever their
    recorded time (the caller filters), each correction applied only if recorded by ``at``."""
    rows = sorted((_aware(e) for e in events), key=lambda e: e["seq"])
    by_seq = {e["seq"]: e for e in rows}
    row = dict(case)
    fixes = [e for e in rows if e["trigger"] == CORRECT]
    for fix in fixes:
        if at is None or fix["recorded_at"] <= at:
            _apply(by_seq, fix["data"])
    for fix in reversed(fixes):
        if at is not None and fix["recorded_at"] > at:
            row.update(_undo(fix["data"]))
    return row, rows


def parties_as_recorded(
    parties: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]], at: datetime
) -> list[dict[str, Any]]:
    """The case's parties (rows with ``id``) as the record stood at ``at``: the corrections of a party recorded
    after it undone, newest first (its name, ID number or phone, and what the number brought with it)."""
    rows = [dict(p) for p in parties]
    by_id = {p["id"]: p for p in rows}
    later = [e for e in events if e["trigger"] == CORRECT and clock.ensure_aware(e["recorded_at"]) > at]
    for fix in sorted(later, key=lambda e: e["seq"], reverse=True):
        data = fix["data"] or {}
        party = by_id.get(int(data.get("party") or 0))
        if party is None or data.get("what") not in PARTY_FIELDS:
            continue
        party[PARTY_FIELDS[data["what"]]] = data.get("was") or None
        for column, (was, _now) in (data.get("derived") or {}).items():
            party[column] = date.fromisoformat(was) if column == "birth_date" and was else was
    return rows


def _apply(by_seq: dict[int, dict[str, Any]], data: Mapping[str, Any]) -> None:
    what = data.get("what")
    target = by_seq.get(int(data.get("event") or 0))
    if what == "event_time" and target is not None:
        target["effective_at"] = clock.ensure_aware(datetime.fromisoformat(data["value"]))
    elif what == "agreement_amount" and target is not None:
        target["data"] = {**target["data"], "amount": data["value"]}
    if data.get("repeat_disputes") and FIRST in by_seq:
        first = by_seq[FIRST]
        count = data["repeat_disputes"][1]
        first["data"] = {k: v for k, v in first["data"].items() if k != "repeat_disputes"}
        if count:
            first["data"]["repeat_disputes"] = count


def _undo(data: Mapping[str, Any]) -> dict[str, Any]:
    """The case columns a correction changed, as they were before it."""
    what = data.get("what")
    undone: dict[str, Any] = {}
    if what in ("title", "summary", "category"):
        undone[what] = data.get("was")
    elif what == "amount":
        undone["amount_fen"] = parse_money_fen(data["was"]) if data.get("was") is not None else None
    for column, (old, _new) in (data.get("columns") or {}).items():
        undone[column] = clock.ensure_aware(datetime.fromisoformat(old)) if column == "registered_at" else old
    return undone


class StoredFacts:
    """What a correction reads of the case, from the database inside the engine's transaction."""

    def __init__(self, conn: Connection, case: Mapping[str, Any], categories: Mapping[str, str]) -> None:
        self.conn, self.case, self._categories = conn, case, categories

    def parties(self) -> list[dict[str, Any]]:
        query = select(PARTIES).where(PARTIES.c.case_id == self.case["id"]).order_by(PARTIES.c.id)
        return dict_rows(self.conn.execute(query))

    def events(self) -> list[dict[str, Any]]:
        query = select(EVENTS).where(EVENTS.c.case_id == self.case["id"]).order_by(EVENTS.c.seq)
        return as_recorded(self.case, dict_rows(self.conn.execute(query)))[1]

    def _township(self) -> Place:
        return get_by_id(self.conn, self.case["township_id"])

    def place(self, text: str) -> Place | None:
        township = self._township()
        found = self.conn.execute(
            select(JURISDICTIONS.c.id)
            .where(
                or_(JURISDICTIONS.c.code == text, JURISDICTIONS.c.name == text),
                in_subtree(JURISDICTIONS.c.path, township.path),
                JURISDICTIONS.c.active.is_(True),
            )
            .order_by(JURISDICTIONS.c.code)
            .limit(1)
        ).scalar()
        return get_by_id(self.conn, found) if found is not None else None

    def place_by_id(self, place_id: int) -> Place | None:
        return get_by_id(self.conn, place_id)

    def categories(self) -> Mapping[str, str]:
        return self._categories

    def repeats(self, parties: list[dict[str, Any]], at: datetime) -> int:
        """How many other cases of the township, registered in the two years up to ``at``, share a party."""
        village = village_id_of(self.case["jurisdiction_path"], village_ids(self.conn))
        found = find_matches(
            self.conn,
            probes_for(parties, village),
            scope_path=self._township().path,
            since=at - LOOKBACK,
            until=at,
            exclude_case=self.case["id"],
        )
        return len({m.case_id for probe in found for m in probe.matches})


def write_beside(conn: Connection, case_id: int, party: Mapping[str, Any] | None) -> None:
    """What a correction writes besides the case row and its event: the party's corrected column, and the
    case's parties' match keys afresh (a name, number, place or registration time may have changed)."""
    if party is not None:
        values = {k: v for k, v in party.items() if k in (*PARTY_FIELDS.values(), *DERIVED)}
        conn.execute(update(PARTIES).where(PARTIES.c.id == party["id"], PARTIES.c.case_id == case_id).values(values))
    conn.execute(delete(PARTY_KEYS).where(PARTY_KEYS.c.case_id == case_id))
    write_party_keys(conn, [case_id])
