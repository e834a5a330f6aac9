"""三调对接 (警调 / 访调 / 诉调) and 一庭两所 figures: where each referral stood at the period's end, per path
and direction, and the joint sessions per participating agency.

A referral's state at the period's end is not read from the case row (which says only how it is now): it is
the state its events imply, walked in order (``states_at_end``) with the trigger → state tables of
``definitions.yaml`` (``settings.handoff``). The events come from the report's one pass (``onepass``) or, for
a drill-down, from :func:`handoff_query` with the same SQL conditions and columns, and both go through the
same walk, so a figure and its list of cases cannot disagree.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, case, not_, or_, select

from mediation_flow.places.reference import load_reference
from mediation_flow.stats.definitions import settings
from mediation_flow.store.sqlbits import json_text
from mediation_flow.store.tables import CASES, EVENTS

E, C = EVENTS, CASES
IN, OUT = "in", "out"
# Per-path figure → (direction, the states at the period's end it counts; None: every referral of the period).
STATE_FIGURES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "referral_in_answered": (IN, ("answered",)),
    "referral_in_returned": (IN, ("returned",)),
    "referral_in_open": (IN, ("sent", "acknowledged")),
    "referral_out_agency": (OUT, None),
    "referral_out_answered": (OUT, ("answered",)),
    "referral_out_returned": (OUT, ("returned",)),
    "referral_out_open": (OUT, ("sent", "acknowledged")),
}


class HandoffEvent(NamedTuple):
    """One event of a referral: its case and order, direction, trigger, the path (in: the case's; out: the
    refer's target) and a record_feedback's outcome."""

    case_id: int
    seq: int
    direction: str
    trigger: str
    path: str | None
    outcome: str | None


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = settings()["handoff"]
    return spec


def in_triggers() -> tuple[str, ...]:
    return tuple(_spec()["in"])


def out_triggers() -> tuple[str, ...]:
    spec = _spec()
    return tuple(dict.fromkeys([*spec["out"], spec["out_feedback"]["trigger"], *spec["out_closing"]["triggers"]]))


def out_condition() -> Any:
    """A closing event counts for a referral out only when it closes a case that was referred out."""
    closing = _spec()["out_closing"]
    return or_(not_(E.c.trigger.in_(closing["triggers"])), E.c.from_state.in_(closing["from_states"]))


def joint_condition() -> Any:
    """The event names at least one agency taking part in a joint (一庭两所) mediation."""
    fields = settings()["joint_fields"]
    # blank values are never stored (workflow.fields drops an empty list or text), so a field present names one
    return or_(*(json_text(E.c.data, f).isnot(None) for f in [fields["list"], *fields["single"]]))


def joint_columns() -> dict[str, Any]:
    fields = settings()["joint_fields"]
    return {f"joint_{f}": json_text(E.c.data, f) for f in [fields["list"], *fields["single"]]}


def joint_agencies(values: Iterable[Any]) -> list[str]:
    """The agency codes one event names: the list field (JSON text) and the single fields, each once."""
    values = list(values)
    found: list[str] = []
    raw = values[0]
    if raw:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
        found += [str(v) for v in (parsed if isinstance(parsed, list) else [parsed]) if v]
    found += [str(v) for v in values[1:] if v]
    return list(dict.fromkeys(found))


def states_at_end(events: Iterable[HandoffEvent]) -> dict[tuple[str, str, int], str]:
    """(direction, path, case) → the referral's state after its events (in seq order per case).

    A referral starts with its first event (in: the registration; out: a refer to a partner agency, which also
    ends the case's earlier referral out); a returned referral stays returned; 'closed' (结案 without a 反馈)
    replaces only a state still open."""
    spec = _spec()
    paths, open_states = spec["paths"], set(spec["open_states"])
    feedback = spec["out_feedback"]
    closing = set(spec["out_closing"]["triggers"])
    states: dict[tuple[str, str, int], str] = {}
    current: dict[int, str | None] = {}  # case → the path of its referral out now
    for e in sorted(events, key=itemgetter(0, 1)):  # (case_id, seq)
        if e.direction == IN:
            key = (IN, str(e.path), e.case_id)
            new = spec["in"].get(e.trigger)
            if e.path not in paths or (new != "sent" and key not in states):
                continue  # not a referral path, or registered before the period
            if new == "sent":
                states[key] = new
                continue
        elif e.trigger == "refer":
            current[e.case_id] = e.path if e.path in paths else None
            if e.path in paths:
                states[(OUT, str(e.path), e.case_id)] = spec["out"]["refer"]
            continue
        else:
            path = current.get(e.case_id)
            if path is None:
                continue  # not referred out to a partner agency in the period
            key = (OUT, path, e.case_id)
            if e.trigger == feedback["trigger"]:
                new = feedback["states"].get(e.outcome or "")
            else:
                new = "closed" if e.trigger in closing else spec["out"].get(e.trigger)
        old = states[key]
        if new is None or old == "returned" or (new == "closed" and old not in open_states):
            continue
        states[key] = new
    return states


def handoff_groups(states: dict[tuple[str, str, int], str]) -> dict[str, set[int]]:
    """'in:police:sent' … → the cases in that state at the period's end."""
    groups: dict[str, set[int]] = defaultdict(set)
    for (direction, path, case_id), state in states.items():
        groups[f"{direction}:{path}:{state}"].add(case_id)
    return groups


def state_figure(states: dict[tuple[str, str, int], str], figure: str) -> dict[str, set[int]]:
    """Path → the cases a per-path figure of ``STATE_FIGURES`` counts."""
    direction, wanted = STATE_FIGURES[figure]
    found: dict[str, set[int]] = {path: set() for path in _spec()["paths"]}
    for (d, path, case_id), state in states.items():
        if d == direction and (wanted is None or state in wanted):
            found[path].add(case_id)
    return found


def handoff_labels() -> dict[str, str]:
    """'in:police:sent' → '警调转入·已移送未签收' (every key, in order)."""
    spec = _spec()
    words = {IN: "转入", OUT: "转出"}
    return {
        f"{d}:{p}:{s}": f"{path_label}{words[d]}·{state_label}"
        for d in (IN, OUT)
        for p, path_label in spec["paths"].items()
        for s, state_label in spec["states"].items()
    }


def handoff_query(scope: Any, conditions: dict[str, Any], channel: Any, *, where: Any = None) -> Any:
    """The referral events of the scope (the one pass's rows of the same rules), for a drill-down; ``where``
    instead of the scope's period and subtree (the events of given cases, any year)."""
    direction = [(conditions["handoff_in"], IN), (conditions["handoff_out"], OUT)]
    return (
        select(
            E.c.case_id,
            E.c.seq,
            case(*direction, else_=None).label("direction"),
            E.c.trigger,
            case((conditions["handoff_in"], channel), else_=json_text(E.c.data, "target")).label("path"),
            json_text(E.c.data, _spec()["out_feedback"]["field"]).label("outcome"),
        )
        .select_from(E.join(C, C.c.id == E.c.case_id))
        .where(scope.in_scope() if where is None else where, or_(conditions["handoff_in"], conditions["handoff_out"]))
    )


def events_of(rows: Iterable[Any]) -> list[HandoffEvent]:
    return [HandoffEvent(int(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4], r[5]) for r in rows]


def joint_sessions(joint: Iterable[tuple[int, list[str]]]) -> dict[str, int]:
    """Agency code → the joint sessions (start_mediation / record_session events) it took part in."""
    counts: dict[str, int] = defaultdict(int)
    for _, agencies in joint:
        for agency in agencies:
            counts[agency] += 1
    return dict(counts)


def joint_cases(joint: Iterable[tuple[int, list[str]]], agency: str | None) -> set[int]:
    """The cases of the joint sessions (of ``agency``, or of any)."""
    return {case_id for case_id, agencies in joint if agency is None or agency in agencies}


def agency_labels(conn: Connection) -> dict[str, str]:
    """Agency code → name: the joint-mediation agencies of the reference data (``agency``) and the partner
    agencies offered as choices (the kinds ``agency_…``)."""
    labels: dict[str, str] = {}
    for kind, items in load_reference(conn).items():
        if kind == "agency" or kind.startswith("agency_"):
            labels.update(items)
    return labels
