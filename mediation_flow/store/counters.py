"""The maintained case counts (``case_count``, kept by database triggers: migration 0016), read per subtree.

Every insert, update or delete of a ``dispute_case`` row moves its (state, place, level, due date) count in
the same transaction, whichever path wrote it (a transition, a registration, the ledger's bulk write, a
place's move), so a count read here is the count of the rows, at every moment. Reading a subtree's open
cases sums a few hundred rows instead of counting tens of thousands of case index entries.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Connection, case, func, select

from mediation_flow.places.subtree import in_subtree
from mediation_flow.store.sqlbits import child_path
from mediation_flow.store.tables import CASE_COUNTS, JURISDICTIONS

NO_DUE = date(9999, 12, 31)  # the key of a case without a running deadline (migration 0016)


class Count(NamedTuple):
    """Cases of one (child place, state, level): ``n`` of them, ``overdue`` of those with a deadline before the
    day asked; ``child`` is the path of the subtree's child the cases lie under (the subtree's own path for cases
    registered at its root), or "" when not asked."""

    child: str
    state: str
    level: str
    n: int
    overdue: int


def counts(conn: Connection, path: str, states: Collection[str], *, today: date, by_child: bool = False) -> list[Count]:
    """The counts of the cases in ``states`` in the subtree at ``path``, by child place if ``by_child``, with
    how many of them have a deadline before ``today`` (the day decides it; the rows keep the due date)."""
    jur, cc = JURISDICTIONS, CASE_COUNTS
    keys: list[Any] = [cc.c.state, cc.c.level]
    if by_child:
        keys.insert(0, child_path(conn.dialect.name, jur.c.path, path))
    overdue = func.sum(case((cc.c.due_date < today, cc.c.n), else_=0))  # NO_DUE is never before a real day
    query = (
        select(*keys, func.sum(cc.c.n), overdue)
        .select_from(cc.join(jur, jur.c.id == cc.c.jurisdiction_id))
        .where(cc.c.state.in_(sorted(states)), cc.c.n > 0, in_subtree(jur.c.path, path))
        .group_by(*keys)
    )
    found = []
    for row in conn.execute(query):
        head, rest = (str(row[0]), tuple(row[1:])) if by_child else ("", tuple(row))
        found.append(Count(head, str(rest[0]), str(rest[1]), int(rest[2]), int(rest[3] or 0)))
    return found


def due_total(conn: Connection, path: str | None, *, first: date | None, before: date, level: str | None = None) -> int:
    """How many cases in the subtree at ``path`` (everywhere if None) have a running deadline on or after
    ``first`` (any, if None) and before ``before``, of ``level`` if given: a queue's total from the kept counts
    (a few rows per place and due day) instead of one index entry per case."""
    jur, cc = JURISDICTIONS, CASE_COUNTS
    query = select(func.coalesce(func.sum(cc.c.n), 0)).where(cc.c.due_date < before, cc.c.n > 0)
    if first is not None:
        query = query.where(cc.c.due_date >= first)
    if level is not None:
        query = query.where(cc.c.level == level)
    if path is not None:
        place = select(jur.c.id).where(in_subtree(jur.c.path, path))
        query = query.where(cc.c.jurisdiction_id.in_(place.scalar_subquery()))
    return int(conn.execute(query).scalar_one())


def latest_due(
    conn: Connection, path: str | None, *, not_in: Collection[str], until: date, limit: int
) -> list[tuple[date, int]]:
    """The ``limit`` cases due latest on or before ``until`` in the subtree at ``path`` (everywhere if None), not in
    the states ``not_in``, counted per due date, latest first (the last date keeps only what fits in ``limit``):
    what ``ORDER BY due_date DESC LIMIT n`` over the cases counts per date, from the kept counts (a few rows per
    place and due day) instead of the cases' index entries and rows."""
    jur, cc = JURISDICTIONS, CASE_COUNTS
    query = (
        select(cc.c.due_date, func.sum(cc.c.n))
        .where(cc.c.due_date <= until, cc.c.n > 0, cc.c.state.notin_(sorted(not_in)))
        .group_by(cc.c.due_date)
        .order_by(cc.c.due_date.desc())
    )
    if path is not None:
        place = select(jur.c.id).where(in_subtree(jur.c.path, path))
        query = query.where(cc.c.jurisdiction_id.in_(place.scalar_subquery()))
    found, left = [], limit
    for day, n in conn.execute(query):
        if left <= 0:
            break
        taken = min(int(n), left)
        found.append((day, taken))
        left -= taken
    return found
