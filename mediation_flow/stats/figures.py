"""The report's figures, counted from the events of ``case_event`` joined to ``dispute_case``.

Every figure is a condition on an event (its trigger, data and the case it belongs to) counted over the
events effective in the period and recorded by ``as_of`` (see ``definitions.yaml``). A figure's rule is
(triggers, further condition); the drill-down (:mod:`mediation_flow.stats.drilldown`) lists the cases by the
conditions built from these rules, and the report counts them in one pass over the period's events
(:mod:`mediation_flow.stats.onepass`) evaluating the same rules in SQL, so a number and its list of cases
cannot disagree. Python receives one narrow row per event of the period and keeps sets of case ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, case, distinct, false, func, or_, select

from mediation_flow.display.formats import money_decimal
from mediation_flow.places.reference import reference_labels
from mediation_flow.places.subtree import child_of
from mediation_flow.stats import corrected, onepass, sandiao
from mediation_flow.stats.definitions import settings
from mediation_flow.stats.scope import Scope
from mediation_flow.stats.tally import Tally
from mediation_flow.stats.unset import COMPLETE, add_unset
from mediation_flow.store.reads import in_transaction
from mediation_flow.store.sqlbits import child_path, days_between, fen, json_flag, json_text, local_month
from mediation_flow.store.tables import CASES, EVENTS, JURISDICTIONS
from mediation_flow.vocabulary import Level

E, C, JUR = EVENTS, CASES, JURISDICTIONS
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


def judged_clock() -> tuple[Any, Any]:
    """(due, stopped) of the clock the on-time rate judges a case by: the first of ``on_time_clocks`` the case
    has started (the 30-day mediation clock; for a court case the court's 委派 30 / 委托 15 or 7 days), as
    recorded in the case's clocks (extensions and pauses included)."""
    names = settings()["on_time_clocks"]
    dues = [json_text(C.c.clocks, name, "due") for name in names]
    stops = [json_text(C.c.clocks, name, "stopped") for name in names]
    due = case(*[(d.isnot(None), d) for d in dues], else_=None)
    stopped = case(*[(d.isnot(None), st) for d, st in zip(dues, stops, strict=True)], else_=None)
    return due, stopped


def figure_rules() -> dict[str, tuple[tuple[str, ...], Any]]:
    """Figure key → (the triggers an event must have, the further condition it must meet or None)."""
    s = settings()
    mediating = E.c.from_state.in_(s["mediation_states"])
    due, stopped = judged_clock()
    on_time = and_(mediating, stopped.isnot(None), due.isnot(None), stopped <= due)
    judged = and_(mediating, due.isnot(None))
    court = referral_channel() == "court"
    ends = tuple(s["mediation_end_triggers"])
    return {
        "taken_in": (("register",), None),
        "mediated": (("start_mediation",), None),
        "resolved": (("reach_agreement",), None),
        "mediation_concluded": (ends, mediating),
        "on_time": (ends, on_time),
        "on_time_judged": (ends, judged),
        "court_on_time": (ends, and_(on_time, court)),
        "court_on_time_judged": (ends, and_(judged, court)),
        "closed_resolved": (("close_resolved",), None),
        "visited": (("record_visit",), None),
        "confirmations": (("confirmation_granted",), None),
        "joint_mediations": (("start_mediation", "record_session"), sandiao.joint_condition()),
        "risk_reports": (("report_risk",), None),
        "legal_aid_referrals": (("refer",), json_text(E.c.data, "target") == "legal_aid"),
        "referral_out": (("refer",), None),
        "reached_county": (("escalate",), json_text(E.c.data, "to_level") == Level.COUNTY.value),
        "escalated": (("escalate",), None),
        "closed": (tuple(s["close_triggers"]), None),
        "referral_in": (("register",), referral_channel().isnot(None)),
        "petition_cases_resolved": (("reach_agreement",), referral_channel() == "petition"),
        "handoff_in": (sandiao.in_triggers(), referral_channel().isnot(None)),
        "handoff_out": (sandiao.out_triggers(), sandiao.out_condition()),
        # 关联纠纷: registered when earlier disputes of the same parties were found (cases.people)
        "repeat_disputes": (("register",), json_text(E.c.data, "repeat_disputes").isnot(None)),
        "repeat_petitions": (
            ("register",),
            and_(json_text(E.c.data, "repeat_disputes").isnot(None), referral_channel() == "petition"),
        ),
    }


def event_conditions(scope: Scope, *, in_case: bool = False) -> dict[str, Any]:
    """Figure key → the condition an event (joined to its case) must meet to count for it (``in_case``: for
    use inside CASE expressions, where no index is chosen and the plain column is cheaper)."""
    return {
        name: trigger_is(scope, *triggers, in_case=in_case) if extra is None
        else and_(trigger_is(scope, *triggers, in_case=in_case), extra)
        for name, (triggers, extra) in figure_rules().items()
    }  # fmt: skip


EVENT_FIGURES = [
    "taken_in", "mediated", "resolved", "mediation_concluded", "on_time", "on_time_judged", "closed_resolved",
    "visited", "confirmations", "joint_mediations", "risk_reports", "legal_aid_referrals", "referral_out",
    "reached_county", "escalated", "closed", "referral_in", "petition_cases_resolved", "handoff_in", "handoff_out",
    "repeat_disputes", "repeat_petitions",
]  # fmt: skip
PASS_ONLY = ("handoff_in", "handoff_out")  # rules that pick the events of a walk, not figures
# Rules the pass does not evaluate per event: their cases are those of another figure whose case has a given
# channel (read once per judged event), which the drill-down's SQL of the same rule lists alike.
BY_CHANNEL = {"court_on_time": ("on_time", "court"), "court_on_time_judged": ("on_time_judged", "court")}


# Breakdown name → (the figure whose condition an event must meet, count events not cases).
GROUP_FIGURES: dict[str, tuple[str, bool]] = {
    "by_source": ("taken_in", False),
    "by_category": ("taken_in", False),
    "by_village": ("taken_in", False),
    "referral_in": ("referral_in", False),
    "referral_out": ("referral_out", False),
    "by_venue": ("mediated", False),
    "escalations": ("escalated", True),
    "monthly_taken_in": ("taken_in", False),
    "monthly_resolved": ("resolved", False),
}


def group_keys(scope: Scope, dialect: str) -> dict[str, tuple[str, Any, bool]]:
    """Breakdown name → (the figure whose condition an event must meet, grouping key, count events not cases)."""
    month = local_month(dialect, E.c.effective_at, scope.start_utc)
    keys = {
        "by_source": _unindexed(scope, C.c.source),
        "by_category": _unindexed(scope, C.c.category),
        "by_village": child_path(dialect, C.c.jurisdiction_path, scope.place.path),
        "referral_in": referral_channel(),
        "referral_out": json_text(E.c.data, "target"),
        "by_venue": json_text(E.c.data, "venue"),
        "escalations": json_text(E.c.data, "to_level"),
        "monthly_taken_in": month,
        "monthly_resolved": month,
    }
    return {name: (figure, keys[name], events) for name, (figure, events) in GROUP_FIGURES.items()}


def grouped_conditions(scope: Scope, dialect: str) -> dict[str, tuple[Any, Any, bool]]:
    """Breakdown name → (event condition, grouping key, count events rather than cases)."""
    cond = event_conditions(scope)
    return {name: (cond[figure], key, events) for name, (figure, key, events) in group_keys(scope, dialect).items()}


@dataclass
class Figures:
    scope: Scope
    values: dict[str, Any]
    breakdowns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope.describe(), "figures": self.values, "breakdowns": self.breakdowns}

    def count(self, breakdown: str, key: str) -> int:
        return next((row["count"] for row in self.breakdowns.get(breakdown, []) if row["key"] == key), 0)


