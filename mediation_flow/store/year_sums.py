"""The dashboard's year figures kept incrementally: per-case contributions and their sums per place.

``case_figure`` holds what each case contributes to each year's figures (``Contribution`` rows, made by a
function the caller passes: the statistics' own rules, which this module never reads), ``place_figure`` their
sums per place, year, figure and key. Database triggers (migration 0019) queue a case in ``figure_queue`` with
every event written to it (a back-dated step and a correction 更正 included) and with every change of the case
row's counted facts (a place's move), in the writing transaction, whichever path wrote it. :func:`refreshed`
counts the queued cases again, replaces their contributions, moves the sums by the difference and removes
exactly the queue rows it read, in one transaction, one refresh at a time (SQLite: the write lock; PostgreSQL: an
advisory lock), then reads a subtree's sums in the transaction that found the queue empty: so what it returns
counts every event committed before that moment, and a subtree's year is a few hundred rows to add up, however
many cases it holds.

When the rules' key differs from the one the contributions were counted by (a new release, changed figure
settings, or a new database: migration 0019 leaves it empty), every case is queued and counted again.

Every count of a case again also raises the sum ``CHANGED`` of each (year, place) the case contributed to before or
contributes to now: a place's year whose ``CHANGED`` is as it was has had no case of its counted again since, so
what was worked out from that year's events of its cases still holds (the county report's kept tallies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mediation_flow.places.subtree import in_subtree
from mediation_flow.store import clock
from mediation_flow.store.db import write_transaction
from mediation_flow.store.sqlbits import child_path
from mediation_flow.store.tables import CASE_FIGURES, CASES, EVENTS, FIGURE_QUEUE, FIGURE_STATE, PLACE_FIGURES

Contribution = tuple[int, int, str, str, str, int]  # case, year, the case's place path, figure, key, n
Contribute = Callable[[Connection, list[int]], Iterable[Contribution]]
QUEUE_ROWS = 4_000  # queue rows read per transaction (PostgreSQL queues a row per write; SQLite one per case)
CASES_PER_BATCH = 1_000  # cases counted per transaction: a long first count leaves room for the writers
_LOCK_ID = 0x5EA50019  # PostgreSQL advisory lock: one refresh at a time
CHANGED = "~changed"  # the sum counting the counts again of a place's year (it only grows)


@dataclass(frozen=True)
class Sums:
    """A subtree's kept sums of one year: (child path, figure, key, n), counting every event committed by
    ``as_of``; ``recorded_until`` is the latest recorded time of the events counted (None: none yet)."""

    as_of: datetime
    recorded_until: datetime | None
    rows: list[tuple[str, str, str, int]]


def refreshed(engine: Engine, path: str, year: int, contribute: Contribute, rules: str) -> Sums:
    """The year's sums of the subtree at ``path`` by child place, once every queued case is counted again."""
    while True:
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_LOCK_ID)))
            state = conn.execute(select(FIGURE_STATE).where(FIGURE_STATE.c.id == 1)).mappings().one()
            if state["rules"] != rules:
                _count_all_again(conn, rules)
                continue
            queued = list(conn.execute(select(FIGURE_QUEUE.c.id, FIGURE_QUEUE.c.case_id).order_by(FIGURE_QUEUE.c.id)
                                       .limit(QUEUE_ROWS)))  # fmt: skip
            if queued:
                _count_again(conn, queued, contribute, state["recorded_until"])
                if conn.execute(select(FIGURE_QUEUE.c.id).limit(1)).first() is not None:
                    continue  # more to count: in the next transaction, so that writers get their turn
            until = conn.execute(select(FIGURE_STATE.c.recorded_until).where(FIGURE_STATE.c.id == 1)).scalar()
            moment = clock.utcnow()  # the queue is empty: every event committed by now is counted
            return Sums(max(moment, until) if until else moment, until, _sums(conn, path, year))


def mark(rows: Iterable[tuple[str, str, str, int]]) -> int:
    """The subtree's ``CHANGED`` total in sums read by :func:`refreshed`: it grows whenever a case of the subtree's
    year is counted again."""
    return sum(n for _child, figure, _key, n in rows if figure == CHANGED)


def still_counted(conn: Connection, path: str, year: int, marked: int) -> bool:
    """Whether sums read with the mark ``marked`` still count every committed event of the subtree's year: no case
    is queued to be counted again, and none of the year's cases of the subtree was counted again since. The queue
    is read first: a change committed before that read is still queued, or was counted by a refresh that committed
    before it and so moved the mark read after it."""
    if conn.execute(select(FIGURE_QUEUE.c.id).limit(1)).first() is not None:
        return False
    pf = PLACE_FIGURES
    now = select(func.coalesce(func.sum(pf.c.n), 0)).where(
        pf.c.year == year, pf.c.figure == CHANGED, in_subtree(pf.c.path, path)
    )
    return int(conn.execute(now).scalar_one()) == marked


