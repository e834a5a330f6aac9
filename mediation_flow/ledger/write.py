"""Writing checked ledger cases in bulk: the case numbers of each township and year reserved with one
counter bump, case ids taken as the database would give them, and one ``executemany`` per table."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, text
from sqlalchemy.engine import Dialect

from mediation_flow.cases import intake
from mediation_flow.ledger.bulk import Draft
from mediation_flow.store.db import Executor

_MISSING: Any = object()


class BulkInsert:
    """``INSERT INTO table (columns) VALUES (…)`` run by one DBAPI ``executemany`` on the caller's
    connection, each value converted by its column type's bind conversion as SQLAlchemy (and ``Prepared``)
    would; a date or datetime is converted once per value and a dict once per object (a batch repeats its
    times, and events share their data where it is the same)."""

    def __init__(self, table: Table, columns: tuple[str, ...]) -> None:
        self.table, self.columns = table, columns
        self._compiled: dict[str, tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None]]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, tuple[str, ...], list[Callable[[Any], Any] | None]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = insert(self.table).values({c: bindparam(c) for c in self.columns}).compile(dialect=dialect)
            sql, order = compiled.string, list(compiled.positiontup or ())
            if not compiled.positional:  # pyformat (psycopg): %(name)s, made positional
                order = re.findall(r"%\((\w+)\)s", sql)
                sql = re.sub(r"%\((\w+)\)s", "%s", sql)
            assert sorted(order) == sorted(self.columns), order
            processors = [self.table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in order]
            found = self._compiled[dialect.name] = (sql, tuple(order), processors)
        return found

    def run(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        sql, columns, processors = self._compile(conn.dialect)
        converters: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
            (i, p, {}) for i, p in enumerate(processors) if p is not None
        ]
        args = []
        pick = itemgetter(*columns)
        for row in rows:
            values = list(pick(row))
            for index, process, memo in converters:
                raw = values[index]
                kind = type(raw)
                # A date or datetime by value; a dict (JSON) by identity: the rows are alive and unchanged
                # for the whole call, and events share their data where it is the same.
                key = raw if kind is datetime or kind is date else id(raw) if kind is dict else None
                if key is None:
                    values[index] = process(raw)
                    continue
                converted = memo.get(key, _MISSING)
                if converted is _MISSING:
                    converted = memo[key] = process(raw)
                values[index] = converted
            args.append(values)
        if args:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.executemany(sql, args)
            finally:
                cursor.close()


_INSERT_CASE = BulkInsert(intake.CASES, ("id", *intake.CASE_COLUMNS))
_INSERT_PARTY = BulkInsert(intake.PARTIES, ("case_id", *intake.PartyIn.model_fields))
_INSERT_EVENT = BulkInsert(intake.EVENTS, intake.EVENT_COLUMNS)


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
    top = conn.execute(select(intake.CASES.c.id).order_by(intake.CASES.c.id.desc()).limit(1)).scalar()
    return list(range((top or 0) + 1, (top or 0) + 1 + count))


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
    _INSERT_EVENT.run(conn, events)
    return ids