def rate(numerator: int, denominator: int) -> float | None:
    """A percentage with one decimal, None when there is nothing to divide by."""
    return round(100.0 * numerator / denominator, 1) if denominator else None


def headline(conn: Connection, scope: Scope) -> dict[str, Any]:
    """All case counts in one pass over the period's events in the subtree."""
    cond = {k: c for k, c in event_conditions(scope, in_case=True).items() if k in EVENT_FIGURES and k not in PASS_ONLY}
    columns = [func.count(distinct(case((c, E.c.case_id)))).label(k) for k, c in cond.items()]
    columns.append(func.sum(case((cond["escalated"], 1), else_=0)).label("escalations"))
    row = conn.execute(select(*columns).select_from(SOURCE).where(scope.in_scope())).one()
    values: dict[str, Any] = {k: int(v or 0) for k, v in row._mapping.items()}
    values["success_rate"] = rate(values["resolved"], values["mediation_concluded"])
    values["on_time_rate"] = rate(values["on_time"], values["on_time_judged"])
    return values


def month_labels(scope: Scope) -> dict[str, str]:
    """'YYYY-MM' of every month of the period → '1月' … (the keys of the monthly breakdowns)."""
    months = [
        f"{scope.start.year + (scope.start.month - 1 + i) // 12}-{(scope.start.month - 1 + i) % 12 + 1:02d}"
        for i in range(_months(scope))
    ]
    return {m: f"{int(m[5:])}月" for m in months}


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