def changes(conn: Connection, path: str, year: int) -> dict[str, int]:
    """Place path → its ``CHANGED`` mark of ``year``, for every place of the subtree at ``path`` whose cases
    contributed to that year."""
    pf = PLACE_FIGURES
    query = select(pf.c.path, pf.c.n).where(pf.c.year == year, pf.c.figure == CHANGED, in_subtree(pf.c.path, path))
    return {str(p): int(n) for p, n in conn.execute(query)}


def _sums(conn: Connection, path: str, year: int) -> list[tuple[str, str, str, int]]:
    pf = PLACE_FIGURES
    child = child_path(conn.dialect.name, pf.c.path, path)
    keys = (child, pf.c.figure, pf.c.key)
    query = select(*keys, func.sum(pf.c.n)).where(pf.c.year == year, in_subtree(pf.c.path, path)).group_by(*keys)
    return [(str(c), str(f), str(k), int(n)) for c, f, k, n in conn.execute(query) if n]


def _count_all_again(conn: Connection, rules: str) -> None:
    """Forget every contribution and queue every case (counted in batches by the following transactions)."""
    conn.execute(delete(CASE_FIGURES))
    conn.execute(delete(PLACE_FIGURES))
    conn.execute(delete(FIGURE_QUEUE))
    conn.execute(insert(FIGURE_QUEUE).from_select(["case_id"], select(CASES.c.id)))
    conn.execute(update(FIGURE_STATE).where(FIGURE_STATE.c.id == 1).values(rules=rules, recorded_until=None))


def _count_again(conn: Connection, queued: list[Any], contribute: Contribute, recorded_until: datetime | None) -> None:
    """Replace the queued cases' contributions (the first ``CASES_PER_BATCH`` of them) and move the sums by the
    difference; remove the queue rows read for them."""
    case_ids = sorted({int(case_id) for _, case_id in queued})[:CASES_PER_BATCH]
    chosen = set(case_ids)
    done = [int(queue_id) for queue_id, case_id in queued if case_id in chosen]
    cf = CASE_FIGURES
    moved: dict[tuple[int, str, str, str], int] = defaultdict(int)
    changed: set[tuple[int, str]] = set()  # (year, place) of the cases' contributions before and now
    for year, path, figure, key, n in conn.execute(
        select(cf.c.year, cf.c.path, cf.c.figure, cf.c.key, cf.c.n).where(cf.c.case_id.in_(case_ids))
    ):
        moved[(int(year), str(path), str(figure), str(key))] -= int(n)
        changed.add((int(year), str(path)))
    new = []
    for case_id, year, path, figure, key, n in contribute(conn, case_ids):
        new.append({"case_id": case_id, "year": year, "path": path, "figure": figure, "key": key, "n": n})
        moved[(year, path, figure, key)] += n
        changed.add((year, path))
    for year, path in changed:
        moved[(year, path, CHANGED, "")] += 1
    conn.execute(delete(cf).where(cf.c.case_id.in_(case_ids)))
    if new:
        conn.execute(insert(cf), new)
    _move_sums(conn, {key: n for key, n in moved.items() if n})
    latest = conn.execute(select(func.max(EVENTS.c.recorded_at)).where(EVENTS.c.case_id.in_(case_ids))).scalar()
    if latest is not None and (recorded_until is None or latest > recorded_until):
        conn.execute(update(FIGURE_STATE).where(FIGURE_STATE.c.id == 1).values(recorded_until=latest))
    conn.execute(delete(FIGURE_QUEUE).where(FIGURE_QUEUE.c.id.in_(done)))


def _move_sums(conn: Connection, moved: dict[tuple[int, str, str, str], int]) -> None:
    """Add each difference to its sum (a sum not kept yet starts at 0); drop the sums that fall to 0."""
    if not moved:
        return
    pf = PLACE_FIGURES
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(pf)
    upsert = upsert.on_conflict_do_update(
        index_elements=[pf.c.year, pf.c.path, pf.c.figure, pf.c.key], set_={"n": pf.c.n + upsert.excluded.n}
    )
    rows = [{"year": y, "path": p, "figure": f, "key": k, "n": n} for (y, p, f, k), n in sorted(moved.items())]
    conn.execute(upsert, rows)
    if any(n < 0 for n in moved.values()):
        lowered = [(y, p, f, k) for (y, p, f, k), n in moved.items() if n < 0]
        for start in range(0, len(lowered), 200):
            chunk = lowered[start : start + 200]
            years = sorted({y for y, *_ in chunk})
            paths = sorted({p for _, p, *_ in chunk})
            conn.execute(delete(pf).where(pf.c.n == 0, pf.c.year.in_(years), pf.c.path.in_(paths)))
