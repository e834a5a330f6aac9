"""The report's figures, computed by SQL aggregation over ``case_event`` joined to ``dispute_case``.

Every figure is a condition on an event (its trigger, data and the case it belongs to) counted over the
events effective in the period and recorded by ``as_of`` (see ``definitions.yaml``). The same condition
objects serve the counts and the drill-down (:mod:`mediation_flow.stats.drilldown`), so a number and
its list of cases cannot disagree. Nothing here loads cases into Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, case, distinct, false, func, or_, select

from mediation_flow.models import Jurisdiction
from mediation_flow.reference import load_reference
from mediation_flow.stats.definitions import settings
from mediation_flow.stats.scope import CASES, EVENTS, Scope, materialised
from mediation_flow.stats.sqlbits import child_path, days_between, fen, json_flag, json_text, local_month
from mediation_flow.vocabulary import LEVEL_LABELS, Level

E, C, JUR = EVENTS, CASES, Jurisdiction.__table__
SOURCE = E.join(C, C.c.id == E.c.case_id)
LEVEL_ORDER = [Level.GRID, Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY]


def trigger_is(scope: Scope, *names: str, in_case: bool = False) -> Any:
    """The event's trigger is one of ``names``. On SQLite the column is wrapped so that no index serves it:
    without planner statistics SQLite would otherwise walk the county-wide (trigger, effective_at) index
    and look up every case, instead of starting from the jurisdiction subtree (which bounds the work)."""
    column = E.c.trigger.concat("") if scope.dialect == "sqlite" and not in_case else E.c.trigger
    return column.in_(names) if len(names) > 1 else column == names[0]


def per_case(trigger_column: Any) -> Any:
    """The trigger column as an expression no index serves: in a per-case lookup the planner must then use
    the (case_id, seq) index instead of scanning the county's (trigger, effective_at) index for each row."""
    return trigger_column.concat("")


def _unindexed(scope: Scope, column: Any) -> Any:
    """A grouping key SQLite cannot read from an index (it would scan every case in index order to skip a sort)."""
    return column.concat("") if scope.dialect == "sqlite" else column


def referral_channel() -> Any:
    """'police' | 'petition' | 'court' for a case referred in through 三调, else NULL."""
    whens = [
        (or_(C.c.workflow_name.in_(spec["workflows"]), C.c.source.in_(spec["sources"])), channel)
        for channel, spec in settings()["referral_workflows"].items()
    ]
    return case(*whens, else_=None)


def event_conditions(scope: Scope, *, in_case: bool = False) -> dict[str, Any]:
    """Figure key → the condition an event (joined to its case) must meet to count for it (``in_case``: for
    use inside CASE expressions, where no index is chosen and the plain column is cheaper)."""
    s = settings()
    ended = and_(
        trigger_is(scope, *s["mediation_end_triggers"], in_case=in_case), E.c.from_state.in_(s["mediation_states"])
    )
    stopped = json_text(C.c.clocks, s["on_time_clock"], "stopped")
    due = json_text(C.c.clocks, s["on_time_clock"], "due")
    return {
        "taken_in": trigger_is(scope, "register", in_case=in_case),
        "mediated": trigger_is(scope, "start_mediation", in_case=in_case),
        "resolved": trigger_is(scope, "reach_agreement", in_case=in_case),
        "mediation_concluded": ended,
        "on_time": and_(ended, stopped.isnot(None), due.isnot(None), stopped <= due),
        "on_time_judged": and_(ended, due.isnot(None)),
        "closed_resolved": trigger_is(scope, "close_resolved", in_case=in_case),
        "visited": trigger_is(scope, "record_visit", in_case=in_case),
        "confirmations": trigger_is(scope, "confirmation_granted", in_case=in_case),
        "joint_mediations": and_(
            trigger_is(scope, "start_mediation", "record_session", in_case=in_case),
            json_text(E.c.data, "joint_agencies").isnot(None),
        ),
        "risk_reports": trigger_is(scope, "report_risk", in_case=in_case),
        "legal_aid_referrals": and_(
            trigger_is(scope, "refer", in_case=in_case), json_text(E.c.data, "target") == "legal_aid"
        ),
        "referral_out": trigger_is(scope, "refer", in_case=in_case),
        "reached_county": and_(
            trigger_is(scope, "escalate", in_case=in_case), json_text(E.c.data, "to_level") == Level.COUNTY.value
        ),
        "escalated": trigger_is(scope, "escalate", in_case=in_case),
        "closed": trigger_is(scope, *s["close_triggers"], in_case=in_case),
        "referral_in": and_(trigger_is(scope, "register", in_case=in_case), referral_channel().isnot(None)),
        "petition_cases_resolved": and_(
            trigger_is(scope, "reach_agreement", in_case=in_case), referral_channel() == "petition"
        ),
    }


