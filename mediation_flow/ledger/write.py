"""Writing checked ledger cases in bulk: the case numbers of each township and year reserved with one
counter bump, case ids taken as the database would give them, and one ``executemany`` per table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, text

from mediation_flow.cases import intake
from mediation_flow.cases.events import insert_events
from mediation_flow.cases.party_input import PartyIn
from mediation_flow.cases.people import write_party_keys
from mediation_flow.ledger.bulk import Draft
from mediation_flow.store.fast import BulkInsert, Executor
from mediation_flow.store.tables import CASES, PARTIES

_INSERT_CASE = BulkInsert(CASES, ("id", *intake.CASE_COLUMNS))
_INSERT_PARTY = BulkInsert(PARTIES, ("case_id", *PartyIn.model_fields))


def reserve_numbers(conn: Executor, counts: Mapping[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """The first case number of each (township id, year) for ``counts`` cases: one counter bump per key."""
    return {key: intake.reserve_case_seqs(conn, key[0], key[1], n) for key, n in sorted(counts.items()) if n}


def case_ids(conn: Any, count: int) -> list[int]:
    """``count`` new case ids, as the database would have given them one by one (the write lock is held)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('dispute_case', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        )
        return sorted(int(r[0]) for r in rows)
    top = conn.execute(select(CASES.c.id).order_by(CASES.c.id.desc()).limit(1)).scalar()
    return list(range((top or 0) + 1, (top or 0) + 1 + count))


def number_and_write(conn: Any, drafts: list[Draft]) -> list[int]:
    """Number the drafts (one counter bump per township and year) and write them; returns their case ids."""
    seqs = reserve_numbers(conn, Counter((d.township.id, d.case["year"]) for d in drafts))
    for draft in drafts:
        key = (draft.township.id, draft.case["year"])
        seq, seqs[key] = seqs[key], seqs[key] + 1
        draft.case.update(seq=seq, number=intake.case_number(key[1], draft.township, seq))
    return write(conn, drafts)


def write(conn: Any, drafts: list[Draft]) -> list[int]:
    """Insert the drafts (numbers already set) with one executemany per table; returns their case ids."""
    ids = case_ids(conn, len(drafts))
    parties, events = [], []
    for case_id, draft in zip(ids, drafts, strict=True):
        draft.case["id"] = case_id
        for row in draft.parties:
            row["case_id"] = case_id
        for row in draft.events:
            row["case_id"] = case_id
        parties += draft.parties
        events += draft.events
    _INSERT_CASE.run(conn, [d.case for d in drafts])
    _INSERT_PARTY.run(conn, parties)
    write_party_keys(conn, ids)
    insert_events(conn, events)
    return ids
