"""Lists of cases as people see them: 我的网格, 我的案件, the case search, and the API's case list.

Every list is the user's subtree (``queries.filtered_cases``) and every row is a :class:`CaseItem` with the
labels, names and due status the tables show; parties never appear in a list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from mediation_flow.accounts.personal_data import mask_text
from mediation_flow.accounts.policy import Actor, Permission, require
from mediation_flow.cases.queries import DEFAULT_SORT, CaseFilters, handlers_within, list_cases, user_names
from mediation_flow.cases.queues import due_soon_until
from mediation_flow.cases.referral_facts import referral_line
from mediation_flow.cases.schemas import CasePublic
from mediation_flow.display.labels import label
from mediation_flow.places.jurisdictions import places_within, village_names, village_of, villages_within
from mediation_flow.places.reference import reference_labels
from mediation_flow.store import clock
from mediation_flow.store.config import get_settings
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import CASES
from mediation_flow.store.unchanged import KeptWhileUnchanged
from mediation_flow.workflow.deadlines import days_until, running_unit
from mediation_flow.workflow.registry import REGISTRY
from mediation_flow.workflow.schema import WorkflowSpec
from mediation_flow.workflow.workdays import WorkdayCalendar, default_calendar


@dataclass(slots=True)
class CaseItem:
    """One row of a case table (attributes, not a dict: Jinja reads an attribute in one step)."""

    id: int
    number: str
    title: str
    state: str
    state_label: str
    risk_grade: str
    risk_label: str
    category: str
    category_label: str
    source: str
    source_label: str
    level: str
    mediator_id: int | None
    mediator: str
    village: str
    jurisdiction_path: str
    due_date: date | None
    due_status: str
    days_left: int | None
    registered_at: datetime
    referral: str = ""  # 来文单位 and 来文编号 of a case referred in
    handoff: str = ""  # 已移送未签收 / 已签收 / 已反馈 / 已退回 while a partner agency has the case
    due_unit: str = "calendar_days"  # the unit ``days_left`` counts in: that of the clock due first
    shortcuts: tuple[tuple[str, str], ...] = ()  # (trigger, label) of the row's actions the viewer may take now


def due_status(due: date | None, today: date, until: date) -> str:
    """overdue / due_soon / on_time / '' (no running clock) for a case's nearest due date; ``until`` is the
    due-soon horizon (``queues.due_soon_until``)."""
    if due is None:
        return ""
    if due < today:
        return "overdue"
    return "due_soon" if due <= until else "on_time"


def _workflows(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, int], WorkflowSpec]:
    return {key: REGISTRY.get(conn, *key).spec for key in {(r["workflow_name"], r["workflow_version"]) for r in rows}}


def _due_in(row: Mapping[str, Any], workflow: WorkflowSpec, today: date, calendar: WorkdayCalendar) -> tuple[int, str]:
    """Days to the row's nearest due date, counted in the unit of the clock due then (the case page's count)."""
    unit = running_unit(workflow, row.get("clocks") or {}, row["due_date"])
    return days_until(unit, row["due_date"], today, calendar), unit


def case_items(conn: Connection, rows: list[dict[str, Any]], today: date) -> list[CaseItem]:
    """The rows (case columns) as table rows: labels, mediator and village names, due status, and
    the title as the case page shows it by default: an ID or phone number typed into it masked (``mask_text``)."""
    if not rows:
        return []
    reference = reference_labels(conn)
    workflows = _workflows(conn, rows)
    calendar = default_calendar()
    names = user_names(conn, {r["mediator_id"] for r in rows if r["mediator_id"]})
    villages = village_names(conn)
    until = due_soon_until(today, get_settings().due_soon_working_days)  # once, not per row
    risks, categories, sources = (
        reference.get("risk_grade", {}),
        reference.get("category", {}),
        reference.get("source", {}),
    )
    items = [
        CaseItem(
            id=r["id"],
            number=r["number"],
            title=mask_text(r["title"]),
            state=r["state"],
            state_label=_state_label(workflows[(r["workflow_name"], r["workflow_version"])], r["state"]),
            risk_grade=r["risk_grade"],
            risk_label=risks.get(r["risk_grade"], r["risk_grade"]),
            category=r["category"],
            category_label=categories.get(r["category"], r["category"]),
            source=r["source"],
            source_label=sources.get(r["source"], r["source"]),
            level=r["level"],
            mediator_id=r["mediator_id"],
            mediator=names.get(r["mediator_id"] or 0, ""),
            village=village_of(r["jurisdiction_path"], villages),
            jurisdiction_path=r["jurisdiction_path"],
            due_date=r["due_date"],
            due_status=due_status(r["due_date"], today, until),
            days_left=None,
            registered_at=r["registered_at"],
            referral=referral_line(r.get("attributes"), reference),
            handoff=label("handoff", r.get("handoff")),
        )
        for r in rows
    ]
    for item, r in zip(items, rows, strict=True):
        if r["due_date"] is not None:
            workflow = workflows[(r["workflow_name"], r["workflow_version"])]
            item.days_left, item.due_unit = _due_in(r, workflow, today, calendar)
    return items


def _state_label(workflow: WorkflowSpec, state: str) -> str:
    found = workflow.states.get(state)
    return found.label if found is not None else state


def _today() -> date:
    return clock.local_date(clock.utcnow())


@dataclass
class CaseList:
    items: list[CaseItem]
    total: int
    page: int = 1
    page_size: int = 50
    states: dict[str, str] | None = None  # the state filter's options, where the page offers one
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # the search's other filters' options


def case_rows(
    engine: Engine, actor: Actor, filters: CaseFilters, *, page: int = 1, page_size: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """One page of raw case rows in the user's subtree (the API's list) and the total; titles as ``actor`` is
    shown them."""
    day = _today()
    with reads(engine) as conn:

        def work_out() -> tuple[list[dict[str, Any]], int]:
            rows, total = list_cases(
                conn, actor, filters, today=day, page=page, page_size=page_size, columns=_PUBLIC_COLUMNS
            )
            return [{**r, "title": mask_text(r["title"])} for r in rows], total

        if filters.q:  # a search for a person is not kept (nor its text, in a key)
            return work_out()
        return _ROWS.get(conn, (actor, repr(filters), day, page, page_size), work_out)


# The API's pages of the list, kept while nothing is written (store.unchanged): the day is in the key.
_ROWS: KeptWhileUnchanged[tuple[list[dict[str, Any]], int]] = KeptWhileUnchanged(size=512)


# The API's list answers with ``CasePublic``: only its columns are read (no free text, no JSON to decode).
_PUBLIC_COLUMNS = tuple(CASES.c[name] for name in CasePublic.model_fields)


def search(
    engine: Engine,
    actor: Actor,
    *,
    q: str | None,
    state: str | None,
    page: int,
    page_size: int,
    filters: CaseFilters | None = None,
    sort: str = DEFAULT_SORT,
) -> CaseList:
    """The case search: people, case numbers or title words (``cases.search``) in ``state`` and ``filters``;
    newest first (or by ``sort``: ``queries.SORTS``), with the options of every filter the user may use."""
    day = _today()
    filters = replace(filters or CaseFilters(), q=q or None, state=[state] if state else [])
    with reads(engine) as conn:
        rows, total = list_cases(conn, actor, filters, today=day, page=page, page_size=page_size, sort=sort)
        items = case_items(conn, rows, day)
        states = {n: s.label for n, s in REGISTRY.current(conn, "people_mediation").spec.states.items()}
        options = search_options(conn, actor)
    return CaseList(items, total, page, page_size, states, options)


SEARCH_FILTERS = ("village", "grid", "category", "source", "risk_grade", "mediator_id", "date_from", "date_to")


def search_filters(values: Mapping[str, str]) -> tuple[CaseFilters, list[str]]:
    """The search page's filters from its query string, and a Chinese message for each one not understood
    (left out of the search rather than refused: a search page always answers)."""
    problems: list[str] = []
    filters = CaseFilters(
        village=values.get("village") or None,
        grid=values.get("grid") or None,
        category=values.get("category") or None,
        source=values.get("source") or None,
        risk_grade=values.get("risk_grade") or None,
    )
    if values.get("mediator_id"):
        if values["mediator_id"].isdigit():
            filters.mediator_id = int(values["mediator_id"])
        else:
            problems.append("调解员选择无效")
    for name, shown in (("date_from", "登记日期起"), ("date_to", "登记日期止")):
        if values.get(name):
            try:
                day = date.fromisoformat(values[name])
            except ValueError:
                problems.append(f"“{shown}”不是有效日期")
                continue
            setattr(filters, "registered_from" if name == "date_from" else "registered_to", day)
    return filters, problems


def search_options(conn: Connection, actor: Actor) -> dict[str, dict[str, str]]:
    """The choices of the search's filters: the user's villages and grids, the reference lists, the mediators."""
    reference = reference_labels(conn)
    grids = {p.code: p.name for p in places_within(conn, actor.scope_path, ("grid",))}
    mediators = {str(u["id"]): u["display_name"] for u in handlers_within(conn, actor)}
    return {
        "village": villages_within(conn, actor.scope_path),
        "grid": grids,
        "category": dict(reference.get("category", {})),
        "source": dict(reference.get("source", {})),
        "risk_grade": dict(reference.get("risk_grade", {})),
        "mediator_id": mediators,
    }


def grid_cases(engine: Engine, actor: Actor, *, limit: int = 100) -> CaseList:
    """The newest cases of the user's subtree (a grid worker's grid)."""
    day = _today()
    with reads(engine) as conn:
        rows, total = list_cases(conn, actor, CaseFilters(), today=day, page_size=limit)
        return CaseList(case_items(conn, rows, day), total, 1, limit)


@dataclass
class OwnCases:
    """我的案件: the user's open cases grouped by state label (workflow order, nearest due first), and the
    registered cases of their subtree nobody has taken yet."""

    groups: dict[str, list[CaseItem]]
    unassigned: list[CaseItem]
    count: int


def own_cases(engine: Engine, actor: Actor, *, limit: int = 200) -> OwnCases:
    require(actor, Permission.OWN_CASE_LIST)
    day = _today()
    with reads(engine) as conn:
        mine, _ = list_cases(
            conn, actor, CaseFilters(mediator_id=actor.id, open_only=True), today=day, page_size=limit, sort="due"
        )  # nearest deadline first, as the page shows them (and as the first ``limit`` are chosen)
        waiting, _ = list_cases(conn, actor, CaseFilters(state=["registered"]), today=day, page_size=limit, sort="due")
        items = case_items(conn, mine, day)
        unassigned = case_items(conn, [r for r in waiting if r["mediator_id"] is None], day)
        order = list(REGISTRY.current(conn, "people_mediation").spec.states)
    groups: dict[str, list[CaseItem]] = {}
    for item in sorted(items, key=lambda i: (order.index(i.state) if i.state in order else 99, str(i.due_date))):
        groups.setdefault(item.state_label, []).append(item)
    return OwnCases(groups, unassigned, len(items))
