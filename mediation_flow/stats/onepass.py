"""Every event-based figure of the report from ONE pass over the period's events in the subtree.

One SQL statement reads the events effective in the period (and recorded by ``as_of``) of the subtree's
cases, and returns per event only what the figures need: a bit mask of the figure rules it meets (the rules
of :func:`~mediation_flow.stats.figures.figure_rules`, from which the drill-down's conditions are built too),
the grouping keys of the breakdowns it counts in (the expressions of ``group_keys``),
and a few per-event values (agreement amount, visit result, days to close, level at agreement, …). Python
folds the rows as they stream in: sets of case ids per figure and per group, so memory grows with the
township-year's cases, never with the database.

Everything the fold keeps belongs to one case (its id, with the case's place), so the fold of a county's year
splits into its townships' folds (:meth:`Folded.split`): the county's report counts its year once.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, literal, null, select
from sqlalchemy.sql.elements import ColumnElement

from mediation_flow.stats.definitions import settings
from mediation_flow.stats.sandiao import IN, OUT, HandoffEvent, joint_agencies
from mediation_flow.store.reads import in_transaction
from mediation_flow.store.tables import EVENTS

YIELD_PER = 2_000
NO_VALUE = 4  # the statement's always-NULL column
PATH = 5  # the case's jurisdiction path


def _case_counts() -> dict[str, dict[int, int]]:
    return defaultdict(dict)


@dataclass
class Folded:
    """What one pass produced, per case: case ids per figure and per breakdown group, the per-case picks, and
    the place of every case counted."""

    cases: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    events: dict[str, dict[int, int]] = field(default_factory=_case_counts)  # counted figure → case → its events
    groups: dict[str, dict[str, set[int]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    # a breakdown that counts events: group → case → its events in the group
    group_events: dict[str, dict[str, dict[int, int]]] = field(default_factory=lambda: defaultdict(_case_counts))
    last_agreement: dict[int, tuple[int, Any]] = field(default_factory=dict)  # case → (seq, amount in fen)
    last_visit: dict[int, tuple[int, Any]] = field(default_factory=dict)  # case → (seq, performed)
    first_agreement: dict[int, tuple[int, Any]] = field(default_factory=dict)  # case → (seq, level)
    close_days: list[tuple[int, Any]] = field(default_factory=list)  # (case, days) per closing event
    petitions: dict[tuple[str, str | None], set[int]] = field(default_factory=lambda: defaultdict(set))
    judged_channel: dict[int, Any] = field(default_factory=dict)  # case → its 三调 channel, for judged cases
    handoffs: list[HandoffEvent] = field(default_factory=list)  # the referral events, for the 三调 walk
    joint: list[tuple[int, list[str]]] = field(default_factory=list)  # (case, agencies) per joint session
    paths: dict[int, str] = field(default_factory=dict)  # case → its jurisdiction path

    def split(self, part: Callable[[str], str]) -> dict[str, Folded]:
        """The fold of each part, a part being ``part(path)`` of a case's path: what the pass over only that
        part's cases would have folded (each thing kept belongs to one case)."""
        named: dict[str, str] = {}
        of: dict[int, str] = {}
        for case_id, path in self.paths.items():
            key = named.get(path)
            if key is None:
                key = named[path] = part(path)
            of[case_id] = key
        parts: dict[str, Folded] = defaultdict(Folded)
        for case_id, path in self.paths.items():
            parts[of[case_id]].paths[case_id] = path

        def into(name: Any, ids: Iterable[int], kept: Callable[[Folded], Any]) -> None:
            """``ids`` into the set ``name`` of ``kept(part)`` of each case's part (made at its first case)."""
            targets: dict[str, set[int]] = {}
            for case_id in ids:
                key = of[case_id]
                target = targets.get(key)
                if target is None:
                    target = targets[key] = kept(parts[key])[name]
                target.add(case_id)

        for name, ids in self.cases.items():
            into(name, ids, lambda f: f.cases)
        for name, counts in self.events.items():
            for case_id, n in counts.items():
                parts[of[case_id]].events[name][case_id] = n
        for group, sets in self.groups.items():

            def of_group(folded: Folded, group: str = group) -> Any:
                return folded.groups[group]

            for key, ids in sets.items():
                into(key, ids, of_group)
        for group, keyed in self.group_events.items():
            for key, counts in keyed.items():
                for case_id, n in counts.items():
                    parts[of[case_id]].group_events[group][key][case_id] = n
        for picks in ("last_agreement", "last_visit", "first_agreement", "judged_channel"):
            for case_id, pick in getattr(self, picks).items():
                getattr(parts[of[case_id]], picks)[case_id] = pick
        for flag, ids in self.petitions.items():
            into(flag, ids, lambda f: f.petitions)
        for closing in self.close_days:
            parts[of[closing[0]]].close_days.append(closing)
        for handoff in self.handoffs:
            parts[of[handoff.case_id]].handoffs.append(handoff)
        for session in self.joint:
            parts[of[session[0]]].joint.append(session)
        return dict(parts)