EVENT_FIGURES = [
    "taken_in", "mediated", "resolved", "mediation_concluded", "on_time", "on_time_judged", "closed_resolved",
    "visited", "confirmations", "joint_mediations", "risk_reports", "legal_aid_referrals", "referral_out",
    "reached_county", "escalated", "closed", "referral_in", "petition_cases_resolved",
]  # fmt: skip


def grouped_conditions(scope: Scope, dialect: str) -> dict[str, tuple[Any, Any, bool]]:
    """Breakdown name → (event condition, grouping key, count events rather than cases)."""
    cond = event_conditions(scope)
    return {
        "by_source": (cond["taken_in"], _unindexed(scope, C.c.source), False),
        "by_category": (cond["taken_in"], _unindexed(scope, C.c.category), False),
        "by_village": (cond["taken_in"], child_path(dialect, C.c.jurisdiction_path, scope.place.path), False),
        "referral_in": (cond["referral_in"], referral_channel(), False),
        "referral_out": (cond["referral_out"], json_text(E.c.data, "target"), False),
        "by_venue": (cond["mediated"], json_text(E.c.data, "venue"), False),
        "escalations": (cond["escalated"], json_text(E.c.data, "to_level"), True),
        "monthly_taken_in": (cond["taken_in"], local_month(dialect, E.c.effective_at, scope.start_utc), False),
        "monthly_resolved": (cond["resolved"], local_month(dialect, E.c.effective_at, scope.start_utc), False),
    }


@dataclass
class Figures:
    scope: Scope
    values: dict[str, Any]
    breakdowns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope.describe(), "figures": self.values, "breakdowns": self.breakdowns}

    def count(self, breakdown: str, key: str) -> int:
        return next((row["count"] for row in self.breakdowns.get(breakdown, []) if row["key"] == key), 0)


def yuan(fen: int) -> str:
    """Integer fen as a yuan text with two decimals ('2000.50')."""
    return f"{fen // 100}.{fen % 100:02d}"


def rate(numerator: int, denominator: int) -> float | None:
    """A percentage with one decimal, None when there is nothing to divide by."""
    return round(100.0 * numerator / denominator, 1) if denominator else None


def headline(conn: Connection, scope: Scope) -> dict[str, Any]:
    """All case counts in one pass over the period's events in the subtree."""
    cond = event_conditions(scope, in_case=True)
    columns = [func.count(distinct(case((c, E.c.case_id)))).label(k) for k, c in cond.items()]
    columns.append(func.sum(case((cond["escalated"], 1), else_=0)).label("escalations"))
    row = conn.execute(select(*columns).select_from(SOURCE).where(scope.in_scope())).one()
    values: dict[str, Any] = {k: int(v or 0) for k, v in row._mapping.items()}
    values["success_rate"] = rate(values["resolved"], values["mediation_concluded"])
    values["on_time_rate"] = rate(values["on_time"], values.pop("on_time_judged"))
    return values


def latest_per_case(scope: Scope, condition: Any, *, first: bool = False) -> Any:
    """(case_id, seq) of each case's last (or first) event meeting ``condition`` in the period."""
    pick = func.min(E.c.seq) if first else func.max(E.c.seq)
    return (
        select(E.c.case_id, pick.label("seq"))
        .select_from(SOURCE)
        .where(scope.in_scope(), condition)
        .group_by(E.c.case_id)
        .subquery()
    )


def agreement_amount_fen(conn: Connection, scope: Scope) -> int:
    last = latest_per_case(scope, trigger_is(scope, "reach_agreement"))
    e2 = EVENTS.alias("e2")
    query = select(func.coalesce(func.sum(fen(json_text(e2.c.data, "amount"))), 0)).select_from(
        last.join(e2, and_(e2.c.case_id == last.c.case_id, e2.c.seq == last.c.seq))
    )
    return int(conn.execute(query).scalar() or 0)


def performed_query(scope: Scope) -> Any:
    """Cases whose last follow-up visit in the period found the agreement fully performed."""
    last = latest_per_case(scope, trigger_is(scope, "record_visit"))
    e2 = EVENTS.alias("e2")
    return (
        select(last.c.case_id)
        .select_from(last.join(e2, and_(e2.c.case_id == last.c.case_id, e2.c.seq == last.c.seq)))
        .where(json_text(e2.c.data, "performed") == "full")
    )


