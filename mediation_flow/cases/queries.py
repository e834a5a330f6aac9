"""Reading cases: the filtered list and the full case, always within what the user may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Boolean, Connection, Engine, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from mediation_flow.accounts.policy import Actor, Permission, can_see_case, may_be_assigned, roles_with
from mediation_flow.cases.search import q_condition, registered_between, searched_name
from mediation_flow.errors import CaseNotFound
from mediation_flow.places.subtree import in_subtree, path_upper, within
from mediation_flow.store.fast import Prepared, dict_rows
from mediation_flow.store.reads import reads
from mediation_flow.store.tables import CASES, EVENTS, PARTIES, PARTY_KEYS, USERS
from mediation_flow.store.tables import JURISDICTIONS as JUR
from mediation_flow.workflow.registry import REGISTRY, CompiledWorkflow, WorkflowRegistry

MAX_PAGE_SIZE = 200


@dataclass
class CaseFilters:
    state: list[str] = field(default_factory=list)
    village: str | None = None  # jurisdiction code of a village (or any node): its subtree
    grid: str | None = None
    category: str | None = None
    source: str | None = None
    risk_grade: str | None = None
    level: str | None = None
    mediator_id: int | None = None
    overdue: bool | None = None
    open_only: bool = False
    q: str | None = None  # the search box: a person, a case number or words of a title (cases.search)
    registered_from: date | None = None  # local days, both included
    registered_to: date | None = None


class _InScope(ColumnElement[bool]):
    """The user's subtree as a condition no index answers (a scope is broad; see ``in_subtree``'s
    ``use_index``): on SQLite the byte range on ``+path`` (the unary plus keeps the planner off the path
    index, and two comparisons cost less than SQLite's case-insensitive LIKE on every row of a queue
    count); elsewhere ``in_subtree``'s LIKE."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True
    _traverse_internals: list[tuple[str, Any]] = [  # noqa: RUF012 - SQLAlchemy declares it per instance
        ("as_like", InternalTraversal.dp_clauseelement),
        ("low", InternalTraversal.dp_clauseelement),
        ("high", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, path: str) -> None:
        self.as_like = in_subtree(CASES.c.jurisdiction_path, path, use_index=False)
        self.low: BindParameter[str] = bindparam(None, path)
        self.high: BindParameter[str] = bindparam(None, path_upper(path))


@compiles(_InScope)
def _scope_like(element: _InScope, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.as_like, **kw)


@compiles(_InScope, "sqlite")
def _scope_range(element: _InScope, compiler: SQLCompiler, **kw: Any) -> str:
    column = "+" + compiler.process(CASES.c.jurisdiction_path, **kw)
    low, high = compiler.process(element.low, **kw), compiler.process(element.high, **kw)
    return f"({column} >= {low} AND {column} < {high})"


def scope_clause(actor: Actor) -> Any:
    """The SQL condition limiting cases to what the user may see (``policy.can_see_case``): the jurisdiction
    subtree (True for admins); for a partner agency's user, only the cases handed to or by its agency."""
    where = CASES.c.id.isnot(None) if actor.scope_path is None else _InScope(actor.scope_path)
    if actor.is_agency_user:
        return and_(where, CASES.c.agency_id == (actor.agency_id if actor.agency_id is not None else -1))
    return where


def _subtree_path(conn: Connection, code: str) -> str | None:
    return conn.execute(select(JUR.c.path).where(JUR.c.code == code)).scalar()


def filtered_cases(conn: Connection, actor: Actor, filters: CaseFilters, *, today: date) -> Select[Any]:
    query = select(CASES).where(scope_clause(actor))
    if filters.state:
        query = query.where(CASES.c.state.in_(filters.state))
    for code in (filters.village, filters.grid):
        if code:
            path = _subtree_path(conn, code)
            query = query.where(in_subtree(CASES.c.jurisdiction_path, path) if path else CASES.c.id.is_(None))
    for column, value in (
        (CASES.c.category, filters.category),
        (CASES.c.source, filters.source),
        (CASES.c.risk_grade, filters.risk_grade),
        (CASES.c.level, filters.level),
        (CASES.c.mediator_id, filters.mediator_id),
    ):
        if value is not None and value != "":
            query = query.where(column == value)
    if filters.overdue is True:
        query = query.where(CASES.c.due_date < today)
    elif filters.overdue is False:
        query = query.where(or_(CASES.c.due_date.is_(None), CASES.c.due_date >= today))
    if filters.open_only:
        query = query.where(CASES.c.state.notin_(REGISTRY.final_states()))
    if filters.q and filters.q.strip():
        query = query.where(q_condition(conn, filters.q))
    return query.where(*registered_between(filters.registered_from, filters.registered_to))


# The search table's sortable columns (a name; ``-name`` for descending). Risk in its colours' order, red first;
# cases without a due date after those with one, whichever the direction.
_RISK_ORDER = case({"red": 0, "orange": 1, "yellow": 2, "blue": 3}, value=CASES.c.risk_grade, else_=4)
SORTS: dict[str, tuple[Any, ...]] = {
    "registered": (CASES.c.registered_at,),
    "number": (CASES.c.year, CASES.c.seq),
    "due": (CASES.c.due_date,),
    "risk": (_RISK_ORDER,),
}
DEFAULT_SORT = "-registered"


def sort_order(sort: str) -> list[Any]:
    """ORDER BY for ``sort`` (unknown: newest first), the case id last so that pages never overlap."""
    name = sort.removeprefix("-")
    if name not in SORTS:
        return sort_order(DEFAULT_SORT)
    descending = sort.startswith("-")
    order: list[Any] = [CASES.c.due_date.is_(None)] if name == "due" else []
    order += [c.desc() if descending else c.asc() for c in (*SORTS[name], CASES.c.id)]
    return order


def list_cases(
    conn: Connection,
    actor: Actor,
    filters: CaseFilters,
    *,
    today: date,
    page: int = 1,
    page_size: int = 50,
    sort: str = DEFAULT_SORT,
    columns: Sequence[Any] = (CASES,),
) -> tuple[list[dict[str, Any]], int]:
    """One page of cases (newest first unless ``sort`` says otherwise) and the total count: a search by a
    party's name from its key rows (``name_page``), everything else from the cases (``cases_page``). The rows
    carry ``columns`` (every column unless asked for fewer; ``id`` among them)."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    by_name = name_page(conn, actor, filters, page=page, page_size=page_size, sort=sort, columns=columns)
    if by_name is not None:
        return by_name
    return cases_page(conn, actor, filters, today=today, page=page, page_size=page_size, sort=sort, columns=columns)


def cases_page(
    conn: Connection,
    actor: Actor,
    filters: CaseFilters,
    *,
    today: date,
    page: int,
    page_size: int,
    sort: str,
    columns: Sequence[Any] = (CASES,),
) -> tuple[list[dict[str, Any]], int]:
    """``list_cases`` read from the cases themselves (``filtered_cases``), whatever the filters."""
    query = filtered_cases(conn, actor, filters, today=today)
    where = query.whereclause
    counted = select(func.count()).select_from(CASES)
    total = conn.execute(counted if where is None else counted.where(where)).scalar_one()
    # The page's ids first (ordered from the filter's index entries), then only those 50 rows: ordering the
    # whole rows of a filtered set carries every column of every match through the sort.
    paged = query.with_only_columns(CASES.c.id).order_by(*sort_order(sort)).limit(page_size)
    ids = list(conn.execute(paged.offset((page - 1) * page_size)).scalars())
    if not ids:
        return [], int(total)
    found = {r["id"]: r for r in dict_rows(conn.execute(select(*columns).where(CASES.c.id.in_(ids))))}
    return [found[i] for i in ids], int(total)


def _on_case_columns(filters: CaseFilters) -> bool:
    """A filter ``filtered_cases`` applies to a case column. A name search's key rows answer the others on
    their own: the place (the user's area, a village or grid) and the registration days, copied from the case."""
    columns = (filters.category, filters.source, filters.risk_grade, filters.level, filters.mediator_id)
    return (
        bool(filters.state)
        or filters.open_only
        or filters.overdue is not None
        or any(v not in (None, "") for v in columns)
    )


def name_page(
    conn: Connection,
    actor: Actor,
    filters: CaseFilters,
    *,
    page: int,
    page_size: int,
    sort: str,
    columns: Sequence[Any] = (CASES,),
) -> tuple[list[dict[str, Any]], int] | None:
    """``list_cases`` for a search by a party's name, counted and paged from ``party_key``'s lookup index
    alone (it carries the case, its place and registration time: migration 0018), so only the page's cases
    are read; a case with two parties of that name counts once. None when the search is something else, sorted by
    something else, filtered on a case column, or by a partner agency's user (scoped by the case's agency):
    ``list_cases`` then reads the cases. The scope is ``scope_clause``'s subtree on the key's copy of the path
    (kept with the case's: ``write_party_keys``, ``places.changes.move_place``) and again on the page's rows."""
    sort = sort if sort.removeprefix("-") in SORTS else DEFAULT_SORT
    if sort.removeprefix("-") != "registered" or actor.is_agency_user or _on_case_columns(filters):
        return None
    name = searched_name(conn, filters.q)
    if name is None:
        return None
    path = PARTY_KEYS.c.jurisdiction_path
    where = [PARTY_KEYS.c.kind == "name", PARTY_KEYS.c.value == name]
    if actor.scope_path is not None:
        where.append(in_subtree(path, actor.scope_path))
    for code in (filters.village, filters.grid):
        if code:
            place = _subtree_path(conn, code)
            if place is None:
                return [], 0
            where.append(in_subtree(path, place))
    where += registered_between(filters.registered_from, filters.registered_to, PARTY_KEYS.c.registered_at)
    keys = select(PARTY_KEYS.c.registered_at, PARTY_KEYS.c.case_id).where(*where).distinct()
    total = conn.execute(select(func.count()).select_from(keys.subquery())).scalar_one()
    order: list[Any] = [PARTY_KEYS.c.registered_at, PARTY_KEYS.c.case_id]
    order = [c.desc() for c in order] if sort.startswith("-") else order
    ids = [r.case_id for r in conn.execute(keys.order_by(*order).limit(page_size).offset((page - 1) * page_size))]
    if not ids:
        return [], int(total)
    rows = conn.execute(select(*columns).where(CASES.c.id.in_(ids), scope_clause(actor)).order_by(*sort_order(sort)))
    return dict_rows(rows), int(total)


# The case page and every transition response read these three: compiled once (mediation_flow.store.fast.Prepared).
_CASE_ROW = Prepared(select(CASES).where(CASES.c.id == bindparam("case_id")))
_PARTIES = Prepared(select(PARTIES).where(PARTIES.c.case_id == bindparam("case_id")).order_by(PARTIES.c.id))
_RECORDER = USERS.alias("recorder")
_EVENTS = Prepared(
    select(EVENTS, USERS.c.display_name.label("actor_name"), _RECORDER.c.display_name.label("recorder_name"))
    .select_from(
        EVENTS.outerjoin(USERS, EVENTS.c.actor_id == USERS.c.id).outerjoin(
            _RECORDER, EVENTS.c.recorded_by == _RECORDER.c.id
        )
    )
    .where(EVENTS.c.case_id == bindparam("case_id"))
    .order_by(EVENTS.c.seq)
)


def get_case_row(conn: Connection, actor: Actor, case_id: int) -> dict[str, Any]:
    row = _CASE_ROW.first(conn, {"case_id": case_id})
    if row is None or not can_see_case(actor, row):
        raise CaseNotFound("案件不存在或无权查看", case_id=case_id)
    return row


def case_parties(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    return _PARTIES.rows(conn, {"case_id": case_id})


def case_events(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    return _EVENTS.rows(conn, {"case_id": case_id})


def case_workflow(conn: Connection, row: dict[str, Any], registry: WorkflowRegistry = REGISTRY) -> CompiledWorkflow:
    return registry.get(conn, row["workflow_name"], row["workflow_version"])


_NAMES_AT_ONCE = 8
_USER_NAMES = Prepared(
    select(USERS.c.id, USERS.c.display_name).where(
        USERS.c.id.in_([bindparam(f"id{n}", type_=USERS.c.id.type) for n in range(_NAMES_AT_ONCE)])
    )
)


def user_names(conn: Connection, ids: set[int]) -> dict[int, str]:
    """Users' names by id, eight at a time through one prepared statement of fixed shape (the unused places
    NULL, which matches no one): a case page's few names in a few hundredths of a millisecond, where an ``IN``
    list of its own length went through SQLAlchemy's execution each time (0.3-0.7 ms)."""
    wanted = sorted(ids)
    names: dict[int, str] = {}
    for start in range(0, len(wanted), _NAMES_AT_ONCE):
        chunk = wanted[start : start + _NAMES_AT_ONCE]
        params = {f"id{n}": chunk[n] if n < len(chunk) else None for n in range(_NAMES_AT_ONCE)}
        names.update((row["id"], row["display_name"]) for row in _USER_NAMES.rows(conn, params))
    return names


def assignable_users(conn: Connection, actor: Actor, case_path: str) -> list[dict[str, Any]]:
    """Active mediators and supervisors whose jurisdiction covers the case."""
    handlers = [role.value for role in roles_with(Permission.HANDLE_CASES)]
    query = (
        select(USERS.c.id, USERS.c.display_name, USERS.c.role, JUR.c.path)
        .select_from(USERS.outerjoin(JUR, USERS.c.jurisdiction_id == JUR.c.id))
        .where(USERS.c.is_active.is_(True), USERS.c.role.in_(handlers))
        .order_by(USERS.c.role, USERS.c.id)
    )
    return [
        {"id": r.id, "display_name": r.display_name, "role": r.role}
        for r in conn.execute(query)
        if may_be_assigned(r.role, True, r.path, case_path)
    ]


def handlers_within(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    """Active mediators and supervisors who may handle cases of the user's subtree: theirs lies in it or
    above it (the search's mediator filter)."""
    handlers = [role.value for role in roles_with(Permission.HANDLE_CASES)]
    query = (
        select(USERS.c.id, USERS.c.display_name, JUR.c.path)
        .select_from(USERS.outerjoin(JUR, USERS.c.jurisdiction_id == JUR.c.id))
        .where(USERS.c.is_active.is_(True), USERS.c.role.in_(handlers))
        .order_by(USERS.c.display_name, USERS.c.id)
    )
    return [
        {"id": r.id, "display_name": r.display_name}
        for r in conn.execute(query)
        if r.path is not None and (within(r.path, actor.scope_path) or within(actor.scope_path or "/", r.path))
    ]


def visible_case(engine: Engine, actor: Actor, case_id: int) -> dict[str, Any]:
    """The case row, or CaseNotFound when it does not exist or lies outside the user's subtree."""
    with reads(engine) as conn:
        return get_case_row(conn, actor, case_id)


def case_assignees(engine: Engine, actor: Actor, case_id: int) -> list[dict[str, Any]]:
    """Who the case may be assigned to (``assign``'s ``user`` field takes their ``id``): CaseNotFound outside
    the actor's subtree, like the case itself."""
    with reads(engine) as conn:
        case = get_case_row(conn, actor, case_id)
        return assignable_users(conn, actor, case["jurisdiction_path"])
