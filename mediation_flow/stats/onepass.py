"""Every event-based figure of the report from ONE pass over the period's events in the subtree.

One SQL statement reads the events effective in the period (and recorded by ``as_of``) of the subtree's
cases, and returns per event only what the figures need: a bit mask of the figure conditions it meets
(the very condition objects of :func:`~mediation_flow.stats.figures.event_conditions`, which the drill-down
uses too), the grouping keys of the breakdowns it counts in (the expressions of ``grouped_conditions``),
and a few per-event values (agreement amount, visit result, days to close, level at agreement, …). Python
folds the rows as they stream in: sets of case ids per figure and per group, so memory grows with the
township-year's cases, never with the database.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, literal, select

from mediation_flow.stats.definitions import settings
from mediation_flow.stats.scope import EVENTS

YIELD_PER = 5_000


@dataclass
class Folded:
    """What one pass produced: case ids per figure and per breakdown group, and the per-case picks."""

    cases: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    events: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    groups: dict[str, dict[str, set[int]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    group_events: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    last_agreement: dict[int, tuple[int, Any]] = field(default_factory=dict)  # case → (seq, amount in fen)
    last_visit: dict[int, tuple[int, Any]] = field(default_factory=dict)  # case → (seq, performed)
    first_agreement: dict[int, tuple[int, Any]] = field(default_factory=dict)  # case → (seq, level)
    close_days: list[Any] = field(default_factory=list)  # one per closing event (as the SQL join counted)
    petitions: dict[tuple[str, str | None], set[int]] = field(default_factory=lambda: defaultdict(set))


def _bit_mask(conditions: dict[str, Any], names: list[str]) -> Any:
    """Σ 2^i over the conditions the event meets (a NULL condition does not count, as in COUNT(DISTINCT CASE))."""
    terms = [case((conditions[name], literal(1 << i)), else_=literal(0)) for i, name in enumerate(names)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def event_rows(
    conditions: dict[str, Any], names: list[str], extras: dict[str, tuple[str, Any]], source: Any, where: Any
) -> tuple[Any, list[str]]:
    """The one statement: case_id, seq, the mask of ``names``' conditions, then one column per ``extras`` entry
    (name → (figure whose condition gates it, expression)), NULL where the gating condition is not met."""
    columns = [EVENTS.c.case_id, EVENTS.c.seq, _bit_mask(conditions, names).label("mask")]
    columns += [case((conditions[gate], expr), else_=None).label(name) for name, (gate, expr) in extras.items()]
    return select(*columns).select_from(source).where(where), list(extras)


def fold(rows: Iterable[Any], names: list[str], extras: list[str], grouped: dict[str, bool]) -> Folded:
    """Fold the streamed rows (case_id, seq, mask, *extras) into sets and per-case picks."""
    out = Folded()
    bits = [(1 << i, name) for i, name in enumerate(names)]
    group_index = [(extras.index(g), g, count_events) for g, count_events in grouped.items()]
    special = {name: extras.index(name) + 3 for name in ("amount", "performed", "days", "level", "channel")}
    flag_columns = [(extras.index(f"flag_{f}") + 3, f) for f in settings()["petition_flags"]]
    ref_in = extras.index("referral_in_resolved") + 3
    resolved, visited = 1 << names.index("resolved"), 1 << names.index("visited")
    petition = 1 << names.index("petition_cases_resolved")
    for row in rows:
        case_id, seq, mask = row[0], row[1], row[2]
        if not mask:
            continue
        for bit, name in bits:
            if mask & bit:
                out.cases[name].add(case_id)
                out.events[name] += 1
        for index, name, count_events in group_index:
            key = row[index + 3]
            if key is None:
                continue
            if count_events:
                out.group_events[name][str(key)] += 1
            else:
                out.groups[name][str(key)].add(case_id)
        if mask & resolved:
            if case_id not in out.last_agreement or seq > out.last_agreement[case_id][0]:
                out.last_agreement[case_id] = (seq, row[special["amount"]])
            if case_id not in out.first_agreement or seq < out.first_agreement[case_id][0]:
                out.first_agreement[case_id] = (seq, row[special["level"]])
        if mask & visited and (case_id not in out.last_visit or seq > out.last_visit[case_id][0]):
            out.last_visit[case_id] = (seq, row[special["performed"]])
        if row[special["days"]] is not None:
            out.close_days.append(row[special["days"]])
        if mask & petition:
            for index, flag in flag_columns:
                if row[index]:
                    out.petitions[(flag, row[special["channel"]])].add(case_id)
        if row[ref_in] is not None:
            out.groups["referral_in_resolved"][str(row[ref_in])].add(case_id)
    return out


def run(conn: Connection, statement: Any) -> Iterable[Any]:
    """Stream the statement's rows (a server-side cursor on PostgreSQL), in batches."""
    result = conn.execution_options(yield_per=YIELD_PER).execute(statement)
    for partition in result.partitions():
        yield from partition


def average_and_p90(days: list[Any]) -> tuple[float | None, float | None]:
    """(average, 90th percentile by nearest rank: the ⌈0.9n⌉-th smallest), one decimal each."""
    if not days:
        return None, None
    if all(isinstance(d, Decimal) for d in days):
        avg = float(sum(days, Decimal(0)) / len(days))
    else:
        avg = math.fsum(float(d) for d in days) / len(days)
    ordered = sorted(days)
    return round(avg, 1), round(float(ordered[math.ceil(0.9 * len(days)) - 1]), 1)


def petitions_by_flag(petitions: dict[tuple[str, str | None], set[int]]) -> tuple[dict[str, int], dict[str, int]]:
    """Resolved petitions by flag, and by ``flag:channel`` (channel order, no-channel first; flags as defined)."""
    flags = list(settings()["petition_flags"])
    by_flag = dict.fromkeys(flags, 0)
    by_channel: dict[str, int] = {}
    channels = sorted({channel for _, channel in petitions}, key=lambda c: (c is not None, c or ""))
    for channel in channels:
        for flag in flags:
            n = len(petitions.get((flag, channel), ()))
            by_flag[flag] += n
            if n:
                by_channel[f"{flag}:{channel or ''}"] = n
    return by_flag, by_channel
