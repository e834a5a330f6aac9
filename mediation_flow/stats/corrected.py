"""The report's rows with corrections (更正) honoured as recorded by ``as_of``.

Most cases were never corrected: their rows come from the report's statement as written, over the tables. The
events of the few corrected cases are read whole, rebuilt as the record stood at ``as_of``
(``cases.corrections.as_recorded``: a step's corrected time or amount, the case's facts before a later
correction) and the same statement runs over them (``store.asof``), so both parts count by the same rules.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, select

from mediation_flow.cases.corrections import CORRECT, as_recorded
from mediation_flow.stats.onepass import run
from mediation_flow.store.asof import rows_relation, swap
from mediation_flow.store.fast import dict_rows
from mediation_flow.store.tables import CASES, EVENTS

MAX_EVENTS = 400  # rebuilt events per statement (SQLite joins at most 500 SELECTs in one compound)


def corrected_case_ids(conn: Connection, among: Collection[int] | None = None) -> list[int]:
    """The corrected cases (of ``among``, when given)."""
    query = select(EVENTS.c.case_id).distinct().where(EVENTS.c.trigger == CORRECT)
    if among is not None:
        query = query.where(EVENTS.c.case_id.in_(sorted(among)))
    return sorted(conn.execute(query).scalars())


def rows(
    conn: Connection,
    statement: Any,
    as_of: datetime,
    *,
    among: Collection[int] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """The rows of ``statement`` (over ``case_event`` joined to ``dispute_case``, with its bound ``parameters``),
    corrections honoured; ``among``: the statement reads only these cases, so only those of them that were
    corrected are rebuilt."""
    ids = corrected_case_ids(conn, among)
    if not ids:
        yield from run(conn, statement, parameters)
        return
    yield from run(conn, statement.where(EVENTS.c.case_id.notin_(ids)), parameters)
    for cases, events in _rebuilt(conn, ids, as_of):
        dialect = conn.dialect.name
        relations = {EVENTS: rows_relation(EVENTS, events, dialect), CASES: rows_relation(CASES, cases, dialect)}
        yield from run(conn, swap(statement, relations), parameters)


def case_ids(conn: Connection, statement: Any, as_of: datetime) -> set[int]:
    """The case ids in the first column of ``statement`` (any shape: a drill-down's query), corrections honoured."""
    ids = corrected_case_ids(conn)
    sub = statement.subquery()
    first = sub.c[0]
    plain = select(first).where(first.notin_(ids)) if ids else select(first)
    found = {int(i) for i in conn.execute(plain).scalars()}
    for cases, events in _rebuilt(conn, ids, as_of) if ids else ():
        dialect = conn.dialect.name
        relations = {EVENTS: rows_relation(EVENTS, events, dialect), CASES: rows_relation(CASES, cases, dialect)}
        found |= {int(r[0]) for r in conn.execute(swap(statement, relations))}
    return found


def _rebuilt(
    conn: Connection, ids: list[int], as_of: datetime
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Batches of (case rows, event rows) as recorded at ``as_of``, at most ``MAX_EVENTS`` events a batch
    (a case's events are never split)."""
    for start in range(0, len(ids), 50):
        chunk = ids[start : start + 50]
        cases = {r["id"]: r for r in dict_rows(conn.execute(select(CASES).where(CASES.c.id.in_(chunk))))}
        query = select(EVENTS).where(EVENTS.c.case_id.in_(chunk)).order_by(EVENTS.c.case_id, EVENTS.c.seq)
        held: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
        for case_id, found in groupby(dict_rows(conn.execute(query)), key=lambda e: e["case_id"]):
            row, events = as_recorded(cases[case_id], list(found), as_of)
            if held[0] and len(held[1]) + len(events) > MAX_EVENTS:
                yield held
                held = ([], [])
            held[0].append(row)
            held[1].extend(events)
        if held[0]:
            yield held
