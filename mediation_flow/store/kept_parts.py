"""Answers about the parts of a whole (a report's tallies of a place's parts), each kept with the mark it was worked
out under, in the process and in the database (``kept_part``).

A part's mark is a number that grows whenever the part's data changes (``year_sums.CHANGED``: the counts again of a
place's year), read before the answer is worked out. An equal mark later, under the same rules, means nothing the
answer was made from has changed, so only the parts whose marks moved are worked out again: after one township's
case changes, a county's report folds that township's year, not the county's. Kept in the database as well, what
one app process worked out serves the others and outlives a restart; kept in the process, the least recently used
dropped first, a kept answer costs no read.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from mediation_flow.store.db import write_transaction
from mediation_flow.store.tables import KEPT_PARTS

T = TypeVar("T")
_log = logging.getLogger(__name__)


class KeptParts(Generic[T]):
    def __init__(self, kind: str, encode: Callable[[T], str], decode: Callable[[str], T], size: int = 512) -> None:
        self.kind, self.encode, self.decode, self.size = kind, encode, decode, size
        self._kept: OrderedDict[Hashable, tuple[str, int, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, conn: Connection, rules: str, marks: dict[str, int], work_out: Callable[[list[str]], dict[str, T]]
    ) -> dict[str, T]:
        """Part key → answer for every part in ``marks`` (key → its mark now), worked out by ``rules``: kept where the
        mark is unchanged, else from ``work_out(stale keys)``, which must answer for at least those (it may answer
        for more: those answers are kept too). ``conn`` reads the kept rows; new answers are written in a
        transaction of their own (a failure to write is logged, the answers still given)."""
        whose = conn.engine.url.render_as_string(hide_password=True)
        found: dict[str, T] = {}
        with self._lock:
            for key, mark in marks.items():
                kept = self._kept.get((whose, key))
                if kept is not None and kept[:2] == (rules, mark):
                    self._kept.move_to_end((whose, key))
                    found[key] = kept[2]
        missing = [key for key in marks if key not in found]
        stored = self._read(conn, rules, {key: marks[key] for key in missing}) if missing else {}
        stale = [key for key in missing if key not in stored]
        fresh = work_out(stale) if stale else {}
        fresh = {key: answer for key, answer in fresh.items() if key in marks}
        self._keep(whose, rules, marks, stored | fresh)
        if fresh:
            self._write(conn, rules, {key: (marks[key], answer) for key, answer in fresh.items()})
        return found | stored | fresh

    def _read(self, conn: Connection, rules: str, marks: dict[str, int]) -> dict[str, T]:
        kp = KEPT_PARTS
        rows = conn.execute(
            select(kp.c.key, kp.c.mark, kp.c.body).where(
                kp.c.kind == self.kind, kp.c.key.in_(sorted(marks)), kp.c.rules == rules
            )
        )
        return {str(key): self.decode(body) for key, mark, body in rows if marks.get(str(key)) == int(mark)}

    def _keep(self, whose: str, rules: str, marks: dict[str, int], answers: dict[str, T]) -> None:
        with self._lock:
            for key, answer in answers.items():
                self._kept[(whose, key)] = (rules, marks[key], answer)
                self._kept.move_to_end((whose, key))
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def _write(self, conn: Connection, rules: str, answers: dict[str, tuple[int, T]]) -> None:
        kp = KEPT_PARTS
        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        rows = [{"kind": self.kind, "key": key, "rules": rules, "mark": mark, "body": self.encode(answer)}
                for key, (mark, answer) in sorted(answers.items())]  # fmt: skip
        upsert = dialect.insert(kp)
        upsert = upsert.on_conflict_do_update(
            index_elements=[kp.c.kind, kp.c.key],
            set_={"rules": upsert.excluded.rules, "mark": upsert.excluded.mark, "body": upsert.excluded.body},
        )
        try:
            with write_transaction(conn.engine) as writer:
                writer.execute(upsert, rows)
        except SQLAlchemyError:  # the answers stand; the next asker works them out again
            _log.warning("报表分项统计结果未能保存", exc_info=True)

    def clear(self) -> None:
        """Forget the answers kept in this process (those in the database stay)."""
        with self._lock:
            self._kept.clear()
