"""Drill-down: the exact cases behind each figure, from the same conditions that count them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, false, or_, select

from mediation_flow.errors import InvalidData
from mediation_flow.stats import corrected, sandiao
from mediation_flow.stats.definitions import FigureDefinition, figures_at, settings
from mediation_flow.stats.figures import (
    BY_CHANNEL,
    EVENT_FIGURES,
    PASS_ONLY,
    SOURCE,
    C,
    E,
    child_codes,
    close_days_query,
    conversions_query,
    event_conditions,
    grouped_conditions,
    level_at_agreement,
    performed_query,
    petition_flag_condition,
    referral_channel,
    referral_in_resolved_query,
)
from mediation_flow.stats.scope import Scope
from mediation_flow.stats.unset import UNSET
from mediation_flow.store.sqlbits import json_text

# Rates drill down to their numerator; the denominator is a figure of its own.
ALIASES = {
    "success_rate": "resolved",
    "on_time_rate": "on_time",
    "performance_rate": "performed",
    "court_on_time_rate": "court_on_time",
    "petition_cases_resolved": "petitions_resolved",  # the pass's own name for it
}
# Figures counted by walking their events in order (三调 states at the period's end, 一庭两所 sessions).
WALKED = {*sandiao.STATE_FIGURES, "handoffs", "joint_sessions"}
GROUPED = {
    "by_venue",
    "by_source",
    "by_category",
    "by_village",
    "referral_in",
    "referral_out",
    "escalations",
    "monthly_taken_in",
    "monthly_resolved",
}
SPECIAL = {
    "petitions_by_channel",
    "performed",
    "agreement_amount",
    "resolved_by_level",
    "referral_in_resolved",
    "petitions_resolved",
    "conversions",
    "days_to_close_avg",
    "days_to_close_p90",
}


def drillable() -> set[str]:
    return (set(EVENT_FIGURES) - set(PASS_ONLY)) | set(BY_CHANNEL) | set(ALIASES) | GROUPED | SPECIAL | WALKED


def drill_definition(figure: str, level: str) -> FigureDefinition:
    """The definition a drill-down of ``figure`` (for a jurisdiction of ``level``) is titled and explained by: its
    own, or else that of the figure it counts as (``ALIASES``). Every drillable figure has one (a test checks), so no
    page names a figure by code."""
    figures = figures_at(level)
    return figures.get(figure) or figures[ALIASES[figure]]


def case_ids(conn: Connection, scope: Scope, figure: str, key: str | None = None) -> list[int]:
    """Ids of the cases counted in ``figure`` (and in its group ``key`` for a breakdown), ascending."""
    figure = ALIASES.get(figure, figure)
    if figure in WALKED:
        return sorted(_walked(conn, scope, figure, key))
    return sorted(corrected.case_ids(conn, _query(conn, scope, figure, key), scope.as_of))


def _walked(conn: Connection, scope: Scope, figure: str, key: str | None) -> set[int]:
    """The cases of a walked figure, from the same rows and the same walk as the report's one pass."""
    conditions = event_conditions(scope)
    if figure == "joint_sessions":
        columns = list(sandiao.joint_columns().values())
        query = (
            select(E.c.case_id, *columns).select_from(SOURCE).where(scope.in_scope(), conditions["joint_mediations"])
        )
        joint = [(int(r[0]), sandiao.joint_agencies(r[1:])) for r in corrected.rows(conn, query, scope.as_of)]
        return sandiao.joint_cases(joint, key)
    rows = corrected.rows(conn, sandiao.handoff_query(scope, conditions, referral_channel()), scope.as_of)
    states = sandiao.states_at_end(sandiao.events_of(rows))
    if figure == "handoffs":
        groups = sandiao.handoff_groups(states)
        return groups.get(key, set()) if key is not None else set().union(*groups.values())
    by_path = sandiao.state_figure(states, figure)
    return by_path.get(key, set()) if key is not None else set().union(*by_path.values())


def _petition_flag(dialect: str, shown: str) -> Any:
    """A petition flag as a breakdown key names it: ``repeat``, or ``to_beijing.ticket`` with its detail."""
    flag, _, detail = shown.partition(".")
    condition = petition_flag_condition(dialect, flag)
    attribute = settings()["petition_flag_details"].get(flag)
    if attribute is None:
        return condition if not detail else false()
    recorded = json_text(C.c.attributes, attribute)
    return and_(condition, recorded == detail) if detail else and_(condition, or_(recorded.is_(None), recorded == ""))


def _query(conn: Connection, scope: Scope, figure: str, key: str | None) -> Any:
    dialect = conn.dialect.name
    base = select(E.c.case_id).select_from(SOURCE).where(scope.in_scope())
    conditions = event_conditions(scope)
    if figure in GROUPED:
        condition, grouping, _ = grouped_conditions(scope, dialect)[figure]
        if figure == "by_village" and key is not None:  # the public key is the code; the grouping, a path
            key = {code: path for path, code in child_codes(conn, scope).items()}.get(key, "")
        query = base.where(condition)
        if key == UNSET:  # in none of the groups: the field was left empty on every counted event
            filled = base.where(condition, grouping.isnot(None), grouping != "")
            return query.where(E.c.case_id.notin_(filled.scalar_subquery()))
        return query.where(grouping == key) if key is not None else query
    if figure == "petitions_resolved":
        query = base.where(conditions["petition_cases_resolved"])
        return query.where(petition_flag_condition(dialect, key)) if key is not None else query
    if figure == "petitions_by_channel":
        flag, _, channel = (key or "").partition(":")
        query = base.where(conditions["petition_cases_resolved"], _petition_flag(dialect, flag))
        attribute = json_text(C.c.attributes, settings()["petition_channel_attribute"])
        return query.where(attribute == channel) if channel else query.where(attribute.is_(None))
    if figure in ("referral_in_resolved", "conversions"):
        query = referral_in_resolved_query(scope) if figure == "referral_in_resolved" else conversions_query(scope)
        sub = query.subquery()
        keyed = select(sub.c.case_id)
        return keyed.where(sub.c.key == key) if key is not None else keyed
    if figure == "resolved_by_level":
        first, level = level_at_agreement(scope)
        query = select(first.c.case_id)
        if key == UNSET:
            return query.where(level.is_(None))
        return query.where(level == key) if key is not None else query
    if figure == "performed":
        return performed_query(scope)
    if figure == "agreement_amount":
        return base.where(conditions["resolved"])
    if figure in ("days_to_close_avg", "days_to_close_p90"):
        return select(close_days_query(scope, dialect).c.case_id)
    if figure in conditions:
        return base.where(conditions[figure])
    raise InvalidData([{"field": "figure", "message": f"未知指标：{figure[:40]}"}])