@dataclass(frozen=True)
class Pass:
    """The one statement, and how to read a row of it back into (case_id, seq, trigger, mask, extras…)."""

    statement: Any
    extras: list[str]
    readers: dict[str, Callable[[Any], tuple[Any, ...]]]  # trigger → the row's extras in ``extras`` order


def _gated(extra: Any, expr: Any, otherwise: Any = None) -> Any:
    return expr if extra is None else case((extra, expr), else_=otherwise)


def event_rows(
    rules: dict[str, tuple[tuple[str, ...], Any]],
    names: list[str],
    extras: dict[str, tuple[str, Any]],
    values: set[str],
    source: Any,
    where: Any,
    path: Any,
) -> Pass:
    """The one statement over ``source`` where ``where``: case_id, seq, trigger, the mask of ``names``' rules, the
    case's ``path`` (column ``PATH``), then the ``extras`` (name → (figure whose rule gates it, expression)), NULL
    where the rule is not met.

    Each figure's rule is (triggers, further condition), so an event is dispatched once on its trigger
    (``CASE trigger WHEN …``) and only the conditions and expressions of that trigger are evaluated. Text
    extras of different triggers share columns (an event has one trigger); the ``values`` extras (numbers,
    flags) keep a column each, so that every column has one type on PostgreSQL."""
    triggers = list(dict.fromkeys(t for ts, _ in rules.values() for t in ts))
    mask_by_trigger = {}
    for name in triggers:
        fixed = sum(1 << i for i, n in enumerate(names) if name in rules[n][0] and rules[n][1] is None)
        terms: list[ColumnElement[int]] = [literal(fixed)] if fixed else []
        terms += [
            case((rules[n][1], literal(1 << i)), else_=literal(0))
            for i, n in enumerate(names)
            if name in rules[n][0] and rules[n][1] is not None
        ]
        mask_by_trigger[name] = functools.reduce(operator.add, terms)
    trigger = EVENTS.c.trigger
    columns: list[Any] = [
        EVENTS.c.case_id,
        EVENTS.c.seq,
        trigger,
        case(mask_by_trigger, value=trigger, else_=literal(0)),
    ]
    columns.append(null().label("no_value"))  # column NO_VALUE: what a trigger's reader returns for others' extras
    columns.append(path)  # column PATH
    slots: dict[str, dict[str, int]] = {t: {} for t in triggers}  # trigger → extra → column index
    shared: list[dict[str, Any]] = []  # text column k → {trigger: expression}
    for name, (gate, expr) in extras.items():
        gate_triggers, extra = rules[gate]
        if name in values:
            slots_of = {t: len(columns) for t in gate_triggers}
            columns.append(case({t: _gated(extra, expr) for t in gate_triggers}, value=trigger, else_=None))
            for t, index in slots_of.items():
                slots[t][name] = index
            continue
        for t in gate_triggers:
            k = len(slots[t]) - sum(1 for n in slots[t] if n in values)
            while len(shared) <= k:
                shared.append({})
            shared[k][t] = _gated(extra, expr)
            slots[t][name] = -1 - k  # placed below, after the value columns
    first_shared = len(columns)
    columns += [case(branches, value=trigger, else_=None) for branches in shared]
    readers: dict[str, Callable[[Any], tuple[Any, ...]]] = {}
    for t in triggers:
        indexes = []
        for name in extras:
            index = slots[t].get(name, NO_VALUE)
            indexes.append(first_shared - 1 - index if index < 0 else index)
        readers[t] = operator.itemgetter(*indexes)
    return Pass(select(*columns).select_from(source).where(where), list(extras), readers)


