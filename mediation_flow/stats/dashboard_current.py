"""The dashboard's 当前 (now) figures: a subtree's open cases by state and level, overdue, in mediation, open and
ever escalated — from the maintained counts (``store.counters``), not from the cases — and the cases behind each.

Open cases are those not in a final state of any workflow; overdue, those whose nearest running deadline
(``dispute_case.due_date``, the overdue queue's test) is before today; in mediation, those in a state of
``mediation_states`` (definitions.yaml). The lists (:func:`current_case_ids`) select the case rows by the same
conditions the counts are kept by, so a number and its list of cases cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, and_, distinct, func, select

from mediation_flow.accounts.policy import Actor
from mediation_flow.cases.lists import case_items
from mediation_flow.errors import InvalidData, NotFound
from mediation_flow.places.jurisdictions import get_by_code
from mediation_flow.places.subtree import in_subtree
from mediation_flow.stats.definitions import settings
from mediation_flow.stats.figures import SOURCE, C, E
from mediation_flow.stats.service import check_report_access
from mediation_flow.store.counters import counts
from mediation_flow.store.fast import dict_rows
from mediation_flow.store.reads import reads
from mediation_flow.store.sqlbits import child_path
from mediation_flow.vocabulary import Level
from mediation_flow.workflow.registry import REGISTRY

CURRENT_FIGURES = ("open", "overdue", "in_mediation", "escalated_open", "state", "level")
TITLES = {"open": "办理中", "overdue": "超期", "in_mediation": "调解中（含中止）", "escalated_open": "已提级、办理中",
          "state": "办理中", "level": "办理中"}  # fmt: skip
MEANINGS = {  # what a list of cases behind a figure holds (its subtitle; {states}: the 调解中 states' labels)
    "open": "尚未结案（含未受理、已中止）的案件。",
    "overdue": "尚未结案、最近一个未停止的办理期限已过的案件（与督办队列的“超期”相同）。",
    "in_mediation": "尚未结案、目前处于{states}的案件。",
    "escalated_open": "尚未结案、曾经提级处理的案件。",
    "state": "尚未结案、目前处于“{shown}”的案件。",
    "level": "尚未结案、目前由{shown}处理的案件。",
}


@dataclass
class Current:
    """One area's open cases now."""

    open_total: int = 0
    overdue: int = 0
    in_mediation: int = 0
    escalated_open: int = 0
    by_state: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_level: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def open_states(conn: Connection) -> list[str]:
    """Every state of the current workflows that is not final (workflow order)."""
    REGISTRY.current(conn, "people_mediation")  # loads every current workflow
    finals = set(REGISTRY.final_states())
    found: dict[str, None] = {}
    for name, version in REGISTRY.current_versions().items():
        for state in REGISTRY.get(conn, name, version).spec.states:
            if state not in finals:
                found.setdefault(state)
    return list(found)


def state_labels(conn: Connection) -> dict[str, str]:
    """Every open state of the current workflows → its label (in workflow order; the first workflow's label)."""
    labels: dict[str, str] = {}
    states = open_states(conn)
    for name, version in REGISTRY.current_versions().items():
        for state, spec in REGISTRY.get(conn, name, version).spec.states.items():
            labels.setdefault(state, spec.label)
    return {s: labels[s] for s in states}


def current(conn: Connection, path: str, today: date, *, by_child: bool) -> dict[str, Current]:
    """The open cases of the subtree at ``path`` now, as one area (key "") or per child place path."""
    states = open_states(conn)
    mediating = set(settings()["mediation_states"])
    found: dict[str, Current] = defaultdict(Current)
    for row in counts(conn, path, states, today=today, by_child=by_child):
        area = found[row.child]
        area.open_total += row.n
        area.by_state[row.state] += row.n
        area.by_level[row.level] += row.n
        area.overdue += row.overdue
        area.in_mediation += row.n if row.state in mediating else 0
    child: Any = child_path(conn.dialect.name, C.c.jurisdiction_path, path) if by_child else None
    escalated = (
        select(*([child] if child is not None else []), func.count(distinct(E.c.case_id)))
        .select_from(SOURCE)
        .where(E.c.trigger == "escalate", C.c.state.in_(states), in_subtree(C.c.jurisdiction_path, path))
    )
    if child is not None:
        escalated = escalated.group_by(child)
    for hit in conn.execute(escalated):
        key, n = (str(hit[0]), hit[1]) if child is not None else ("", hit[0])
        found[key].escalated_open = int(n)
    return dict(found)


def current_case_ids(conn: Connection, path: str, figure: str, key: str | None, today: date) -> list[int]:
    """The ids of the cases behind a 当前 figure of the subtree at ``path`` (``key``: the state or level)."""
    if figure not in CURRENT_FIGURES or (figure in ("state", "level")) != (key is not None):
        raise InvalidData([{"field": "figure", "message": "未知指标"}])
    states = open_states(conn)
    if figure == "state" and key not in states:
        raise InvalidData([{"field": "key", "message": "未知的办理状态（或该状态已结案）"}])
    if figure == "level" and key not in {lv.value for lv in Level}:
        raise InvalidData([{"field": "key", "message": "未知的处理层级"}])
    where = [C.c.state.in_(states), in_subtree(C.c.jurisdiction_path, path)]
    if figure == "overdue":
        where.append(and_(C.c.due_date.isnot(None), C.c.due_date < today))
    elif figure == "in_mediation":
        where.append(C.c.state.in_(settings()["mediation_states"]))
    elif figure == "state":
        where.append(C.c.state == key)
    elif figure == "level":
        where.append(C.c.level == key)
    elif figure == "escalated_open":
        where.append(C.c.id.in_(select(E.c.case_id).where(E.c.trigger == "escalate")))
    return [int(i) for i in conn.execute(select(C.c.id).where(*where).order_by(C.c.id)).scalars()]


@dataclass
class CurrentCases:
    title: str
    meaning: str  # which cases the list holds (MEANINGS)
    total: int
    items: list[Any]


def current_case_items(
    engine: Engine, actor: Actor, *, code: str, figure: str, key: str | None, today: date, limit: int
) -> CurrentCases:
    """The cases behind a 当前 figure of jurisdiction ``code`` (within ``actor``'s subtree), as the list page's
    rows: the total and the first ``limit`` by case id."""
    with reads(engine) as conn:
        try:
            place = get_by_code(conn, code)
        except NotFound:
            raise NotFound("辖区不存在或不在您的管辖范围内", code=code[:32]) from None
        check_report_access(actor, place.path)
        ids = current_case_ids(conn, place.path, figure, key, today)
        rows = dict_rows(conn.execute(select(C).where(C.c.id.in_(ids[:limit])).order_by(C.c.id)))
        items = case_items(conn, rows, today)
        labels = state_labels(conn)
        shown = labels.get(key or "") if figure == "state" else None
        if figure == "level":
            shown = next((f"{lv.label}级" for lv in Level if lv.value == key), None)
    title = f"{place.name}：{TITLES[figure]}" + (f"（{shown}）" if shown else "")
    states = "、".join(f"“{labels[s]}”" for s in settings()["mediation_states"] if s in labels)
    return CurrentCases(title, MEANINGS[figure].format(shown=shown or key, states=states), len(ids), items)
