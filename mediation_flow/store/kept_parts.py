"""Answers about the parts of a whole (a county's townships), each kept with the mark it was worked out under.

A part's mark is a number that grows whenever the part's data changes (``year_sums.CHANGED``: the counts again of a
place's year), read before the answer is worked out. An equal mark later means nothing the answer was made from
has changed, so only the parts whose marks moved are worked out again: after one township's case changes, a
county's report folds that township's year, not the county's. Kept per process, the least recently used dropped
first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class KeptParts(Generic[T]):
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, tuple[int, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, whole: Hashable, marks: dict[str, int], work_out: Callable[[list[str]], dict[str, T]]
    ) -> dict[str, T]:
        """Part → answer for every part in ``marks`` (part → its mark now) of ``whole`` (what the parts belong to:
        a database, a year, rules): kept where the mark is unchanged, else from ``work_out(stale parts)``, which
        must answer for at least those (it may answer for more: those answers are kept too)."""
        found: dict[str, T] = {}
        with self._lock:
            for part, mark in marks.items():
                kept = self._kept.get((whole, part))
                if kept is not None and kept[0] == mark:
                    self._kept.move_to_end((whole, part))
                    found[part] = kept[1]
        stale = [part for part in marks if part not in found]
        if not stale:
            return found
        fresh = work_out(stale)
        with self._lock:
            for part, answer in fresh.items():
                if part in marks:
                    self._kept[(whole, part)] = (marks[part], answer)
                    self._kept.move_to_end((whole, part))
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return found | {part: fresh[part] for part in stale}

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