def fold(
    rows: Iterable[Any], names: list[str], one_pass: Pass, grouped: dict[str, bool], counted: Iterable[str]
) -> Folded:
    """Fold the streamed rows (case_id, seq, trigger, mask, …) into sets and per-case picks; the events of the
    ``counted`` figures are counted per case too."""
    out = Folded()
    extras, readers = one_pass.extras, one_pass.readers
    by_mask: dict[int, list[set[int]]] = {}  # a mask → the case sets of its figures (few distinct masks)
    per_case = [(1 << names.index(n), out.events[n]) for n in counted]
    counted_mask = sum(bit for bit, _ in per_case)
    paths = out.paths
    groups = [(extras.index(g), out.groups[g], out.group_events[g], events) for g, events in grouped.items()]
    groups.append((extras.index("referral_in_resolved"), out.groups["referral_in_resolved"], {}, False))
    amount, performed, days, level, channel = (
        extras.index(n) for n in ("amount", "performed", "days", "level", "channel")
    )
    details = settings()["petition_flag_details"]
    flags = [(extras.index(f"flag_{f}"), f, extras.index(f"detail_{f}") if f in details else None)
             for f in settings()["petition_flags"]]  # fmt: skip
    resolved, visited = 1 << names.index("resolved"), 1 << names.index("visited")
    petition = 1 << names.index("petition_cases_resolved")
    handoff_in, handoff_out = 1 << names.index("handoff_in"), 1 << names.index("handoff_out")
    in_path, out_path, outcome = (extras.index(n) for n in ("handoff_path", "handoff_target", "handoff_outcome"))
    joint = 1 << names.index("joint_mediations")
    judged, judged_channel = 1 << names.index("on_time_judged"), extras.index("judged_channel")
    joint_columns = [i for i, n in enumerate(extras) if n.startswith("joint_")]
    last_agreement, first_agreement, last_visit = out.last_agreement, out.first_agreement, out.last_visit
    for row in rows:
        mask = row[3]
        if not mask:
            continue
        case_id, seq = row[0], row[1]
        paths[case_id] = row[PATH]
        wide = readers[row[2]](row)  # the row's extras, in ``extras`` order
        if mask & counted_mask:
            for bit, tally in per_case:
                if mask & bit:
                    tally[case_id] = tally.get(case_id, 0) + 1
        targets = by_mask.get(mask)
        if targets is None:
            targets = by_mask[mask] = [out.cases[n] for i, n in enumerate(names) if mask & (1 << i)]
        for target in targets:
            target.add(case_id)
        for index, sets, counts, count_events in groups:
            key = wide[index]
            if key is not None:
                if count_events:
                    events = counts[str(key)]
                    events[case_id] = events.get(case_id, 0) + 1
                else:
                    sets[str(key)].add(case_id)
        if mask & resolved:
            if case_id not in last_agreement or seq > last_agreement[case_id][0]:
                last_agreement[case_id] = (seq, wide[amount])
            if case_id not in first_agreement or seq < first_agreement[case_id][0]:
                first_agreement[case_id] = (seq, wide[level])
        if mask & visited and (case_id not in last_visit or seq > last_visit[case_id][0]):
            last_visit[case_id] = (seq, wide[performed])
        if wide[days] is not None:
            out.close_days.append((case_id, wide[days]))
        if mask & petition:
            for index, flag, detail in flags:
                if wide[index]:
                    shown = f"{flag}.{wide[detail]}" if detail is not None and wide[detail] else flag
                    out.petitions[(shown, wide[channel])].add(case_id)
        if mask & judged:
            out.judged_channel[case_id] = wide[judged_channel]
        if mask & handoff_in:
            out.handoffs.append(HandoffEvent(case_id, seq, IN, row[2], wide[in_path], None))
        if mask & handoff_out:
            out.handoffs.append(HandoffEvent(case_id, seq, OUT, row[2], wide[out_path], wide[outcome]))
        if mask & joint:
            out.joint.append((case_id, joint_agencies(wide[i] for i in joint_columns)))
    return out


def run(conn: Connection, statement: Any, parameters: dict[str, Any] | None = None) -> Iterable[Any]:
    """Stream the statement's rows (a server-side cursor on PostgreSQL), in batches."""
    # per statement: ``Connection.execution_options`` would change the connection itself, and every later
    # statement on it (a ``SET LOCAL`` too) would run through a server-side cursor on PostgreSQL
    with in_transaction(conn):  # a server-side cursor lives in a transaction (store.reads)
        result = conn.execute(statement, parameters, execution_options={"yield_per": YIELD_PER})
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


def petitions_by_flag(petitions: dict[tuple[str, str | None], int]) -> tuple[dict[str, int], dict[str, int]]:
    """Resolved petitions by flag, and by ``flag:channel`` (channel order, no-channel first; flags as defined;
    a flag with its recorded detail as ``flag.detail``, e.g. ``to_beijing.ticket:visit`` for 购票进京访)."""
    flags = list(settings()["petition_flags"])
    by_flag = dict.fromkeys(flags, 0)
    by_channel: dict[str, int] = {}
    channels = sorted({channel for _, channel in petitions}, key=lambda c: (c is not None, c or ""))
    shown = sorted({s for s, _ in petitions}, key=lambda s: (flags.index(s.partition(".")[0]), s))
    for channel in channels:
        for flag in shown:
            n = petitions.get((flag, channel), 0)
            by_flag[flag.partition(".")[0]] += n
            if n:
                by_channel[f"{flag}:{channel or ''}"] = n
    return by_flag, by_channel