def level_at_agreement(scope: Scope) -> tuple[Any, Any]:
    """(first-agreement subquery, the case's level at that agreement) for 化解层级."""
    first = latest_per_case(scope, trigger_is(scope, "reach_agreement"), first=True)
    esc, reg = EVENTS.alias("esc"), EVENTS.alias("reg")
    escalated = (
        select(json_text(esc.c.data, "to_level"))
        .where(esc.c.case_id == first.c.case_id, per_case(esc.c.trigger) == "escalate", esc.c.seq < first.c.seq)
        .order_by(esc.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    registered = (
        select(json_text(reg.c.data, "level")).where(reg.c.case_id == first.c.case_id, reg.c.seq == 1).scalar_subquery()
    )
    return first, func.coalesce(escalated, registered)


def referral_in_resolved_query(scope: Scope) -> Any:
    """(case_id, channel) of cases referred in during the period that reached agreement before its end."""
    agreed = EVENTS.alias("agreed")
    reached = (
        select(agreed.c.id)
        .where(
            agreed.c.case_id == E.c.case_id,
            per_case(agreed.c.trigger) == "reach_agreement",
            agreed.c.effective_at < scope.end_utc,
            agreed.c.recorded_at <= scope.as_of,
        )
        .exists()
    )
    cond = event_conditions(scope)["referral_in"]
    return (
        select(E.c.case_id, referral_channel().label("key")).select_from(SOURCE).where(scope.in_scope(), cond, reached)
    )


def petition_flag_condition(dialect: str, flag: str) -> Any:
    if flag not in settings()["petition_flags"]:
        return false()
    return json_flag(dialect, "dispute_case.attributes", flag)


def conversions_query(scope: Scope) -> Any:
    """(case_id, type) of conversions whose stated date (occurred_on) falls in the period."""
    occurred = json_text(E.c.data, "occurred_on")
    return (
        select(E.c.case_id, json_text(E.c.data, "type").label("key"))
        .select_from(SOURCE)
        .where(
            E.c.trigger == "mark_conversion",
            E.c.recorded_at <= scope.as_of,
            occurred >= scope.start.isoformat(),
            occurred < scope.end.isoformat(),
            scope.in_subtree(),
        )
    )


def close_days_query(scope: Scope, dialect: str) -> Any:
    reg = EVENTS.alias("reg")
    return (
        select(E.c.case_id, days_between(dialect, E.c.effective_at, reg.c.effective_at).label("days"))
        .select_from(SOURCE.join(reg, and_(reg.c.case_id == E.c.case_id, reg.c.seq == 1)))
        .where(scope.in_scope(), event_conditions(scope)["closed"])
        .subquery()
    )


def days_to_close(conn: Connection, scope: Scope) -> tuple[float | None, float | None]:
    """(average, 90th percentile by nearest rank) of days from registration to closing."""
    days = close_days_query(scope, conn.dialect.name)
    n, avg = conn.execute(select(func.count(), func.avg(days.c.days))).one()
    if not n:
        return None, None
    offset = math.ceil(0.9 * n) - 1
    p90 = conn.execute(select(days.c.days).order_by(days.c.days).limit(1).offset(offset)).scalar()
    return round(float(avg), 1), round(float(p90), 1)


def _grouped(conn: Connection, scope: Scope, name: str) -> dict[str, int]:
    condition, key, count_events = grouped_conditions(scope, conn.dialect.name)[name]
    counted = func.count() if count_events else func.count(distinct(E.c.case_id))
    query = select(key.label("key"), counted).select_from(SOURCE).where(scope.in_scope(), condition).group_by(key)
    return {str(k): int(n) for k, n in conn.execute(query) if k is not None}


def _count_by_key(conn: Connection, query: Any) -> dict[str, int]:
    sub = query.subquery()
    rows = conn.execute(select(sub.c.key, func.count(distinct(sub.c.case_id))).group_by(sub.c.key))
    return {str(k): int(n) for k, n in rows if k is not None}


def _rows(counts: dict[str, int], labels: dict[str, str], *, all_keys: bool) -> list[dict[str, Any]]:
    keys = list(labels) if all_keys else [k for k in labels if counts.get(k)]
    keys += [k for k in counts if k not in labels]
    return [{"key": k, "label": labels.get(k, k), "count": counts.get(k, 0)} for k in keys]


def _petitions_by_flag(conn: Connection, scope: Scope) -> tuple[dict[str, int], dict[str, int]]:
    """Resolved petitions by flag, and by ``flag:channel`` (a case may carry several flags)."""
    cond = event_conditions(scope)["petition_cases_resolved"]
    dialect = conn.dialect.name
    flags = settings()["petition_flags"]
    channel = json_text(C.c.attributes, settings()["petition_channel_attribute"])
    columns = [
        func.count(distinct(case((petition_flag_condition(dialect, flag), E.c.case_id)))).label(flag) for flag in flags
    ]
    query = (
        select(channel.label("channel"), *columns).select_from(SOURCE).where(scope.in_scope(), cond).group_by(channel)
    )
    by_flag = dict.fromkeys(flags, 0)
    by_channel: dict[str, int] = {}
    for row in conn.execute(query):
        for flag in flags:
            n = int(row._mapping[flag] or 0)
            by_flag[flag] += n
            if n:
                by_channel[f"{flag}:{row.channel or ''}"] = n
    return by_flag, by_channel


def _village_labels(conn: Connection, scope: Scope, counts: dict[str, int]) -> dict[str, str]:
    """Child paths → names; cases registered at the chosen jurisdiction itself show as 本级."""
    rows = conn.execute(select(JUR.c.path, JUR.c.name).where(JUR.c.parent_id == scope.place.id).order_by(JUR.c.code))
    labels = {path: name for path, name in rows}
    if scope.place.path in counts:
        labels[scope.place.path] = f"{scope.place.name}本级"
    return labels


def compute_figures(conn: Connection, scope: Scope) -> Figures:
    """Every figure of the report for ``scope``."""
    with materialised(conn, scope) as narrowed:
        figures = _compute(conn, narrowed)
    figures.scope = scope
    return figures


def _compute(conn: Connection, scope: Scope) -> Figures:
    s = settings()
    reference = load_reference(conn)
    values = headline(conn, scope)
    amount = agreement_amount_fen(conn, scope)
    values["agreement_amount_fen"] = amount
    values["agreement_amount"] = yuan(amount)
    values["performed"] = int(
        conn.execute(select(func.count()).select_from(performed_query(scope).subquery())).scalar()
    )
    values["performance_rate"] = rate(values["performed"], values["visited"])
    values["days_to_close_avg"], values["days_to_close_p90"] = days_to_close(conn, scope)
    petitions, petition_channels = _petitions_by_flag(conn, scope)
    values["petitions_resolved"] = values.pop("petition_cases_resolved")
    first, level = level_at_agreement(scope)
    levels = {
        str(k): int(n)
        for k, n in conn.execute(select(level.label("key"), func.count()).select_from(first).group_by(level))
        if k is not None
    }
    conversions = _count_by_key(conn, conversions_query(scope))
    values["conversions"] = sum(conversions.values())
    referral_labels = {k: v["label"] for k, v in s["referral_workflows"].items()}
    level_labels = {lvl.value: LEVEL_LABELS[lvl] for lvl in LEVEL_ORDER}
    village = _grouped(conn, scope, "by_village")
    months = [
        f"{scope.start.year + (scope.start.month - 1 + i) // 12}-{(scope.start.month - 1 + i) % 12 + 1:02d}"
        for i in range(_months(scope))
    ]
    month_labels = {m: f"{int(m[5:])}月" for m in months}
    breakdowns = {
        "by_source": _rows(_grouped(conn, scope, "by_source"), reference.get("source", {}), all_keys=True),
        "by_category": _rows(_grouped(conn, scope, "by_category"), reference.get("category", {}), all_keys=False),
        "by_village": _rows(village, _village_labels(conn, scope, village), all_keys=True),
        "referral_in": _rows(_grouped(conn, scope, "referral_in"), referral_labels, all_keys=True),
        "referral_in_resolved": _rows(
            _count_by_key(conn, referral_in_resolved_query(scope)), referral_labels, all_keys=True
        ),
        "referral_out": _rows(
            _grouped(conn, scope, "referral_out"), reference.get("referral_target", {}), all_keys=True
        ),
        "petitions_resolved": _rows(petitions, s["petition_flags"], all_keys=True),
        "petitions_by_channel": _rows(petition_channels, {}, all_keys=False),
        "by_venue": _rows(_grouped(conn, scope, "by_venue"), reference.get("venue", {}), all_keys=False),
        "escalations": _rows(_grouped(conn, scope, "escalations"), level_labels, all_keys=True),
        "resolved_by_level": _rows(levels, level_labels, all_keys=True),
        "conversions": _rows(conversions, reference.get("conversion_type", {}), all_keys=True),
        "monthly_taken_in": _rows(_grouped(conn, scope, "monthly_taken_in"), month_labels, all_keys=True),
        "monthly_resolved": _rows(_grouped(conn, scope, "monthly_resolved"), month_labels, all_keys=True),
    }
    values["referral_in_resolved"] = sum(r["count"] for r in breakdowns["referral_in_resolved"])
    return Figures(scope=scope, values=values, breakdowns=breakdowns)


def _months(scope: Scope) -> int:
    return (scope.end.year - scope.start.year) * 12 + scope.end.month - scope.start.month
