"""The maintained case counts (``case_count``, kept by database triggers: migration 0014), read per subtree.

Every insert, update or delete of a ``dispute_case`` row moves its (state, place, level, due date) count in
the same transaction, whichever path wrote it (a transition, a registration, the ledger's bulk write, a
place's move), so a count read here is the count of the rows, at every moment. Reading a subtree's open
cases sums a few hundred rows instead of counting tens of thousands of case index entries.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, select

from mediation_flow.places.subtree import in_subtree
from mediation_flow.store.sqlbits import child_path
from mediation_flow.store.tables import CASE_COUNTS, JURISDICTIONS

NO_DUE = date(9999, 12, 31)  # the key of a case without a running deadline (migration 0014)


class Count(NamedTuple):
    """Cases of one (child place, state, level, due date); ``child`` is the path of the subtree's child the
    cases lie under (the subtree's own path for cases registered at its root), or "" when not asked."""

    child: str
    state: str
    level: str
    due_date: date | None
    n: int


def counts(conn: Connection, path: str, states: Collection[str], *, by_child: bool = False) -> list[Count]:
    """The counts of the cases in ``states`` in the subtree at ``path``, by child place if ``by_child``."""
    jur = JURISDICTIONS
    child: Any = child_path(conn.dialect.name, jur.c.path, path) if by_child else None
    keys = [CASE_COUNTS.c.state, CASE_COUNTS.c.level, CASE_COUNTS.c.due_date]
    columns = [*keys, func.sum(CASE_COUNTS.c.n)]
    if child is not None:
        columns.insert(0, child.label("child"))
        keys.insert(0, child)
    query = (
        select(*columns)
        .select_from(CASE_COUNTS.join(jur, jur.c.id == CASE_COUNTS.c.jurisdiction_id))
        .where(CASE_COUNTS.c.state.in_(sorted(states)), CASE_COUNTS.c.n > 0, in_subtree(jur.c.path, path))
        .group_by(*keys)
    )
    found = []
    for row in conn.execute(query):
        head, (state, level, due, n) = (row[0], row[1:]) if by_child else ("", row)
        due = date.fromisoformat(due) if isinstance(due, str) else due
        found.append(Count(str(head), state, level, None if due == NO_DUE else due, int(n)))
    return found
