"""A part's fold as numbers that add up.

Everything the one pass keeps belongs to one case, and every case lies in one place, so a subtree's report can be
made from its parts' tallies added together: counts of cases or events per figure and per breakdown group, sums,
and the days to close (a list: its 90th percentile does not add up, its items do). Rates, labels and the order of
rows are made from the sum (``figures.figures_of``), so a county's tally is its townships' tallies added up, and
each township's tally is what its own report counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=dict)  # value name → n (cases, events, fen)
    groups: dict[str, dict[Any, int]] = field(default_factory=dict)  # breakdown → group key → n
    places: dict[str, int] = field(default_factory=dict)  # a case's path → the cases of the by-place figure
    close_days: list[Any] = field(default_factory=list)  # the days to close of every closing event

    def __add__(self, other: Tally) -> Tally:
        return total([self, other])


def _add_into(into: dict[Any, int], more: dict[Any, int]) -> dict[Any, int]:
    for key, n in more.items():
        into[key] = into.get(key, 0) + n
    return into


def total(tallies: list[Tally]) -> Tally:
    """The sum of ``tallies`` (an empty tally for none)."""
    found = Tally()
    for one in tallies:
        _add_into(found.counts, one.counts)
        for name, keyed in one.groups.items():
            _add_into(found.groups.setdefault(name, {}), keyed)
        _add_into(found.places, one.places)
        found.close_days.extend(one.close_days)
    return found


def to_text(tally: Tally) -> str:
    """``tally`` as JSON text that :func:`from_text` reads back equal (tuple keys as lists, exact decimals as
    strings, floats as JSON numbers)."""
    groups = [[name, [[list(k) if isinstance(k, tuple) else k, n] for k, n in keyed.items()]] for name, keyed in
              tally.groups.items()]  # fmt: skip
    days = [str(d) if isinstance(d, Decimal) else d for d in tally.close_days]
    return json.dumps({"counts": tally.counts, "groups": groups, "places": tally.places, "days": days})


def from_text(text: str) -> Tally:
    found = json.loads(text)
    groups = {name: {tuple(k) if isinstance(k, list) else k: n for k, n in keyed} for name, keyed in found["groups"]}
    days = [Decimal(d) if isinstance(d, str) else d for d in found["days"]]
    return Tally(found["counts"], groups, found["places"], days)