def performed_query(scope: Scope) -> Any:
    """Cases whose last follow-up visit in the period found the agreement fully performed."""
    last = latest_per_case(scope, trigger_is(scope, "record_visit"))
    e2 = EVENTS.alias("e2")
    return (
        select(last.c.case_id)
        .select_from(last.join(e2, and_(e2.c.case_id == last.c.case_id, e2.c.seq == last.c.seq)))
        .where(json_text(e2.c.data, "performed") == "full")
    )


def level_at(case_id: Any, seq: Any) -> Any:
    """The case's level at its event ``seq``: the level of the last escalation before it, else the registered one."""
    esc, reg = EVENTS.alias("esc"), EVENTS.alias("reg")
    escalated = (
        select(json_text(esc.c.data, "to_level"))
        .where(esc.c.case_id == case_id, per_case(esc.c.trigger) == "escalate", esc.c.seq < seq)
        .order_by(esc.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    registered = (
        select(json_text(reg.c.data, "level")).where(reg.c.case_id == case_id, reg.c.seq == 1).scalar_subquery()
    )
    return func.coalesce(escalated, registered)


def level_at_agreement(scope: Scope) -> tuple[Any, Any]:
    """(first-agreement subquery, the case's level at that agreement) for 化解层级."""
    first = latest_per_case(scope, trigger_is(scope, "reach_agreement"), first=True)
    return first, level_at(first.c.case_id, first.c.seq)


def referral_reached_agreement(scope: Scope) -> Any:
    """The event's case reached agreement before the period's end (as recorded by as_of).

    A scalar subquery rather than EXISTS: PostgreSQL may run an EXISTS as one hashed scan of every agreement in
    the database; a scalar subquery is always looked up per case (by its (case_id, seq) index)."""
    agreed = EVENTS.alias("agreed")
    first = (
        select(agreed.c.id)
        .where(
            agreed.c.case_id == E.c.case_id,
            per_case(agreed.c.trigger) == "reach_agreement",
            agreed.c.effective_at < scope.end_utc,
            agreed.c.recorded_at <= scope.as_of,
        )
        .limit(1)
        .scalar_subquery()
    )
    return first.isnot(None)


def referral_in_resolved_query(scope: Scope) -> Any:
    """(case_id, channel) of cases referred in during the period that reached agreement before its end."""
    cond = event_conditions(scope)["referral_in"]
    return (
        select(E.c.case_id, referral_channel().label("key"))
        .select_from(SOURCE)
        .where(scope.in_scope(), cond, referral_reached_agreement(scope))
    )


def petition_flag_condition(dialect: str, flag: str) -> Any:
    if flag not in settings()["petition_flags"]:
        return false()
    return json_flag(dialect, "dispute_case.attributes", flag)


def conversion_events(*where: Any) -> Any:
    """(case_id, type, stated date) of the conversions (矛盾纠纷转化) meeting ``where``: a conversion is dated by
    the date it states (occurred_on), not by its event."""
    return (
        select(E.c.case_id, json_text(E.c.data, "type").label("key"), conversion_date().label("occurred_on"))
        .select_from(SOURCE)
        .where(E.c.trigger == "mark_conversion", *where)
    )


def conversion_date() -> Any:
    return json_text(E.c.data, "occurred_on")


def conversions_query(scope: Scope) -> Any:
    """(case_id, type, stated date) of conversions whose stated date (occurred_on) falls in the period."""
    occurred = conversion_date()
    return conversion_events(
        E.c.recorded_at <= scope.as_of,
        occurred >= scope.start.isoformat(),
        occurred < scope.end.isoformat(),
        scope.in_subtree(),
    )


def registered_at(case_id: Any) -> Any:
    """The effective time of the case's registration (its first event)."""
    reg = EVENTS.alias("reg")
    return select(reg.c.effective_at).where(reg.c.case_id == case_id, reg.c.seq == 1).scalar_subquery()


def close_days_query(scope: Scope, dialect: str) -> Any:
    reg = EVENTS.alias("reg")
    return (
        select(E.c.case_id, days_between(dialect, E.c.effective_at, reg.c.effective_at).label("days"))
        .select_from(SOURCE.join(reg, and_(reg.c.case_id == E.c.case_id, reg.c.seq == 1)))
        .where(scope.in_scope(), event_conditions(scope)["closed"])
        .subquery()
    )


def _count_rows(rows: Iterable[Any]) -> dict[str, int]:
    """(case_id, key, …) rows → the number of distinct cases per key."""
    found: dict[str, set[int]] = {}
    for case_id, key, *_ in rows:
        if key is not None:
            found.setdefault(str(key), set()).add(case_id)
    return {key: len(ids) for key, ids in found.items()}


def labelled_rows(counts: dict[str, int], labels: dict[str, str], *, all_keys: bool) -> list[dict[str, Any]]:
    keys = list(labels) if all_keys else [k for k in labels if counts.get(k)]
    keys += sorted((k for k in counts if k not in labels), key=lambda k: (k is None, str(k)))  # in one order
    return [{"key": k, "label": labels.get(k, k), "count": counts.get(k, 0)} for k in keys]


def village_labels(conn: Connection, scope: Scope, counts: dict[str, int]) -> dict[str, str]:
    """Child paths → names; cases registered at the chosen jurisdiction itself show as 本级."""
    rows = conn.execute(select(JUR.c.path, JUR.c.name).where(JUR.c.parent_id == scope.place.id).order_by(JUR.c.code))
    labels = {path: name for path, name in rows}
    if scope.place.path in counts:
        labels[scope.place.path] = f"{scope.place.name}本级"
    return labels


def child_codes(conn: Connection, scope: Scope) -> dict[str, str]:
    """Child paths (and the place's own, for 本级) → jurisdiction codes: the public key of a village row."""
    rows = conn.execute(select(JUR.c.path, JUR.c.code).where(JUR.c.parent_id == scope.place.id))
    return {scope.place.path: scope.place.code, **{path: code for path, code in rows}}


def keyed_by_code(rows: list[dict[str, Any]], codes: dict[str, str]) -> list[dict[str, Any]]:
    """``by_village`` rows keyed by jurisdiction code (what the drill-down takes back), not by internal path."""
    return [{**r, "key": codes.get(r["key"], r["key"])} for r in rows]


VALUE_COLUMNS = {"amount", "days", *(f"flag_{flag}" for flag in settings()["petition_flags"])}  # not text


def pass_columns(scope: Scope, dialect: str) -> dict[str, tuple[str, Any]]:
    """The per-event columns of the one pass: name → (the figure whose condition gates it, expression)."""
    s = settings()
    columns: dict[str, tuple[str, Any]] = {
        name: (figure, key) for name, (figure, key, _) in group_keys(scope, dialect).items()
    }
    columns["amount"] = ("resolved", fen(json_text(E.c.data, "amount")))
    columns["level"] = ("resolved", level_at(E.c.case_id, E.c.seq))
    columns["performed"] = ("visited", json_text(E.c.data, "performed"))
    columns["days"] = ("closed", days_between(dialect, E.c.effective_at, registered_at(E.c.case_id)))
    columns["channel"] = ("petition_cases_resolved", json_text(C.c.attributes, s["petition_channel_attribute"]))
    for flag in s["petition_flags"]:
        columns[f"flag_{flag}"] = ("petition_cases_resolved", petition_flag_condition(dialect, flag))
    for flag, attribute in s["petition_flag_details"].items():
        columns[f"detail_{flag}"] = ("petition_cases_resolved", json_text(C.c.attributes, attribute))
    columns["referral_in_resolved"] = ("referral_in", case((referral_reached_agreement(scope), referral_channel())))
    columns["judged_channel"] = ("on_time_judged", referral_channel())
    columns["handoff_path"] = ("handoff_in", referral_channel())
    columns["handoff_target"] = ("handoff_out", json_text(E.c.data, "target"))
    columns["handoff_outcome"] = ("handoff_out", json_text(E.c.data, s["handoff"]["out_feedback"]["field"]))
    columns.update({name: ("joint_mediations", expr) for name, expr in sandiao.joint_columns().items()})
    return columns


# Figures whose events are counted as well as their cases (提级: every escalation counts).
EVENTS_COUNTED = ("escalated",)
# Grouped from each case's place as the pass recorded it rather than by the statement, so that the fold of a county's
# year gives the county's breakdown by township and, split, each township's by village.
BY_PLACE = "by_village"
UNSET_COUNTS = "~unset"  # a tally's group: breakdown → its cases in no group (未填写)
SANDIAO = "~sandiao:"  # a tally's groups: a 三调 state figure's cases per path


@dataclass
class Contributions:
    """What the period's events contribute to the report, per case: the one pass's fold and the conversions
    (case, type, path). Each belongs to one case, so a subtree's contributions split into its children's."""

    folded: onepass.Folded
    conversions: list[tuple[int, Any, str]]

    @classmethod
    def empty(cls) -> Contributions:
        """A period with no events and no conversions."""
        return cls(onepass.Folded(), [])

    def by_child(self, root: str) -> dict[str, Contributions]:
        """Child path of ``root`` (``root`` itself for the cases at ``root``) → the contributions of its cases:
        those the child's own report counts."""
        return self._split(lambda path: child_of(path, root))

    def by_child_place(self) -> dict[str, Contributions]:
        """The place each case lies at (its path) → the contributions of its cases."""
        return self._split(lambda path: path)

    def _split(self, part: Callable[[str], str]) -> dict[str, Contributions]:
        folded = self.folded.split(part)
        conversions: dict[str, list[tuple[int, Any, str]]] = {}
        for row in self.conversions:
            conversions.setdefault(part(row[2]), []).append(row)
        return {
            child: Contributions(folded.get(child, onepass.Folded()), conversions.get(child, []))
            for child in folded.keys() | conversions.keys()
        }


def contributions(conn: Connection, scope: Scope) -> Contributions:
    """The period's contributions in ``scope``: one pass over its events (see ``onepass``), and the conversions
    (dated by the date they state, not by the event)."""
    with in_transaction(conn):  # SET LOCAL and the streamed rows need one on PostgreSQL (store.reads)
        return _contributions(conn, scope)


def _contributions(conn: Connection, scope: Scope) -> Contributions:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # JIT compiling the one statement (its subplans make it look costly) takes seconds; its rows stream
        # through a cursor, which PostgreSQL would plan for the first 10% (a sequential scan of every case);
        # at the default random_page_cost (disks of 1990s) it would scan every event of the period rather than
        # look up the subtree's cases' events by index; and a generic plan (psycopg prepares a statement run
        # five times) would not know the subtree's width. The settings last until the transaction ends.
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        conn.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    keys = {name: key for name, key in group_keys(scope, dialect).items() if name != BY_PLACE}
    columns = {name: column for name, column in pass_columns(scope, dialect).items() if name != BY_PLACE}
    one_pass = onepass.event_rows(
        figure_rules(), EVENT_FIGURES, columns, VALUE_COLUMNS, SOURCE, scope.in_scope(), C.c.jurisdiction_path
    )
    per_event = {g: keys[g][2] for g in keys}
    rows = corrected.rows(conn, one_pass.statement, scope.as_of)
    folded = onepass.fold(rows, EVENT_FIGURES, one_pass, per_event, EVENTS_COUNTED)
    statement = conversions_query(scope).add_columns(C.c.jurisdiction_path)
    conversions = [(r[0], r[1], r[3]) for r in corrected.rows(conn, statement, scope.as_of)]
    return Contributions(folded, conversions)


def compute_figures(conn: Connection, scope: Scope) -> Figures:
    """Every figure of the report for ``scope``."""
    return figures_from(conn, scope, contributions(conn, scope))


def figures_from(conn: Connection, scope: Scope, counted: Contributions) -> Figures:
    """Every figure of the report for ``scope`` from the contributions of its period (``contributions``, or a
    part of a larger subtree's by ``Contributions.by_child``), plus the labels."""
    return figures_of(conn, scope, tally_of(counted))


def tally_of(counted: Contributions) -> Tally:
    """What ``counted`` adds to a report, as numbers that add up over parts (see ``tally``)."""
    folded = counted.folded
    counts: dict[str, int] = {name: len(folded.cases.get(name, ())) for name in EVENT_FIGURES if name not in PASS_ONLY}
    counts["escalations"] = sum(folded.events.get("escalated", {}).values())
    for name, (figure, channel) in BY_CHANNEL.items():
        counts[name] = sum(1 for c in folded.cases.get(figure, ()) if folded.judged_channel.get(c) == channel)
    counts["agreement_amount_fen"] = int(sum(fen for _, fen in folded.last_agreement.values() if fen is not None))
    counts["performed"] = sum(1 for _, performed in folded.last_visit.values() if performed == "full")
    counts["joint_sessions"] = len(folded.joint)
    counts_events = {name for name, (_, events) in GROUP_FIGURES.items() if events}
    groups: dict[str, dict[Any, int]] = {
        name: {k: len(ids) for k, ids in sets.items()}
        for name, sets in folded.groups.items()
        if name != BY_PLACE and name not in counts_events
    }
    for name in counts_events:
        groups[name] = {k: sum(cases.values()) for k, cases in folded.group_events.get(name, {}).items()}
    groups["petitions"] = {key: len(ids) for key, ids in folded.petitions.items()}
    levels: dict[str, set[int]] = {}
    for case_id, (_, level) in folded.first_agreement.items():
        if level is not None:
            levels.setdefault(str(level), set()).add(case_id)
    groups["resolved_by_level"] = {level: len(ids) for level, ids in levels.items()}
    groups["conversions"] = _count_rows(counted.conversions)
    known_levels = {lvl.value for lvl in LEVEL_ORDER}
    unset = {}
    for name, figure in COMPLETE.items():
        if name == "resolved_by_level":
            sets: dict[Any, set[int]] = {k: ids for k, ids in levels.items() if k in known_levels}
        else:
            sets = folded.groups.get(name, {})
        filled = set().union(*(ids for key, ids in sets.items() if key != ""))
        unset[name] = len(folded.cases.get(figure, set()) - filled)
    groups[UNSET_COUNTS] = unset
    states = sandiao.states_at_end(folded.handoffs)
    for figure in sandiao.STATE_FIGURES:
        groups[SANDIAO + figure] = {p: len(ids) for p, ids in sandiao.state_figure(states, figure).items()}
    groups["handoffs"] = {key: len(ids) for key, ids in sandiao.handoff_groups(states).items()}
    groups["joint_sessions"] = sandiao.joint_sessions(folded.joint)
    places: dict[str, int] = {}  # BY_PLACE: the cases of its figure by their place
    for case_id in folded.cases.get(GROUP_FIGURES[BY_PLACE][0], ()):
        path = folded.paths[case_id]
        places[path] = places.get(path, 0) + 1
    return Tally(counts, groups, places, [days for _, days in folded.close_days])


def figures_of(conn: Connection, scope: Scope, tally: Tally) -> Figures:
    """Every figure of the report for ``scope`` from its tally (one pass's, or its parts' added up), with labels."""
    s = settings()
    reference = reference_labels(conn)
    counts, groups = tally.counts, tally.groups
    values: dict[str, Any] = {name: counts.get(name, 0) for name in EVENT_FIGURES if name not in PASS_ONLY}
    values["escalations"] = counts.get("escalations", 0)
    values["success_rate"] = rate(values["resolved"], values["mediation_concluded"])
    values["on_time_rate"] = rate(values["on_time"], values["on_time_judged"])
    for name in BY_CHANNEL:
        values[name] = counts.get(name, 0)
    values["court_on_time_rate"] = rate(values["court_on_time"], values["court_on_time_judged"])
    amount = counts.get("agreement_amount_fen", 0)
    values["agreement_amount_fen"] = amount
    values["agreement_amount"] = money_decimal(amount)
    values["performed"] = counts.get("performed", 0)
    values["performance_rate"] = rate(values["performed"], values["visited"])
    values["days_to_close_avg"], values["days_to_close_p90"] = onepass.average_and_p90(tally.close_days)
    petitions, petition_channels = onepass.petitions_by_flag(groups.get("petitions", {}))
    values["petitions_resolved"] = values.pop("petition_cases_resolved")
    conversions = groups.get("conversions", {})
    values["conversions"] = sum(conversions.values())

    def grouped(name: str) -> dict[str, int]:
        return groups.get(name, {})

    village: dict[str, int] = {}  # BY_PLACE: the cases of its figure by the child of the place they lie under
    for path, n in tally.places.items():
        child = child_of(path, scope.place.path)
        village[child] = village.get(child, 0) + n

    referral_labels = {k: v["label"] for k, v in s["referral_workflows"].items()}
    level_labels = {lvl.value: lvl.label for lvl in LEVEL_ORDER}
    months = month_labels(scope)
    breakdowns = {
        "by_source": labelled_rows(grouped("by_source"), reference.get("source", {}), all_keys=True),
        "by_category": labelled_rows(grouped("by_category"), reference.get("category", {}), all_keys=False),
        "by_village": keyed_by_code(
            labelled_rows(village, village_labels(conn, scope, village), all_keys=True), child_codes(conn, scope)
        ),
        "referral_in": labelled_rows(grouped("referral_in"), referral_labels, all_keys=True),
        "referral_in_resolved": labelled_rows(grouped("referral_in_resolved"), referral_labels, all_keys=True),
        "referral_out": labelled_rows(grouped("referral_out"), reference.get("referral_target", {}), all_keys=True),
        "petitions_resolved": labelled_rows(petitions, s["petition_flags"], all_keys=True),
        "petitions_by_channel": labelled_rows(petition_channels, {k: k for k in petition_channels}, all_keys=False),
        "by_venue": labelled_rows(grouped("by_venue"), reference.get("venue", {}), all_keys=False),
        "escalations": labelled_rows(grouped("escalations"), level_labels, all_keys=True),
        "resolved_by_level": labelled_rows(grouped("resolved_by_level"), level_labels, all_keys=True),
        "conversions": labelled_rows(conversions, reference.get("conversion_type", {}), all_keys=True),
        "monthly_taken_in": labelled_rows(grouped("monthly_taken_in"), months, all_keys=True),
        "monthly_resolved": labelled_rows(grouped("monthly_resolved"), months, all_keys=True),
    }
    values["referral_in_resolved"] = sum(r["count"] for r in breakdowns["referral_in_resolved"])
    for name in COMPLETE:
        add_unset(breakdowns[name], groups.get(UNSET_COUNTS, {}).get(name, 0))
    paths = s["handoff"]["paths"]
    for figure in sandiao.STATE_FIGURES:
        by_path = grouped(SANDIAO + figure)
        breakdowns[figure] = labelled_rows(by_path, paths, all_keys=True)
        values[figure] = sum(by_path.values())
    breakdowns["handoffs"] = labelled_rows(grouped("handoffs"), sandiao.handoff_labels(), all_keys=False)
    breakdowns["joint_sessions"] = labelled_rows(grouped("joint_sessions"), sandiao.agency_labels(conn), all_keys=False)
    values["joint_sessions"] = counts.get("joint_sessions", 0)
    return Figures(scope=scope, values=values, breakdowns=breakdowns)


def _months(scope: Scope) -> int:
    return (scope.end.year - scope.start.year) * 12 + scope.end.month - scope.start.month
